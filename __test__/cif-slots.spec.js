'use strict'

// A CIF's fast-path slots and argument-type array live in memory carved out
// of ArrayBuffers that only lib/cif.js holds. These prove that calls through
// them give the answers they gave before, and that the memory goes back
// with the CIFs.

const test = require('ava')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { ffi, sym } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const P = ffi.sizeof.pointer
const abs = ffi.readPointer(dlsym(dlopen(null), 'abs'), 0)
const { types } = ffi

/** aValues with 16 bytes of storage per argument in its own tail; `args[i]` is argument i's storage. */
function argumentBuffers(n) {
  const aValues = Buffer.alloc(n * P + 16 * n)
  const args = []
  for (let i = 0; i < n; i++) {
    const s = aValues.subarray(n * P + 16 * i, n * P + 16 * i + 16)
    ffi.writePointer(aValues, i * P, s)
    args.push(s)
  }
  return { aValues, args }
}

test('CIFs made by the thousand, most dropped: those kept stay right across collections', (t) => {
  const add = sym('add_int32')
  const mul = sym('mul_double')
  const kept = []
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3000; i++) {
      const ci = ffi.CIF(types.int32, types.int32, types.int32)
      const cd = ffi.CIF(types.double, types.double, types.double)
      if (i % 400 === 0) kept.push([ci, cd])
    }
    global.gc()
  }
  const ints = argumentBuffers(2)
  const doubles = argumentBuffers(2)
  const check = () => {
    kept.forEach(([ci, cd], k) => {
      const r = Buffer.alloc(8)
      ints.args[0].writeInt32LE(k)
      ints.args[1].writeInt32LE(1000)
      ffi.call(ci, add, r, ints.aValues)
      t.is(r.readInt32LE(0), k + 1000)
      doubles.args[0].writeDoubleLE(k + 0.5)
      doubles.args[1].writeDoubleLE(2)
      ffi.call(cd, mul, r, doubles.aValues)
      t.is(r.readDoubleLE(0), 2 * k + 1)
    })
  }
  check()
  for (let i = 0; i < 20000; i++) ffi.CIF(types.int32, types.int32, types.int32) // more carving, more garbage
  global.gc()
  check()
  t.is(kept.length, 32)
})

test('a CIF of 1100 arguments (its type array larger than an area) reaches a closure right', (t) => {
  const n = 1100 // 8800 bytes of argument types: carved from an ArrayBuffer of their own
  const argTypes = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? types.int32 : types.double))
  const cif = ffi.CIF(types.double, ...argTypes)
  global.gc()
  const closure = ffi.Closure(cif, (rValue, aValues, args) => {
    let sum = 0
    for (let i = 0; i < n; i++) sum += i % 2 === 0 ? args.readInt32LE(8 * i) : args.readDoubleLE(8 * i)
    rValue.writeDoubleLE(sum)
  })
  const { aValues, args } = argumentBuffers(n)
  let want = 0
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) args[i].writeInt32LE(i)
    else args[i].writeDoubleLE(i / 4)
    want += i % 2 === 0 ? i : i / 4
  }
  // CIFs carved after it, each called once.
  const small = Array.from({ length: 100 }, () => ffi.CIF(types.int, types.int))
  for (let k = 0; k < 3; k++) {
    const r = Buffer.alloc(8)
    ffi.call(cif, closure, r, aValues)
    t.is(r.readDoubleLE(0), want)
  }
  const one = argumentBuffers(1)
  small.forEach((c, i) => {
    one.args[0].writeInt32LE(-i)
    const r = Buffer.alloc(8)
    ffi.call(c, abs, r, one.aValues)
    t.is(r.readInt32LE(0), i)
  })
  ffi.Closure.free(closure)
})

test('300,000 CIFs made and dropped in one synchronous loop stay under 250 MB of RSS', (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'cif-memory.js')], {
    encoding: 'utf8',
    timeout: 120000,
  })
  t.is(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.is(out.sum, 9_600_000)
  t.true(out.peakMB < 250, `peak RSS ${out.peakMB} MB`)
})
