'use strict'

// C data from JavaScript: a struct field read and write through a struct
// cdata against the same through a plain object; `arr.at(i).x` over an
// array of structs (and the bytes it allocates once optimized: none is the
// aim, V8's escape analysis removing the view) against `arr[i].x` through
// the Proxy; a TypedArray element; `new` of a small struct against a
// TypedArray of the same size; a pointer's struct field and elements, in
// memory this module owns and in foreign memory (a pointer made from an
// address).
//
//   node --expose-gc benchmark/cdata.js [--n 2000000] [--only text]

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
c.cdef('struct point { int x; int y; };')
const pointCt = c.typeof('struct point')
// Foreign memory: pointers made from addresses (arr's own, so that the
// figures compare; nothing is kept alive through them).
const fptr = c.cast('struct bpoint *', c.addressof(arr).address)
const fints = c.cast('int32_t *', c.addressof(ints).address)

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
  ['plain object: o.x = o.x + 1 (read and write)', (n) => {
    for (let i = 0; i < n; i++) plain.x = plain.x + 1
    return plain.x
  }],
  ['struct cdata: s.x = s.x + 1 (read and write)', (n) => {
    for (let i = 0; i < n; i++) s.x = s.x + 1
    return s.x
  }],
  ['plain object: o.w = o.w * 0.5 + i (double)', (n) => {
    for (let i = 0; i < n; i++) plain.w = plain.w * 0.5 + i
    return plain.w
  }],
  ['struct cdata: s.w = s.w * 0.5 + i (double)', (n) => {
    for (let i = 0; i < n; i++) s.w = s.w * 0.5 + i
    return s.w
  }],
  ['new Float64Array(2), 2 elements set', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) {
      const f = new Float64Array(2)
      f[0] = i
      f[1] = i
      a += f[1]
    }
    return a
  }],
  ["new('struct point'), 2 fields set", (n) => {
    let a = 0
    for (let i = 0; i < n; i++) {
      const p = c.new('struct point')
      p.x = i
      p.y = i
      a += p.y
    }
    return a
  }],
  ['ct() (struct point), 2 fields set', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) {
      const p = pointCt()
      p.x = i
      p.y = i
      a += p.y
    }
    return a
  }],
  ['pointer to struct: p.x', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += ptr.x
    return a
  }],
  ['pointer to struct: p.at(i & 1023).y', (n) => {
    let a = 0
    const p = c.cast('struct bpoint *', arr)
    for (let i = 0; i < n; i++) a += p.at(i & 1023).y
    return a
  }],
  ['foreign pointer to struct: p.x', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += fptr.x
    return a
  }],
  ['foreign pointer to struct: p.at(i & 1023).y', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += fptr.at(i & 1023).y
    return a
  }],
  ['foreign pointer: p.add(i & 1023).y (a new pointer)', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += fptr.add(i & 1023).y
    return a
  }],
  ['foreign int32_t *: p.get(i & 1023)', (n) => {
    let a = 0
    for (let i = 0; i < n; i++) a += fints.get(i & 1023)
    return a
  }],
  ['foreign int32_t *: p.set(i & 1023, i)', (n) => {
    for (let i = 0; i < n; i++) fints.set(i & 1023, i)
    return fints.get(0)
  }],
]

async function main() {
  const results = []
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : ''
  for (const [name, fn] of workloads.filter(([name]) => name.includes(only))) {
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
