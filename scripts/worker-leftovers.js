'use strict'

// What ended Workers leave behind: starts `workers` Workers one after the
// other, each makes `closures` closures and exits with all of them alive;
// reports the process's RSS and ffi.stats() before and after (compare with
// a run of 0 closures per Worker: what the Workers alone cost).
//
//   node --expose-gc scripts/worker-leftovers.js [workers] [closures] [mode]
//
// mode: `unused` (never handed to C; the default) or `exposed` (each one's
// address taken with ffi.address, as if handed to C).

const path = require('node:path')
const { Worker } = require('node:worker_threads')
const ffi = require('..')

const workers = Number(process.argv[2] || 100)
const closures = Number(process.argv[3] || 1000)
const mode = process.argv[4] || 'unused'

const worker = `
const ffi = require(${JSON.stringify(path.join(__dirname, '..'))})
const { workerData } = require('node:worker_threads')
const cif = ffi.CIF(ffi.types.int, ffi.types.int)
globalThis.keep = []
for (let i = 0; i < workerData.closures; i++) {
  const cb = ffi.Closure(cif, (r, a, args) => r.writeInt32LE(args.readInt32LE(0) + i))
  if (workerData.mode === 'exposed') ffi.address(cb)
  globalThis.keep.push(cb)
}
`

function run() {
  return new Promise((resolve, reject) => {
    const w = new Worker(worker, { eval: true, workerData: { closures, mode } })
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

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc')
  // The main thread's own closure dispatch, set up before the baseline.
  ffi.Closure.free(ffi.Closure(ffi.CIF(ffi.types.void), () => {}))
  await settle()
  const before = { rss: process.memoryUsage().rss, stats: ffi.stats() }
  for (let i = 0; i < workers; i++) await run()
  await settle()
  const after = { rss: process.memoryUsage().rss, stats: ffi.stats() }
  // Does the main thread still get a compiled-in entry?
  const cb = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.int), () => {})
  const entry = ffi.stats().closureEntries
  ffi.Closure.free(cb)
  console.log(
    JSON.stringify(
      {
        workers,
        closures,
        mode,
        rssBefore: mib(before.rss),
        rssAfter: mib(after.rss),
        rssGrowth: mib(after.rss - before.rss),
        before: before.stats,
        after: after.stats,
        mainEntriesWithOneMore: entry,
      },
      null,
      1,
    ),
  )
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
