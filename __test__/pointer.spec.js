'use strict'

const test = require('ava')
const { ffi, fx } = require('./helpers/c')
const { runChild } = require('./helpers/child')

const P = ffi.sizeof.pointer

test('NULL is a pointer Buffer at address 0', (t) => {
  t.is(ffi.NULL.length, 0)
  t.true(ffi.isNull(ffi.NULL))
  t.is(ffi.address(ffi.NULL), 0)
  t.is(ffi.addressBigInt(ffi.NULL), 0n)
  t.false(ffi.isNull(ffi.types.int))
})

test('zero-length pointer Buffers keep their real address', (t) => {
  const a = ffi.address(ffi.types.int)
  t.true(a > 0)
  t.is(ffi.types.int.length, 0)
  // C agrees: the ffi_type at that address says int32, 4 bytes.
  const ty = ffi.reinterpret(ffi.types.int, ffi.sizeof.ffi_type)
  t.is(Number(ty.readBigUInt64LE(0)), 4)
  t.is(ty.readUInt16LE(P + 2), ffi.TYPE_SINT32)
  t.is(ffi.addressBigInt(ffi.types.int), BigInt(a))
})

test('an ordinary Buffer’s address is its first byte, as C sees it', (t) => {
  const b = Buffer.from('xyz0123')
  const p = fx('ptr_add', 'pointer', ['pointer', 'size_t'])(b, 3n)
  t.is(ffi.address(p) - ffi.address(b), 3)
  t.is(ffi.address(b.subarray(2)), ffi.address(b) + 2)
})

test('fromAddress makes pointer Buffers at numbers and bigints', (t) => {
  const b = Buffer.from('hello\0')
  const at = ffi.address(b)
  t.is(ffi.address(ffi.fromAddress(at)), at)
  t.is(ffi.address(ffi.fromAddress(BigInt(at))), at)
  t.is(ffi.readCString(ffi.fromAddress(at)), 'hello')
  const view = ffi.fromAddress(at, 5)
  t.is(view.toString(), 'hello')
  t.true(ffi.isNull(ffi.fromAddress(0)))
  t.true(ffi.isNull(ffi.fromAddress(0n, 16)))
  const high = ffi.fromAddress(2n ** 60n + 8n)
  t.is(ffi.addressBigInt(high), 2n ** 60n + 8n)
})

test('readPointer and writePointer round-trip, at offsets', (t) => {
  const slots = Buffer.alloc(3 * P)
  const target = Buffer.from('payload')
  ffi.writePointer(slots, P, target)
  t.is(ffi.address(ffi.readPointer(slots, P)), ffi.address(target))
  t.true(ffi.isNull(ffi.readPointer(slots, 0)), 'NULL stays NULL')
  t.true(ffi.isNull(ffi.readPointer(slots, 0, 100)), 'NULL stays NULL with a length')
  t.is(ffi.readPointer(slots, P, 7).toString(), 'payload')
  ffi.writePointer(slots, 2 * P, ffi.types.double)
  t.is(ffi.address(ffi.readPointer(slots, 2 * P)), ffi.address(ffi.types.double))
  ffi.writePointer(slots, P, null)
  t.true(ffi.isNull(ffi.readPointer(slots, P)))
  // Unaligned offsets are fine: Buffers may sit anywhere.
  const odd = Buffer.alloc(P + 3)
  ffi.writePointer(odd, 3, target)
  t.is(ffi.address(ffi.readPointer(odd, 3)), ffi.address(target))
})

test('writePointer keeps the pointee alive as long as the holder', async (t) => {
  const text = 'still here '.repeat(20)
  const aValues = Buffer.alloc(P)
  // Buffer.alloc gives the string its own backing store (not a pool slice),
  // which the collector frees once nothing holds the Buffer.
  ;(() => ffi.writePointer(aValues, 0, ffi.allocCString(text)))()
  const churn = []
  for (let i = 0; i < 10; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
    for (let j = 0; j < 200; j++) churn.push(Buffer.alloc(text.length + 1, 0x58))
  }
  t.is(ffi.readCString(ffi.readPointer(aValues, 0)), text)
})

test('reinterpret views memory at an offset, bounded', (t) => {
  const b = Buffer.from('0123456789')
  const v = ffi.reinterpret(b, 4, 3)
  t.is(v.toString(), '3456')
  v[0] = 0x41
  t.is(b.toString(), '012A456789', 'the view shares the memory')
  const zero = ffi.reinterpret(b, 0, 2)
  t.is(zero.length, 0)
  t.is(ffi.address(zero), ffi.address(b) + 2)
})

test('readCString: bounded on Buffers with a length, up to NUL on zero-length pointers', (t) => {
  t.is(ffi.readCString(Buffer.from('abc')), 'abc', 'no NUL: stops at the end')
  t.is(ffi.readCString(Buffer.from('abc\0def\0'), 4), 'def')
  t.is(ffi.readCString(Buffer.from('héllo\0')), 'héllo')
  const greeting = fx('greeting', 'pointer', [])()
  t.is(greeting.length, 0)
  t.is(ffi.readCString(greeting), 'hello from C')
  t.is(ffi.readCString(greeting, 6), 'from C')
})

test('allocCString is NUL-terminated UTF-8 of exactly byteLength + 1', (t) => {
  for (const s of ['', 'abc', 'héllo wörld', '日本語', 'a\0b']) {
    const b = ffi.allocCString(s)
    t.is(b.length, Buffer.byteLength(s) + 1)
    t.is(b[b.length - 1], 0)
    t.is(b.subarray(0, -1).toString(), s)
  }
})

test('endianness matches os.endianness()', (t) => {
  t.is(ffi.endianness, require('node:os').endianness())
})

test('ffi/buffer adds pointer methods to Buffer.prototype only when required', (t) => {
  const { execFileSync } = require('node:child_process')
  const before = execFileSync(process.execPath, ['-e', "require('ffi'); console.log(typeof Buffer.prototype.readPointerLE)"], {
    cwd: __dirname,
  }).toString().trim()
  t.is(before, 'undefined')
  require('ffi/buffer')
  const b = Buffer.alloc(2 * P)
  const target = Buffer.from('abc')
  b.writePointerLE(target, 0)
  t.is(b.readPointerLE(0).address(), target.address())
  t.is(b.readPointerLE(0, 3).toString(), 'abc')
  b.writePointerBE(target, P)
  t.deepEqual(Buffer.from(b.subarray(P)).reverse(), b.subarray(0, P))
  t.is(b.readPointerBE(P).address(), target.address())
  t.throws(() => b.readPointerBE(P + 1), { code: 'ERR_OUT_OF_RANGE' })
})

for (const [mode, env] of [
  ['', {}],
  [' without external Buffers (as in Electron)', { FFI_TEST_NO_EXTERNAL_BUFFERS: '1' }],
]) {
  test(`read and write: copies in and out of C's memory, bounds on Buffers${mode}`, (t) => {
    const r = runChild('read-write.js', [], { env })
    t.is(r.status, 0, r.stderr)
    t.deepEqual(JSON.parse(r.stdout), {
      read: 'world',
      readIsNodeOwned: true,
      written: 5,
      afterString: 'HELLO, world',
      writtenView: 5,
      afterView: 'HELLO, WORLD',
      strlen: 12,
      bufferRead: 'cde',
      bufferWrite: 2,
      buffer: 'abcdXY',
      errors: {
        readPast: 'ERR_OUT_OF_RANGE',
        writePast: 'ERR_OUT_OF_RANGE',
        readNull: 'ERR_FFI_NULL_POINTER',
        writeNull: 'ERR_FFI_NULL_POINTER',
        negative: 'ERR_OUT_OF_RANGE',
        badSource: 'ERR_INVALID_ARG_TYPE',
      },
    })
  })
}

test('a small view of foreign memory spans only its pages: cloning it next to unmapped memory does not fault', (t) => {
  // Regression: views shared an ArrayBuffer over a 64 KiB region, which
  // structuredClone copies whole, past the mapped page: SIGSEGV.
  const r = runChild('page-views.js')
  t.is(r.signal, null, r.stderr)
  t.is(r.status, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), { clone: '\u0007\u0007\u0007\u0007end!', bufferLength: 4096, sum: true })
})
