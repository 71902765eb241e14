'use strict'

// Structs and unions by value against the C compiler: random record types
// (scalars, small arrays, nested records, some packed or over-aligned),
// each passed from JavaScript to C and back, returned by C, and passed to
// and returned from callbacks, with an integer and a double around them so
// that a record in the wrong registers moves its neighbours too. C computes
// a checksum of the members it received; JavaScript computes the same.

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const ffi = require('ffi/c')

const SCALARS = ['int8_t', 'uint8_t', 'int16_t', 'int32_t', 'uint32_t', 'int64_t', 'float', 'double', 'float', 'double']
const COUNT = 120

function random(seed) {
  let s = seed
  return (n) => {
    s = (s * 1103515245 + 12345) % 2147483648
    return Math.floor((s / 2147483648) * n)
  }
}

/** A random member type: { decl(name), leaves: [{ path, type }], big } (C text, scalar paths). */
function memberType(r, depth, defs, id) {
  const k = r(10)
  if (k < 6 || depth > 0) {
    const type = SCALARS[r(SCALARS.length)]
    const n = r(4) === 0 ? 1 + r(3) : 0
    if (n === 0) return { decl: (name) => `${type} ${name}`, leaves: [{ path: '', type }] }
    return { decl: (name) => `${type} ${name}[${n}]`, leaves: Array.from({ length: n }, (_, i) => ({ path: `[${i}]`, type })) }
  }
  const inner = record(r, depth + 1, defs, `${id}_${defs.length}`)
  return { decl: (name) => `${inner.kind} ${inner.name} ${name}`, leaves: inner.leaves }
}

/** A random record type, its C definition appended to `defs`. */
function record(r, depth, defs, name) {
  const kind = r(3) === 0 ? 'union' : 'struct'
  const attr = r(7) === 0 ? '__attribute__((packed)) ' : r(10) === 0 ? '__attribute__((aligned(16))) ' : ''
  const members = Array.from({ length: 1 + r(4) }, (_, i) => ({ name: `m${i}`, t: memberType(r, depth, defs, name) }))
  defs.push(`${kind} ${attr}${name} { ${members.map((m) => `${m.t.decl(m.name)};`).join(' ')} };`)
  // A union's values go through its member with the most leaves.
  const used = kind === 'union' ? [members.reduce((a, b) => (b.t.leaves.length > a.t.leaves.length ? b : a))] : members
  const leaves = used.flatMap((m) => m.t.leaves.map((l) => ({ path: `.${m.name}${l.path}`, type: l.type })))
  return { kind, name, leaves }
}

/** The value of leaf `i` for seed `s`: exact in every type. */
function value(type, s, i) {
  const x = ((s * 7 + i * 13) % 50) - 20
  if (type === 'float' || type === 'double') return x + 0.25 * (i % 4)
  if (type.startsWith('uint')) return Math.abs(x)
  return type === 'int64_t' ? BigInt(x) : x
}

const records = []
const defs = []
const r = random(20261201)
for (let i = 0; i < COUNT; i++) records.push(record(r, 0, defs, `rc${i}`))

function cSource() {
  const out = ['#include <stdint.h>', ...defs]
  for (const t of records) {
    const T = `${t.kind} ${t.name}`
    const sum = t.leaves.map((l, i) => `(double)v${l.path} * ${i + 1}`).join(' + ')
    const set = t.leaves.map((l, i) => `v${l.path} = (${l.type})(((s * 7 + ${i * 13}) % 50) - 20 + ${l.type === 'float' || l.type === 'double' ? 0.25 * (i % 4) : 0});`)
    // (unsigned leaves take the absolute value, as value() does)
    const fix = t.leaves.map((l, i) => (l.type.startsWith('uint') ? `v${l.path} = (${l.type})(((s * 7 + ${i * 13}) % 50) - 20 < 0 ? -(((s * 7 + ${i * 13}) % 50) - 20) : ((s * 7 + ${i * 13}) % 50) - 20);` : ''))
    out.push(`double sum_${t.name}(int a, ${T} v, double b) { return a * 1000.0 + (${sum}) + b / 4; }`)
    out.push(`${T} make_${t.name}(int s) { ${T} v = {0}; ${set.join(' ')} ${fix.join(' ')} return v; }`)
    out.push(`double call_${t.name}(double (*cb)(int, double, ${T}), int a, ${T} v, double b) { return cb(a, b, v); }`)
    out.push(`double back_${t.name}(${T} (*cb)(int), int s) { ${T} v = cb(s); return sum_${t.name}(s, v, 2.0); }`)
  }
  return out.join('\n')
}

let lib
test.before(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffi-records-'))
  fs.writeFileSync(path.join(dir, 'records.c'), cSource())
  execFileSync('cc', ['-O2', '-shared', '-fPIC', '-o', path.join(dir, 'librecords.so'), path.join(dir, 'records.c')])
  ffi.cdef(defs.join('\n'))
  for (const t of records) {
    const T = `${t.kind} ${t.name}`
    ffi.cdef(`double sum_${t.name}(int a, ${T} v, double b); ${T} make_${t.name}(int s);
      double call_${t.name}(double (*cb)(int, double, ${T}), int a, ${T} v, double b); double back_${t.name}(${T} (*cb)(int), int s);`)
  }
  lib = ffi.load(path.join(dir, 'librecords.so'))
})

/** Reads leaf `path` (".m0[1].m2") of cdata `v`. */
function get(v, p) {
  for (const [, name, index] of p.matchAll(/\.(\w+)|\[(\d+)\]/g)) v = name !== undefined ? v[name] : v[Number(index)]
  return v
}

function set(v, p, x) {
  const parts = [...p.matchAll(/\.(\w+)|\[(\d+)\]/g)]
  for (const [, name, index] of parts.slice(0, -1)) v = name !== undefined ? v[name] : v[Number(index)]
  const [, name, index] = parts[parts.length - 1]
  if (name !== undefined) v[name] = x
  else v[Number(index)] = x
}

function expected(t, v, a, b) {
  let s = 0
  t.leaves.forEach((l, i) => (s += Number(get(v, l.path)) * (i + 1)))
  return a * 1000 + s + b / 4
}

function filled(t, s) {
  const v = ffi.new(`${t.kind} ${t.name}`)
  t.leaves.forEach((l, i) => set(v, l.path, value(l.type, s, i)))
  return v
}

test(`${COUNT} random records by value: JavaScript to C, C to JavaScript, and through callbacks both ways`, (t) => {
  let checked = 0
  for (const rec of records) {
    const what = defs.find((d) => d.includes(` ${rec.name} {`))
    const v = filled(rec, 3)
    // JavaScript -> C, an int before and a double after.
    t.is(lib[`sum_${rec.name}`](5, v, 6.5), expected(rec, v, 5, 6.5), `sum: ${what}`)
    // C -> JavaScript.
    const made = lib[`make_${rec.name}`](4)
    t.is(lib[`sum_${rec.name}`](1, made, 0), expected(rec, filled(rec, 4), 1, 0), `make: ${what}`)
    // C -> a JavaScript callback (the record last), and a callback's record back to C.
    t.is(lib[`call_${rec.name}`]((a, b, w) => expected(rec, w, a, b), 7, v, 2.5), expected(rec, v, 7, 2.5), `callback argument: ${what}`)
    t.is(lib[`back_${rec.name}`]((s) => filled(rec, s), 6), expected(rec, filled(rec, 6), 6, 2), `callback result: ${what}`)
    checked++
  }
  t.is(checked, COUNT)
})
