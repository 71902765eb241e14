'use strict'

// A small marshaller for the tests: binds a C function to a JavaScript
// function by writing each argument into its own Buffer, the addresses into
// aValues, calling through ffi.call and decoding rValue. Only the raw API of
// the module is used, so every test also exercises that API.

const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')
const fixture = require('./fixture')

const E = ffi.endianness
const ARG = ffi.sizeof.ffi_arg

const scalars = {
  int8: [1, (b, v) => b.writeInt8(v), (b) => b.readInt8()],
  uint8: [1, (b, v) => b.writeUInt8(v), (b) => b.readUInt8()],
  int16: [2, (b, v) => b[`writeInt16${E}`](v), (b) => b[`readInt16${E}`]()],
  uint16: [2, (b, v) => b[`writeUInt16${E}`](v), (b) => b[`readUInt16${E}`]()],
  int32: [4, (b, v) => b[`writeInt32${E}`](v), (b) => b[`readInt32${E}`]()],
  uint32: [4, (b, v) => b[`writeUInt32${E}`](v), (b) => b[`readUInt32${E}`]()],
  int64: [8, (b, v) => b[`writeBigInt64${E}`](BigInt(v)), (b) => b[`readBigInt64${E}`]()],
  uint64: [8, (b, v) => b[`writeBigUInt64${E}`](BigInt(v)), (b) => b[`readBigUInt64${E}`]()],
  float: [4, (b, v) => b[`writeFloat${E}`](v), (b) => b[`readFloat${E}`]()],
  double: [8, (b, v) => b[`writeDouble${E}`](v), (b) => b[`readDouble${E}`]()],
  pointer: [ffi.sizeof.pointer, (b, v) => ffi.writePointer(b, 0, v), (b) => ffi.readPointer(b, 0)],
}
// C-named types resolve to the fixed-width ones with the same ffi_type.
for (const name of Object.keys(ffi.types)) {
  if (scalars[name]) continue
  const same = Object.keys(scalars).find((k) => ffi.types[k] === ffi.types[name])
  if (same) scalars[name] = scalars[same]
}

/** A struct descriptor: fields are type names or other descriptors. */
function struct(...fields) {
  const type = ffi.StructType(...fields.map(ffiType))
  const offsets = ffi.offsetsof(type)
  const size = Number(type[`readBigUInt64${E}`](0))
  return { fields, type, offsets, size }
}

function ffiType(t) {
  return typeof t === 'string' ? ffi.types[t] : t.type
}

function sizeOf(t) {
  if (typeof t !== 'string') return t.size
  if (t === 'void') return 0
  if (t === 'longdouble') return ffi.sizeof.longdouble
  return scalars[t][0]
}

function encodeInto(t, v, buf, offset) {
  if (typeof t === 'string') {
    if (t === 'longdouble') return v.copy(buf, offset)
    if (t === 'bool') return buf.writeUInt8(v ? 1 : 0, offset)
    return scalars[t][1](buf.subarray(offset), v)
  }
  t.fields.forEach((f, i) => encodeInto(f, v[i], buf, offset + t.offsets[i]))
}

function decodeFrom(t, buf, offset) {
  if (typeof t === 'string') {
    if (t === 'longdouble') return Buffer.from(buf.subarray(offset, offset + ffi.sizeof.longdouble))
    if (t === 'bool') return buf.readUInt8(offset) !== 0
    return scalars[t][2](buf.subarray(offset))
  }
  return t.fields.map((f, i) => decodeFrom(f, buf, offset + t.offsets[i]))
}

/**
 * A narrow integer return is widened by libffi to a whole ffi_arg; read it
 * as one, signed or unsigned, and check it fits the narrow type.
 */
function decodeReturn(t, rValue) {
  const narrowInt = typeof t === 'string' && /^u?int(8|16|32)$|^bool$|^u?char$|^u?short$|^u?int$/.test(t)
  if (!narrowInt || sizeOf(t) >= ARG) return decodeFrom(t, rValue, 0)
  const signed = !t.startsWith('u') && t !== 'bool'
  const wide = ARG === 8 ? rValue[`read${signed ? 'BigInt64' : 'BigUInt64'}${E}`](0) : null
  if (wide === null) return decodeFrom(t, rValue, E === 'LE' ? 0 : ARG - sizeOf(t))
  return t === 'bool' ? wide !== 0n : Number(wide)
}

/** aValues for `values` of `args` types, each in a Buffer of its own. */
function encodeArgs(args, values) {
  const aValues = Buffer.alloc(ffi.sizeof.pointer * args.length)
  args.forEach((t, i) => {
    const b = Buffer.alloc(Math.max(sizeOf(t), 1))
    encodeInto(t, values[i], b, 0)
    ffi.writePointer(aValues, i * ffi.sizeof.pointer, b)
  })
  return aValues
}

function prepare(ret, args, { abi, nfixed } = {}) {
  const head = abi === undefined ? [] : [abi]
  const types = [ffiType(ret), ...args.map(ffiType)]
  return nfixed === undefined ? ffi.CIF(...head, ...types) : ffi.CIFVar(...head, nfixed, ...types)
}

/** Binds `fn` (a pointer Buffer) as a JavaScript function. */
function bind(fn, ret, args, opts) {
  const cif = prepare(ret, args, opts)
  const f = (...values) => {
    const rValue = Buffer.alloc(Math.max(sizeOf(ret), ARG))
    ffi.call(cif, fn, rValue, encodeArgs(args, values))
    return ret === 'void' ? undefined : decodeReturn(ret, rValue)
  }
  f.cif = cif
  return f
}

/** The same through ffi.callAsync: resolves to the decoded return value. */
function bindAsync(fn, ret, args, opts) {
  const cif = prepare(ret, args, opts)
  return async (...values) => {
    const rValue = Buffer.alloc(Math.max(sizeOf(ret), ARG))
    await ffi.callAsync(cif, fn, rValue, encodeArgs(args, values))
    return ret === 'void' ? undefined : decodeReturn(ret, rValue)
  }
}

/** Writes a closure's return value: a narrow integer as a whole ffi_arg. */
function encodeReturn(t, rValue, v) {
  const narrowInt = typeof t === 'string' && sizeOf(t) < ARG && t !== 'float' && t !== 'longdouble'
  if (!narrowInt || ARG !== 8) return encodeInto(t, v, rValue, 0)
  const signed = !t.startsWith('u') && t !== 'bool'
  rValue[`write${signed ? 'BigInt64' : 'BigUInt64'}${E}`](BigInt(typeof v === 'boolean' ? Number(v) : v))
}

/** A closure calling `fn` with decoded arguments; its return is encoded. */
function callback(ret, args, fn) {
  const cif = ffi.CIF(ffiType(ret), ...args.map(ffiType))
  return ffi.Closure(cif, (rValue, aValues) => {
    const values = args.map((t, i) =>
      decodeFrom(t, ffi.readPointer(aValues, i * ffi.sizeof.pointer, Math.max(sizeOf(t), 1)), 0),
    )
    const r = fn(...values)
    if (ret !== 'void') encodeReturn(ret, rValue, r)
  })
}

let lib
/** The fixture library, compiled on first use. */
function fixtureLib() {
  if (!lib) lib = dlopen(fixture.build())
  return lib
}

/** A function pointer from the fixture library (or another handle). */
function sym(name, handle = fixtureLib()) {
  return ffi.readPointer(dlsym(handle, name), 0)
}

/** Binds a fixture function. */
function fx(name, ret, args, opts) {
  return bind(sym(name), ret, args, opts)
}

/** Binds a fixture function for calls on the thread pool. */
function fxAsync(name, ret, args, opts) {
  return bindAsync(sym(name), ret, args, opts)
}

module.exports = { ffi, struct, bind, bindAsync, sym, fx, fxAsync, fixtureLib, sizeOf, scalars, callback }
