'use strict'

// require('ffi/buffer'): pointer methods on Buffer.prototype, for code
// written against the original core `ffi` proposal. Nothing is installed
// unless this file is required.

const ffi = require('../index.js')

const native = ffi.endianness
const size = ffi.sizeof.pointer

/** A pointer stored in the other byte order: read it through a swapped copy. */
function swapped(buf, offset) {
  ffi.readPointer(buf, offset) // bounds and type checks, with their errors
  return Buffer.from(buf.subarray(offset, offset + size)).reverse()
}

function readPointer(order) {
  return function (offset = 0, length = 0) {
    if (order === native) return ffi.readPointer(this, offset, length)
    return ffi.readPointer(swapped(this, offset), 0, length)
  }
}

function writePointer(order) {
  return function (ptr, offset = 0) {
    ffi.writePointer(this, offset, ptr)
    if (order !== native) this.subarray(offset, offset + size).reverse()
  }
}

const methods = {
  readPointerLE: readPointer('LE'),
  readPointerBE: readPointer('BE'),
  writePointerLE: writePointer('LE'),
  writePointerBE: writePointer('BE'),
  address() {
    return ffi.address(this)
  },
}

for (const [name, value] of Object.entries(methods)) {
  Object.defineProperty(Buffer.prototype, name, { value, writable: true, configurable: true, enumerable: false })
}

module.exports = methods
