'use strict'

// Stack limits that used to kill the process or throw `undefined`, run in a
// child process; prints one line of JSON.
//
//   closure-deep                 C calls a closure with 2 MiB of its own stack
//                                in use, past V8's limit on the main thread;
//                                then again, followed by a closure call that
//                                runs and makes a nested ffi.call
//   reentry <pad> [stackMb]      JavaScript -> ffi.call -> C -> closure ->
//                                JavaScript -> ffi.call ... until a call is
//                                refused; each C level first uses <pad> bytes
//                                of stack; with stackMb, inside a Worker with
//                                that stack size
//   c-string                     readCString of a string longer than V8's
//                                longest, from a Buffer and from a pointer

const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads')

function report(out) {
  if (isMainThread) console.log(JSON.stringify(out))
  else parentPort.postMessage(out)
}

function errorOf(e) {
  return { name: e?.constructor?.name, code: e?.code, message: e?.message, isUndefined: e === undefined }
}

function closureDeep() {
  const { fx, callback } = require('./c')
  const uncaught = []
  process.on('uncaughtException', (e) => uncaught.push(errorOf(e)))
  let calls = 0
  const cb = callback('int', ['int'], () => ++calls)
  const f = fx('call_with_stack_used', 'int', ['pointer', 'int'])
  const out = { shallow: f(cb, 4096) }
  try {
    out.deep = f(cb, 2 * 1024 * 1024)
  } catch (e) {
    out.error = errorOf(e)
  }
  // The refusal belongs to that call alone.
  out.after = f(cb, 4096)
  // A nested call that returns normally does not clear the refusal of the
  // call it is nested in.
  const nesting = callback('int', ['int'], (x) => (x === 2 ? f(cb, 4096) : 0))
  try {
    out.deepThenNested = fx('call_deep_then_shallow', 'int', ['pointer', 'int'])(nesting, 2 * 1024 * 1024)
  } catch (e) {
    out.deepThenNestedError = errorOf(e)
  }
  setImmediate(() => report({ ...out, calls, uncaught }))
}

function reentry(pad) {
  const { fx, callback } = require('./c')
  const uncaught = []
  process.on('uncaughtException', (e) => uncaught.push(errorOf(e)))
  const f = fx('call_with_stack_used', 'int', ['pointer', 'int'])
  let depth = 0
  let max = 0
  let refused
  const cb = callback('int', ['int'], () => {
    max = Math.max(max, ++depth)
    try {
      return f(cb, pad) + 1
    } catch (e) {
      refused ??= { ...errorOf(e), depth }
      throw e // to 'uncaughtException', as any callback's error
    } finally {
      depth--
    }
  })
  const result = f(cb, pad)
  setImmediate(() => report({ result, max, refused, uncaught }))
}

function cString() {
  const ffi = require('ffi')
  const n = 2 ** 29 - 23 // one byte more than V8's longest string on 64-bit
  const buf = Buffer.alloc(n + 1, 0x61)
  buf[n] = 0
  const out = {}
  const forms = { buffer: () => ffi.readCString(buf), pointer: () => ffi.readCString(ffi.fromAddress(ffi.address(buf))) }
  for (const [form, read] of Object.entries(forms)) {
    try {
      out[form] = { length: read().length }
    } catch (e) {
      out[form] = errorOf(e)
    }
  }
  report(out)
}

const [mode, ...args] = isMainThread ? process.argv.slice(2) : workerData
if (isMainThread && mode === 'reentry' && args[1] !== undefined) {
  const w = new Worker(__filename, { workerData: [mode, args[0]], resourceLimits: { stackSizeMb: Number(args[1]) } })
  let out
  w.on('message', (m) => (out = m))
  w.on('error', (e) => (out = { workerError: errorOf(e) }))
  w.on('exit', (exitCode) => console.log(JSON.stringify({ ...out, exitCode })))
} else if (mode === 'closure-deep') {
  closureDeep()
} else if (mode === 'reentry') {
  reentry(Number(args[0]))
} else if (mode === 'c-string') {
  cString()
} else {
  throw new Error(`unknown mode ${mode}`)
}
