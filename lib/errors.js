'use strict'

// Errors: every error's class and code is the native side's (src/error.rs);
// JavaScript names the code and the message.

const native = require('./load.js')

function fail(code, message) {
  throw native.makeError(code, message)
}

/**
 * The native checks name `ffi.call` in their messages (passing the caller's
 * name down measured slower on the call path): `ffi.bind` and
 * `ffi.callAsync` rename theirs on the way out, at no cost to calls that
 * do not throw.
 */
function renamed(err, what) {
  if (what !== 'ffi.call' && err instanceof Error && err.message.startsWith('ffi.call:')) {
    const message = what + err.message.slice('ffi.call'.length)
    if (typeof err.stack === 'string') err.stack = err.stack.replace(err.message, message)
    err.message = message
  }
  return err
}

function describe(value) {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object') return Array.isArray(value) ? 'an Array' : 'an object'
  return `type ${typeof value} (${String(value).slice(0, 40)})`
}

module.exports = { fail, renamed, describe }
