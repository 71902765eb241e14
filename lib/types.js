'use strict'

// Type descriptions: ffi.types (libffi's own ffi_types as pointer
// Buffers), struct types, and the one check that turns a type Buffer into
// an address the native side may read an ffi_type at (see
// lib/CONTRACT.md §3).

const { native, raw, info, shared, isView, byteLengthOf, checkNotDetached, sizeof, counted } = require('./state.js')
const { fail } = require('./errors.js')
const { addressOf, pointerBuffer } = require('./pointer.js')

const { builtinTypes, keptAlive } = shared

if (shared.types === undefined) {
  const types = {}
  for (const [name, address] of info.builtinTypes) {
    const t = pointerBuffer(address)
    builtinTypes.set(t, address)
    types[name] = t
  }
  for (const [alias, canonical] of info.typeAliases) types[alias] = types[canonical]
  shared.types = Object.freeze(types)
}
const types = shared.types

/**
 * The address of a type description: a builtin type, or a Buffer holding
 * an ffi_type (StructType's, or built by hand).
 */
function typeAddress(t, what) {
  const builtin = builtinTypes.get(t)
  if (builtin !== undefined) return builtin
  if (!isView(t)) return raw.bufferAddress(t, what) // throws the TypeError
  checkNotDetached(t, what)
  const n = byteLengthOf(t)
  if (n < sizeof.ffi_type) {
    fail(
      'ERR_INVALID_ARG_VALUE',
      `${what}: expected a type Buffer (ffi.types.*, ffi.StructType(), or ${sizeof.ffi_type} bytes of ffi_type), got a Buffer of ${n} bytes`,
    )
  }
  return addressOf(t, what)
}

function StructType(...fields) {
  const addrs = fields.map((f, i) => typeAddress(f, `ffi.StructType: field ${i}`))
  const t = native.structType(addrs)
  keptAlive.set(t, fields)
  return counted('structTypes', t)
}

/** `{ size, alignment, type }` of a type Buffer (`type`: an `ffi.TYPE_*` code). */
function typeInfo(type) {
  const [size, alignment, code] = native.typeInfo(typeAddress(type, 'ffi.typeInfo'))
  return { size, alignment, type: code }
}

function offsetsof(structType) {
  return native.offsetsOf(typeAddress(structType, 'ffi.offsetsof'))
}

module.exports = { types, typeAddress, StructType, typeInfo, offsetsof }
