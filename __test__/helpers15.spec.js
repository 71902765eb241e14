'use strict'

// Issue 15: the pointer helpers' design (addresses in a private field,
// zero-length pointer Buffers over one empty ArrayBuffer, small foreign
// spans as views over a per-region ArrayBuffer, JavaScript fast paths,
// two records per CIF). What each keeps of the contract.

const test = require('ava')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { ffi, fx, bind, sym } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const P = ffi.sizeof.pointer
const abs = ffi.readPointer(dlsym(dlopen(null), 'abs'), 0)

test('pointer Buffers are ordinary Buffers that carry their address', (t) => {
  const data = Buffer.alloc(8)
  const holder = Buffer.alloc(P)
  ffi.writePointer(holder, 0, data)
  for (const p of [ffi.readPointer(holder, 0), ffi.fromAddress(ffi.address(data)), ffi.NULL, ffi.types.int, abs]) {
    t.true(Buffer.isBuffer(p))
    t.is(Object.getPrototypeOf(p), Buffer.prototype)
    t.is(p.length, 0)
  }
  const p = ffi.readPointer(holder, 0)
  t.is(ffi.address(p), ffi.address(data))
  t.is(ffi.addressBigInt(p), BigInt(ffi.address(data)))
  t.false(ffi.isNull(p))
  t.is(ffi.readPointer(Buffer.alloc(P), 0), ffi.NULL)
  t.is(ffi.fromAddress(0), ffi.NULL)
  t.is(ffi.types.long, P === 8 ? ffi.types.int64 : ffi.types.int32)
  // Two pointer Buffers at one address are two objects, each with its address.
  const q = ffi.readPointer(holder, 0)
  t.not(p, q)
  t.is(ffi.address(q), ffi.address(p))
})

test('copies and slices of a pointer Buffer carry no address and are no code', (t) => {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  const aValues = Buffer.alloc(P + 4)
  ffi.writePointer(aValues, 0, aValues.subarray(P))
  aValues.writeInt32LE(-3, P)
  const rValue = Buffer.alloc(8)
  ffi.call(cif, abs, rValue, aValues)
  t.is(rValue.readInt32LE(0), 3)
  for (const copy of [abs.subarray(0), Buffer.from(abs), abs.slice(0), new Uint8Array(abs)]) {
    t.throws(() => ffi.call(cif, copy, rValue, aValues), { code: 'ERR_INVALID_ARG_VALUE' })
  }
  // A slice's constructor is Buffer's, as for any Buffer.
  t.is(abs.subarray(0).constructor, Buffer)
})

test('zero-length pointer Buffers survive a transfer of the ArrayBuffer they share', (t) => {
  const p = ffi.fromAddress(0x123456)
  // The empty ArrayBuffer cannot be detached (a WebAssembly memory's): a
  // transfer throws (Node 26) or leaves it attached (Node 20).
  try {
    structuredClone(p.buffer, { transfer: [p.buffer] })
  } catch {
    // refused
  }
  if (typeof p.buffer.transfer === 'function') t.throws(() => p.buffer.transfer())
  t.notThrows(() => new Uint8Array(p.buffer, 0, 0))
  t.is(ffi.address(ffi.fromAddress(0x123456)), 0x123456)
  t.is(ffi.address(p), 0x123456)
})

test('small foreign spans write through to C memory, neighbours share a region', (t) => {
  const data = Buffer.alloc(64)
  const base = ffi.address(data)
  const a = ffi.fromAddress(base, 8)
  const b = ffi.reinterpret(ffi.fromAddress(base), 8, 8)
  const holder = Buffer.alloc(P)
  ffi.writePointer(holder, 0, data)
  const c = ffi.readPointer(holder, 0, 16)
  a.writeUInt32LE(0xdeadbeef, 0)
  b.writeUInt32LE(0x01020304, 0)
  t.is(data.readUInt32LE(0), 0xdeadbeef)
  t.is(data.readUInt32LE(8), 0x01020304)
  t.is(c.readUInt32LE(8), 0x01020304)
  t.is(ffi.address(a), base)
  t.is(ffi.address(b), base + 8)
  t.is(ffi.address(c), base)
  t.is(a.length, 8)
  t.is(c.length, 16)
  // Each is a pointer Buffer: its address, and callable as fn.
  t.is(ffi.address(ffi.fromAddress(ffi.address(abs), 1)), ffi.address(abs))
})

test('a foreign span whose region ArrayBuffer was detached is made again', (t) => {
  const data = Buffer.alloc(32)
  const v = ffi.fromAddress(ffi.address(data), 4)
  if (typeof v.buffer.transfer !== 'function') return t.pass() // Node 20
  v.buffer.transfer()
  t.is(v.length, 0)
  const w = ffi.fromAddress(ffi.address(data), 4)
  w.writeUInt32LE(77, 0)
  t.is(data.readUInt32LE(0), 77)
})

test('readPointer and writePointer in JavaScript agree with C at every width and offset', (t) => {
  const ptrAdd = fx('ptr_add', 'pointer', ['pointer', 'size_t'])
  const b = Buffer.alloc(3 * P)
  for (const off of [0, 1, 3, P]) {
    for (const addr of [1, 0xff, 0x1234, 0xdeadbeef, P === 8 ? 0x7fff12345678 : 0x7fff1234, 2 ** (P === 8 ? 53 : 32) - 2]) {
      ffi.writePointer(b, off, ffi.fromAddress(addr))
      t.is(ffi.address(ffi.readPointer(b, off)), addr)
      t.is(P === 8 ? b[`readBigUInt64${ffi.endianness}`](off) : BigInt(b[`readUInt32${ffi.endianness}`](off)), BigInt(addr))
    }
  }
  // C computes on what JavaScript stored.
  const data = Buffer.from('abcdef')
  ffi.writePointer(b, 1, data)
  t.is(ffi.address(ptrAdd(ffi.readPointer(b, 1), 2n)), ffi.address(data) + 2)
  // Past 2^53 (64-bit): the native side answers, as a bigint.
  if (P === 8) {
    b.writeBigUInt64LE(2n ** 60n + 5n, 0)
    t.is(ffi.addressBigInt(ffi.readPointer(b, 0)), 2n ** 60n + 5n)
  }
  // Errors are the same as before: bounds, offsets, types.
  t.throws(() => ffi.readPointer(b, 2 * P + 1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => ffi.writePointer(b, 2 * P + 1, ffi.NULL), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => ffi.readPointer(b, -1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => ffi.readPointer(b, 0.5), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => ffi.readPointer(b, '0'), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => ffi.readPointer({ length: 8 }, 0), { code: 'ERR_INVALID_ARG_TYPE' })
  // Other views go through the native side, the same way.
  const u32 = new Uint32Array(4)
  ffi.writePointer(u32, 4, data)
  t.is(ffi.address(ffi.readPointer(u32, 4)), ffi.address(data))
  const dv = new DataView(new ArrayBuffer(16))
  ffi.writePointer(dv, 0, data)
  t.is(ffi.address(ffi.readPointer(dv, 0)), ffi.address(data))
})

test('readCString in JavaScript: the same strings and errors as the native side', (t) => {
  const cases = [
    Buffer.from('hello\0world'),
    Buffer.from('no terminator'),
    Buffer.from([0x68, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0]), // invalid UTF-8
    Buffer.from('\0'),
    Buffer.from('ünïcødé ✓ 😀\0'),
    // Around the length decoded byte by byte (32): ASCII, then not.
    Buffer.from('a'.repeat(31) + '\0'),
    Buffer.from('a'.repeat(32) + '\0'),
    Buffer.from('a'.repeat(33)),
    Buffer.from('a'.repeat(30) + 'é' + 'b'.repeat(5) + '\0'),
    Buffer.from('a'.repeat(40) + '\0'),
  ]
  for (const b of cases) {
    for (let off = 0; off < b.length; off++) {
      let end = b.indexOf(0, off)
      if (end < 0) end = b.length
      t.is(ffi.readCString(b, off), b.toString('utf8', off, end))
      // A pointer Buffer at the same bytes (C's reading, up to the NUL).
      if (b.includes(0, off)) t.is(ffi.readCString(ffi.fromAddress(ffi.address(b) + off)), b.toString('utf8', off, end))
    }
  }
  const b = Buffer.from('abc')
  t.throws(() => ffi.readCString(b, 3), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => ffi.readCString(b, -1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => ffi.readCString(b, 'x'), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => ffi.readCString(Buffer.alloc(0)), { code: 'ERR_OUT_OF_RANGE' })
  // A subclass's own `length` or indexOf changes nothing.
  class Liar extends Buffer.prototype.constructor {}
  const liar = Buffer.from('ab\0c')
  Object.defineProperty(liar, 'length', { value: 100 })
  liar.indexOf = () => 50
  t.is(ffi.readCString(liar), 'ab')
  t.truthy(Liar)
})

test('allocCString: exactly byteLength + 1 bytes, NUL-terminated, C reads it', (t) => {
  const strlen = bind(ffi.readPointer(dlsym(dlopen(null), 'strlen'), 0), 'size_t', ['pointer'])
  const strings = ['', 'hello', 'ünïcødé', 'x'.repeat(5000), 'a'.repeat(32), 'a'.repeat(33), 'a'.repeat(31) + 'é', '\x7f\x80', '\ud800']
  // A replaced String.prototype.charCodeAt changes nothing.
  const charCodeAt = String.prototype.charCodeAt
  String.prototype.charCodeAt = () => 0x41
  try {
    t.deepEqual(ffi.allocCString('hé'), Buffer.from('hé\0'))
  } finally {
    String.prototype.charCodeAt = charCodeAt
  }
  for (const s of strings) {
    const b = ffi.allocCString(s)
    t.is(b.length, Buffer.byteLength(s) + 1)
    t.is(b[b.length - 1], 0)
    t.deepEqual(b.subarray(0, b.length - 1), Buffer.from(s, 'utf8'))
    t.is(Number(strlen(b)), Buffer.byteLength(s))
  }
})

test('a CIF shared by two functions remembers both, and still catches changes', (t) => {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  const neg = sym('id_int32') // the identity: -i stays -i
  const fns = [abs, neg]
  const aValues = Buffer.alloc(P + 4)
  ffi.writePointer(aValues, 0, aValues.subarray(P))
  const rValue = Buffer.alloc(8)
  for (let i = 0; i < 20; i++) {
    aValues.writeInt32LE(-i, P)
    ffi.call(cif, fns[i & 1], rValue, aValues)
    t.is(rValue.readInt32LE(0), (i & 1) === 0 ? i : -i)
  }
  // A store into aValues between calls is seen by both records.
  const other = Buffer.alloc(4)
  other.writeInt32LE(-9, 0)
  ffi.writePointer(aValues, 0, other)
  ffi.call(cif, abs, rValue, aValues)
  t.is(rValue.readInt32LE(0), 9)
  ffi.call(cif, neg, rValue, aValues)
  t.is(rValue.readInt32LE(0), -9)
  // A detached argument is caught by the record that is not the last.
  const own = new Uint8Array(new ArrayBuffer(4))
  ffi.writePointer(aValues, 0, own)
  ffi.call(cif, abs, rValue, aValues)
  ffi.call(cif, neg, rValue, aValues)
  structuredClone(own.buffer, { transfer: [own.buffer] })
  t.throws(() => ffi.call(cif, abs, rValue, aValues), { code: 'ERR_FFI_DETACHED' })
  t.throws(() => ffi.call(cif, neg, rValue, aValues), { code: 'ERR_FFI_DETACHED' })
})

test('10 million readPointer(buf, 0, 4) in a loop stay under 300 MB of RSS', (t) => {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'foreign-views-memory.js')], {
    encoding: 'utf8',
    timeout: 120000,
  })
  t.is(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.is(out.sum, 40_000_000)
  t.true(out.peakMB < 300, `peak RSS ${out.peakMB} MB`)
})

test('a record refilled with another fn or rValue checks them as a full check does', (t) => {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  const neg = sym('id_int32')
  const fns = [abs, neg, ffi.fromAddress(ffi.address(abs))]
  const aValues = Buffer.alloc(P + 4)
  ffi.writePointer(aValues, 0, aValues.subarray(P))
  // Three functions in turn, a new rValue each call: more than the two records hold.
  for (let i = 0; i < 30; i++) {
    aValues.writeInt32LE(-i, P)
    const rValue = Buffer.alloc(8)
    ffi.call(cif, fns[i % 3], rValue, aValues)
    t.is(rValue.readInt32LE(0), i % 3 === 1 ? -i : i)
  }
  const rValue = Buffer.alloc(8)
  ffi.call(cif, abs, rValue, aValues)
  ffi.call(cif, neg, rValue, aValues)
  // Each record now holds aValues: only fn or rValue differ below.
  t.throws(() => ffi.call(cif, fns[2], Buffer.alloc(2), aValues), { code: 'ERR_FFI_BUFFER_TOO_SMALL', message: 'ffi.call: rValue is 2 bytes, the return type needs 8' })
  t.throws(() => ffi.call(cif, fns[2], 'x', aValues), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => ffi.call(cif, ffi.fromAddress(0), rValue, aValues), { code: 'ERR_FFI_NULL_POINTER', message: 'ffi.call: fn is NULL' })
  t.throws(() => ffi.call(cif, Buffer.alloc(8), rValue, aValues), { code: 'ERR_INVALID_ARG_VALUE' })
  const gone = new Uint8Array(new ArrayBuffer(8))
  structuredClone(gone.buffer, { transfer: [gone.buffer] })
  t.throws(() => ffi.call(cif, fns[2], gone, aValues), { code: 'ERR_FFI_DETACHED' })
  t.throws(() => ffi.bind(cif, fns[2], gone, aValues), { code: 'ERR_FFI_DETACHED' })
  // After the errors, the calls still work and each is checked again.
  for (let i = 0; i < 6; i++) {
    aValues.writeInt32LE(-5, P)
    ffi.call(cif, fns[i % 3], rValue, aValues)
    t.is(rValue.readInt32LE(0), i % 3 === 1 ? -5 : 5)
  }
  // An argument inside the last rValue's ArrayBuffer: once rValue changes,
  // its own guard still sees it detached.
  const shared = new Uint8Array(new ArrayBuffer(16))
  const r1 = shared.subarray(0, 8)
  const arg = shared.subarray(8, 12)
  ffi.writePointer(aValues, 0, arg)
  new Int32Array(arg.buffer, arg.byteOffset, 1)[0] = -7
  ffi.call(cif, abs, r1, aValues)
  t.is(new Int32Array(r1.buffer, 0, 1)[0], 7)
  const r2 = Buffer.alloc(8)
  ffi.call(cif, neg, r2, aValues)
  ffi.call(cif, fns[2], r2, aValues)
  t.is(r2.readInt32LE(0), 7)
  structuredClone(shared.buffer, { transfer: [shared.buffer] })
  for (const f of fns) t.throws(() => ffi.call(cif, f, r2, aValues), { code: 'ERR_FFI_DETACHED' })
  // A zero-length aValues detached (no arguments) is refused, as before.
  const cif0 = ffi.CIF(ffi.types.int)
  const getpid = ffi.readPointer(dlsym(dlopen(null), 'getpid'), 0)
  const empty = new Uint8Array(new ArrayBuffer(0))
  ffi.call(cif0, getpid, rValue, empty)
  ffi.call(cif0, fns[2], rValue, empty)
  structuredClone(empty.buffer, { transfer: [empty.buffer] })
  t.throws(() => ffi.call(cif0, abs, Buffer.alloc(8), empty), { code: 'ERR_FFI_DETACHED' })
})
