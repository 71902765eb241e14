'use strict'

// Soak test: 8 C threads call a JavaScript closure without pause while the
// main thread calls C, creates and drops closures, and starts Workers that
// make calls of their own and exit. At the end, every call C made must have
// been answered, and the sum C computed must match JavaScript's.
//
//   node --expose-gc scripts/soak.js [seconds = 120]      (npm run soak)

const path = require('node:path')
const { Worker } = require('node:worker_threads')
const ffi = require('..')
const dl = require('../dlopen')
const fixture = require(path.join(__dirname, '..', '__test__', 'helpers', 'fixture.js')).build()

const seconds = Number(process.argv[2] || 120)
const P = ffi.sizeof.pointer
const libc = dl.dlopen(null)
const lib = dl.dlopen(fixture)
const sym = (h, n) => ffi.readPointer(dl.dlsym(h, n), 0)

let answered = 0
let jsSum = 0n
const cb = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.int), (rValue, aValues, args) => {
  const x = args.readInt32LE(0)
  answered++
  jsSum += BigInt(x + 1)
  rValue.writeInt32LE(x + 1, 0)
})

function buffers(...values) {
  const aValues = Buffer.alloc(values.length * P)
  values.forEach((v, i) => ffi.writePointer(aValues, i * P, v))
  return aValues
}

async function main() {
  const started = Date.now()
  const stop = Buffer.alloc(4)
  const calls = Buffer.alloc(8)
  const cbArg = Buffer.alloc(P)
  ffi.writePointer(cbArg, 0, cb)
  const n = Buffer.alloc(4)
  n.writeInt32LE(8)
  const stopArg = Buffer.alloc(P)
  ffi.writePointer(stopArg, 0, stop)
  const callsArg = Buffer.alloc(P)
  ffi.writePointer(callsArg, 0, calls)
  const soakCif = ffi.CIF(ffi.types.int64, ffi.types.pointer, ffi.types.int, ffi.types.pointer, ffi.types.pointer)
  const soakResult = Buffer.alloc(8)
  const threads = ffi.callAsync(soakCif, sym(lib, 'soak_threads'), soakResult, buffers(cbArg, n, stopArg, callsArg))

  // The main thread's own work, in slices so that the loop keeps turning.
  const abs = sym(libc, 'abs')
  const absCif = ffi.CIF(ffi.types.int, ffi.types.int)
  const absArg = Buffer.alloc(4)
  const absA = buffers(absArg)
  const absR = Buffer.alloc(8)
  const callN = sym(lib, 'call_n')
  const callNCif = ffi.CIF(ffi.types.int64, ffi.types.pointer, ffi.types.int)
  let syncCalls = 0
  let closuresMade = 0
  let workers = 0
  let workerFailures = 0
  let lastWorker = 0
  const pending = []
  while (Date.now() - started < seconds * 1000) {
    for (let i = 0; i < 2000; i++) {
      absArg.writeInt32LE(-i)
      ffi.call(absCif, abs, absR, absA)
      if (absR.readInt32LE(0) !== i) throw new Error('abs answered wrong')
    }
    syncCalls += 2000
    for (let i = 0; i < 20; i++) {
      const c = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.int), (r, a, args) => r.writeInt32LE(args.readInt32LE(0) * 2))
      const arg = Buffer.alloc(P)
      ffi.writePointer(arg, 0, c)
      const k = Buffer.alloc(4)
      k.writeInt32LE(4)
      const r = Buffer.alloc(8)
      ffi.call(callNCif, callN, r, buffers(arg, k))
      if (r.readBigInt64LE(0) !== 12n) throw new Error('a fresh closure answered wrong')
      if (i % 2) ffi.Closure.free(c)
      closuresMade++
    }
    if (Date.now() - lastWorker > 1000) {
      lastWorker = Date.now()
      workers++
      pending.push(
        new Promise((resolve) => {
          const w = new Worker(path.join(__dirname, '..', '__test__', 'helpers', 'worker-calls.js'), { workerData: { n: 6 } })
          w.once('message', (m) => {
            if (m.abs !== 6 || m.weigh !== 78) workerFailures++
          })
          w.once('error', () => workerFailures++)
          w.once('exit', resolve)
        }),
      )
    }
    if (closuresMade % 2000 === 0) global.gc?.()
    await new Promise((r) => setImmediate(r))
  }
  stop.writeInt32LE(1)
  await threads
  await Promise.all(pending)
  const made = calls.readBigInt64LE(0)
  const cSum = soakResult.readBigInt64LE(0)
  const peak = process.resourceUsage().maxRSS * 1024
  const ok = made === BigInt(answered) && cSum === jsSum && workerFailures === 0
  console.log(`soak, ${seconds} s:`)
  console.log(`  closure calls made by 8 C threads: ${made}`)
  console.log(`  closure calls answered in JavaScript: ${answered}`)
  console.log(`  sum of answers, C / JavaScript: ${cSum} / ${jsSum}`)
  console.log(`  synchronous calls on the main thread: ${syncCalls}`)
  console.log(`  closures made and dropped: ${closuresMade}`)
  console.log(`  Workers started and exited: ${workers} (${workerFailures} failed)`)
  console.log(`  peak RSS: ${(peak / 1048576).toFixed(1)} MiB; live now:`, ffi.stats())
  console.log(`soak: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`)
  process.exit(ok ? 0 : 1)
}

main()
