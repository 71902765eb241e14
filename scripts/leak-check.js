'use strict'

// A long loop over every allocation path (CIFs, struct types, closures made
// and collected, closures called, dlopen/dlclose, callAsync, pointer
// Buffers, C strings) under --expose-gc. Reports RSS and ffi.stats() at the
// start and the end; fails if the live counts do not come back or RSS keeps
// growing after warm-up.
//
//   node --expose-gc scripts/leak-check.js [iterations]      (npm run leak)

const path = require('node:path')
const ffi = require('..')
const dl = require('../dlopen')
const fixture = require(path.join(__dirname, '..', '__test__', 'helpers', 'fixture.js')).build()

if (typeof global.gc !== 'function') {
  console.error('run with --expose-gc')
  process.exit(2)
}

const iterations = Number(process.argv[2] || 200000)
const P = ffi.sizeof.pointer
const libc = dl.dlopen(null)
const lib = dl.dlopen(fixture)
const abs = ffi.readPointer(dl.dlsym(libc, 'abs'), 0)
const callN = ffi.readPointer(dl.dlsym(lib, 'call_n'), 0)
const usleep = ffi.readPointer(dl.dlsym(libc, 'usleep'), 0)

async function settle() {
  for (let i = 0; i < 4; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
  }
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`

async function round(n) {
  for (let i = 0; i < n; i++) {
    // CIFs and struct types, dropped at once.
    const st = ffi.StructType(ffi.types.int, ffi.types.double, ffi.StructType(ffi.types.int8))
    const cif = ffi.CIF(st, ffi.types.int, ffi.types.pointer)
    // A closure made, called from C, and dropped (every 4th freed at once).
    const cb = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.int), (r, a, args) => r.writeInt32LE(args.readInt32LE(0)))
    const cbArg = Buffer.alloc(P)
    ffi.writePointer(cbArg, 0, cb)
    const nArg = Buffer.alloc(4)
    nArg.writeInt32LE(3)
    const aValues = Buffer.alloc(2 * P)
    ffi.writePointer(aValues, 0, cbArg)
    ffi.writePointer(aValues, P, nArg)
    ffi.call(ffi.CIF(ffi.types.int64, ffi.types.pointer, ffi.types.int), callN, Buffer.alloc(8), aValues)
    if (i % 4 === 0) ffi.Closure.free(cb)
    // A call with fresh Buffers (the checked path) and pointer Buffers.
    const arg = Buffer.alloc(4)
    arg.writeInt32LE(-i)
    const av = Buffer.alloc(P)
    ffi.writePointer(av, 0, arg)
    ffi.call(ffi.CIF(ffi.types.int, ffi.types.int), abs, Buffer.alloc(8), av)
    ffi.readPointer(av, 0, 4)
    ffi.reinterpret(arg, 2, 1)
    ffi.fromAddress(ffi.address(arg))
    ffi.readCString(ffi.allocCString('leak check'))
    // dlopen and dlclose, every 16th handle left to the collector.
    const h = dl.dlopen(null)
    dl.dlsym(h, 'abs')
    if (i % 16) dl.dlclose(h)
    void cif
    // callAsync, awaited every 64th.
    if (i % 64 === 0) {
      const us = Buffer.alloc(4)
      const ua = Buffer.alloc(P)
      ffi.writePointer(ua, 0, us)
      await ffi.callAsync(ffi.CIF(ffi.types.int, ffi.types.uint32), usleep, Buffer.alloc(8), ua)
    }
  }
}

async function main() {
  await settle()
  const start = { rss: process.memoryUsage().rss, stats: ffi.stats() }
  console.log(`start: rss ${mib(start.rss)}`, start.stats)
  const steps = 10
  const rss = []
  for (let s = 0; s < steps; s++) {
    await round(iterations / steps)
    await settle()
    rss.push(process.memoryUsage().rss)
    console.log(`after ${((s + 1) * iterations) / steps} iterations: rss ${mib(rss[rss.length - 1])}`, ffi.stats())
  }
  await settle()
  const end = { rss: process.memoryUsage().rss, stats: ffi.stats() }
  console.log(`end:   rss ${mib(end.rss)}`, end.stats)
  // Live objects back where they were (environments and libraries kept
  // open by this script aside), and RSS flat after the first half.
  const counts = ['closures', 'librariesOpen', 'asyncCalls', 'cifs', 'structTypes']
  const leaked = counts.filter((k) => end.stats[k] > start.stats[k] + (k === 'cifs' ? 8 : 0))
  const half = rss[Math.floor(steps / 2) - 1]
  const growth = end.rss - half
  const ok = leaked.length === 0 && growth < 32 * 1048576
  console.log(
    `\n${iterations} iterations: rss ${mib(start.rss)} -> ${mib(end.rss)} (${mib(growth)} since the half-way mark); ` +
      (leaked.length ? `live counts grew: ${leaked.join(', ')}` : 'live counts back to the start'),
  )
  console.log(`leak: ${ok ? 1 : 0} passed, ${ok ? 0 : 1} failed`)
  process.exit(ok ? 0 : 1)
}

main()
