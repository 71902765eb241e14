'use strict'

// require('ffi'): the module object, assembled from lib/. What lives in
// JavaScript is what must: the addresses of pointer Buffers (Node reports
// address 0 for a zero-length Buffer over foreign memory, and Electron
// refuses such Buffers altogether, so a zero-length pointer Buffer is an
// ordinary Node-owned Buffer that carries its address in a private field),
// the state of the CIFs this module prepared, and the links that keep
// Buffers alive as long as the C structures pointing into them. Every check
// on values, and every error's class and code, is in Rust (src/error.rs).
// What the native side trusts lib/ to have checked: lib/CONTRACT.md.
//
//   lib/load.js      loading the binary
//   lib/errors.js    fail, and the callers' names in messages
//   lib/state.js     per-thread state, intrinsics, guards, constants
//   lib/pointer.js   pointer Buffers, the address and writePointer tables, helpers
//   lib/types.js     ffi.types, struct types
//   lib/cif.js       CIF state, the fast path, call, bind, callAsync
//   lib/closure.js   closures and their dispatcher

const native = require('./lib/load.js')
const { info, sizeof, alignof, abi, stats } = require('./lib/state.js')
const pointer = require('./lib/pointer.js')
const { types, StructType, offsetsof, typeInfo } = require('./lib/types.js')
const { CIF, CIFVar, call, bind, callAsync } = require('./lib/cif.js')
const { Closure } = require('./lib/closure.js')

const status = Object.freeze({ FFI_OK: 0, FFI_BAD_TYPEDEF: 1, FFI_BAD_ABI: 2, FFI_BAD_ARGTYPE: 3 })

const ffi = {
  sizeof,
  alignof,
  abi,
  types,
  status,
  CIF,
  CIFVar,
  StructType,
  offsetsof,
  typeInfo,
  call,
  bind,
  callAsync,
  Closure,
  errno: native.errno,
  lastError: native.lastError,
  NULL: pointer.NULL,
  isNull: pointer.isNull,
  address: pointer.address,
  addressBigInt: pointer.addressBigInt,
  fromAddress: pointer.fromAddress,
  readPointer: pointer.readPointer,
  writePointer: pointer.writePointer,
  reinterpret: pointer.reinterpret,
  readCString: pointer.readCString,
  allocCString: pointer.allocCString,
  read: pointer.read,
  write: pointer.write,
  endianness: info.endianness,
  stats,
}
for (const [name, value] of Object.entries(status)) {
  Object.defineProperty(ffi, name, { value, enumerable: true, writable: false })
}
for (const [name, value] of Object.entries(info.typeCodes)) {
  Object.defineProperty(ffi, `TYPE_${name}`, { value, enumerable: true, writable: false })
}

module.exports = ffi
ffi.dlopen = require('./dlopen.js')
