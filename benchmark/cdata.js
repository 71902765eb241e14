'use strict'

// C data from JavaScript: a struct field read and write through a struct
// cdata against the same through a plain object; `arr.at(i).x` over an
// array of structs (and the bytes it allocates once optimized: none is the
// aim, V8's escape analysis removing the view) against `arr[i].x` through
// the Proxy; a TypedArray element; a pointer's struct field.
//
//   node --expose-gc benchmark/cdata.js [--n 2000000]

const c = require('../lib/c/index.js')

const N = Number(process.argv[process.argv.indexOf('--n') + 1]) || 2_000_000
c.cdef('struct bpoint { int32_t x; int32_t y; double w; };')

const { PerformanceObserver } = require('node:perf_hooks')
let minorGcs = 0
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail && e.detail.kind === 1) minorGcs++
}).observe({ entryTypes: ['gc'] })

/** The median of 5 timed runs, and the young-generation collections during them (0: nothing allocated). */
function time(name, fn) {
  fn(1000) // warm up and optimize
  fn(N)
  const times = []
  const before = minorGcs
  let r
  for (let k = 0; k < 5; k++) {
    const t = process.hrtime.bigint()
    r = fn(N)
    times.push(Number(process.hrtime.bigint() - t) / N)
  }
  const ns = times.sort((a, b) => a - b)[2]
  return { name, ns, gcs: 0, r, before }
}

const plain = { x: 1, y: 2, w: 0.5 }
const s = c.new('struct bpoint', 1, 2, 0.5)
const arr = c.new('struct bpoint[?]', 1024)
const objs = Array.from({ length: 1024 }, () => ({ x: 0, y: 0, w: 0 }))
const ints = c.new('int32_t[1024]')
const ptr = c.addressof(s)

const workloads = [
  ['plain object: read o.x', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += plain.x
    return a
  }],
  ['struct cdata: read s.x', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += s.x
    return a
  }],
  ['plain object: write o.x', (n) => {
    for (let i = 0; i < n; i++) plain.x = i
    return plain.x
  }],
  ['struct cdata: write s.x', (n) => {
    for (let i = 0; i < n; i++) s.x = i
    return s.x
  }],
  ['plain object: read o.w (double)', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += plain.w
    return a
  }],
  ['struct cdata: read s.w (double)', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += s.w
    return a
  }],
  ['array of objects: objs[i & 1023].x', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += objs[i & 1023].x
    return a
  }],
  ['array of structs: arr.at(i & 1023).x', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += arr.at(i & 1023).x
    return a
  }],
  ['array of structs: arr[i & 1023].x (Proxy)', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += arr[i & 1023].x
    return a
  }],
  ['int32_t[1024] (Int32Array): ints[i & 1023]', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += ints[i & 1023]
    return a
  }],
  ['pointer to struct: p.x', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += ptr.x
    return a
  }],
]

async function main() {
  const results = []
  for (const [name, fn] of workloads) {
    const r = time(name, fn)
    // GC entries arrive asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 50))
    r.gcs = minorGcs - r.before
    results.push(r)
  }
  const width = Math.max(...results.map((r) => r.name.length))
  console.log(`${'workload'.padEnd(width)}   ns/op  minor GCs (${5 * N} ops)`)
  for (const r of results) console.log(`${r.name.padEnd(width)}  ${r.ns.toFixed(2).padStart(6)}  ${String(r.gcs).padStart(6)}`)
}
main()
