'use strict'

// Main: Workers one after the other each make closures and exit with all of
// them alive; some had their address taken (as if handed to C), the rest
// never left the module. Reports ffi.stats() before and after, and whether
// the main thread then still gets a compiled-in entry.
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const ffi = require('ffi')

const WORKERS = 20
const CLOSURES = 100
const EXPOSED = 20

const worker = `
const ffi = require(${JSON.stringify(require.resolve('ffi'))})
const { workerData } = require('node:worker_threads')
const cif = ffi.CIF(ffi.types.int, ffi.types.int)
globalThis.keep = []
for (let i = 0; i < workerData.closures; i++) {
  const cb = ffi.Closure(cif, (r, a, args) => r.writeInt32LE(args.readInt32LE(0) + i))
  if (i < workerData.exposed) ffi.address(cb)
  globalThis.keep.push(cb)
}
`

function run() {
  return new Promise((resolve, reject) => {
    const w = new Worker(worker, { eval: true, workerData: { closures: CLOSURES, exposed: EXPOSED } })
    w.once('error', reject)
    w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a Worker exited with ${code}`))))
  })
}

async function settle() {
  for (let i = 0; i < 4; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
  }
}

async function main() {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  ffi.Closure.free(ffi.Closure(cif, () => {}))
  await settle()
  const before = ffi.stats()
  for (let i = 0; i < WORKERS; i++) await run()
  await settle()
  const after = ffi.stats()
  const cb = ffi.Closure(cif, (r, a, args) => r.writeInt32LE(args.readInt32LE(0) * 3))
  const withOne = ffi.stats()
  const { fx } = require(path.join(__dirname, 'c.js'))
  const called = Number(fx('call_n', 'int64', ['pointer', 'int'])(cb, 5))
  ffi.Closure.free(cb)
  console.log(
    JSON.stringify({
      workers: WORKERS,
      closures: CLOSURES,
      exposed: EXPOSED,
      before,
      after,
      entryForMain: withOne.closureEntries - after.closureEntries,
      closuresWithOne: withOne.closures - before.closures,
      called,
    }),
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
