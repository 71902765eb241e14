'use strict'

// The errors of the declarations layer: the raw module's model (a class
// per code, a `code`, a message that names the function), with the raw
// module's own constructor for its codes, and the codes SPEC-C adds.

const native = require('../load.js')

/** The codes this layer adds, and their classes. */
const OWN = {
  ERR_FFI_CDEF: SyntaxError,
  ERR_FFI_CDEF_REDEFINE: SyntaxError,
  ERR_FFI_UNKNOWN_TYPE: TypeError,
  ERR_FFI_UNDECLARED: Error,
  ERR_FFI_DLOPEN: Error,
  ERR_FFI_DLSYM: Error,
}

/** An error with `code`: the raw module's for its codes, else this layer's. */
function error(code, message) {
  const Class = OWN[code]
  if (Class === undefined) return native.makeError(code, message)
  const e = new Class(message)
  e.code = code
  return e
}

/** A syntax error in a cdef source (ERR_FFI_CDEF). */
function cdefError(message) {
  return error('ERR_FFI_CDEF', `cdef: ${message}`)
}

module.exports = { error, cdefError }
