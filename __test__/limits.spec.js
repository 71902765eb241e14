'use strict'

// The documented limits (README, Limits): each is refused with a coded
// error where it used to crash, kill the process or throw `undefined`. What
// could crash runs in a child process.

const test = require('ava')
const { ffi, struct } = require('./helpers/c')
const { runChild } = require('./helpers/child')

const LIMIT = 64 * 1024

function child(args) {
  const r = runChild('stack-limits.js', args, { timeout: 60000 })
  const line = r.stdout.trim().split('\n').pop()
  return { ...r, out: line ? JSON.parse(line) : undefined }
}

function isStackError(t, e, message) {
  t.truthy(e, 'an error was reported')
  t.false(e.isUndefined)
  t.is(e.name, 'RangeError')
  t.is(e.code, 'ERR_FFI_STACK_EXHAUSTED')
  t.regex(e.message, message)
}

test('a closure C calls with the stack used up: ffi.call throws ERR_FFI_STACK_EXHAUSTED once C returns', (t) => {
  const r = child(['closure-deep'])
  t.is(r.status, 0, r.stderr)
  t.is(r.out.shallow, 1)
  isStackError(t, r.out.error, /^ffi\.call: a JavaScript closure called during this call could not run/)
  // The closure did not run (C got 0), the next call works, and nothing
  // went to 'uncaughtException'.
  t.is(r.out.after, 2)
  // Refused, then a closure that runs and nests an ffi.call: the outer call
  // still throws.
  t.is(r.out.deepThenNested, undefined)
  isStackError(t, r.out.deepThenNestedError, /^ffi\.call: a JavaScript closure called during this call could not run/)
  t.is(r.out.calls, 3)
  t.deepEqual(r.out.uncaught, [])
})

function checkReentry(t, r, message) {
  t.is(r.status, 0, r.stderr)
  t.is(r.out.exitCode ?? 0, 0, r.stderr)
  isStackError(t, r.out.refused, message)
  t.is(r.out.refused.depth, r.out.max)
  // The refused call threw in the callback, which rethrew: once to
  // 'uncaughtException', C got 0, and every level above returned.
  t.is(r.out.uncaught.length, 1)
  t.is(r.out.uncaught[0].code, 'ERR_FFI_STACK_EXHAUSTED')
  t.is(r.out.result, r.out.max - 1)
}

test('re-entry is refused at 128 nested synchronous calls, on the main thread and in a Worker', (t) => {
  for (const args of [['reentry', '64'], ['reentry', '64', '4']]) {
    const r = child(args)
    checkReentry(t, r, /^ffi\.call: this thread is already in 128 nested synchronous calls/)
    t.is(r.out.max, 128)
  }
})

test('re-entry with big frames, or in a small Worker, is refused by the stack check before the depth limit', (t) => {
  // 16 KiB of C stack per level: the depth limit alone would not hold.
  for (const args of [['reentry', '16384'], ['reentry', '16384', '4'], ['reentry', '64', '0.5']]) {
    const r = child(args)
    checkReentry(t, r, /^ffi\.call: less than 160 KiB of this thread's stack is left/)
    t.true(r.out.max < 128, `${args}: ${r.out.max}`)
  }
})

test('readCString of a string longer than V8 can hold: ERR_OUT_OF_RANGE, Buffer and pointer forms', (t) => {
  const r = child(['c-string'])
  t.is(r.status, 0, r.stderr)
  for (const form of ['buffer', 'pointer']) {
    const e = r.out[form]
    t.is(e.name, 'RangeError', form)
    t.is(e.code, 'ERR_OUT_OF_RANGE', form)
    t.regex(e.message, /^ffi\.readCString: the string is 536870889 bytes long/)
  }
})

function throwsOutOfRange(t, fn, what) {
  const e = t.throws(fn, { instanceOf: RangeError })
  t.is(e.code, 'ERR_OUT_OF_RANGE')
  t.regex(e.message, new RegExp(`^${what}: the arguments and the return value take \\d+ bytes by value`))
  t.regex(e.message, /the limit is 65536/)
}

test('by-value arguments and results over 64 KiB are refused at CIF and CIFVar', (t) => {
  const { types } = ffi
  // 65,536 int64s: 512 KiB of arguments.
  throwsOutOfRange(t, () => ffi.CIF(types.int64, ...Array(65536).fill(types.int64)), 'ffi.CIF')
  // A 4 MiB struct (it used to crash inside ffi_call), as argument and as result.
  const kb64 = struct(...Array(16).fill(struct(...Array(512).fill('uint64'))))
  t.is(kb64.size, LIMIT)
  const mb4 = struct(...Array(64).fill(kb64))
  throwsOutOfRange(t, () => ffi.CIF(types.void, mb4.type), 'ffi.CIF')
  throwsOutOfRange(t, () => ffi.CIF(mb4.type), 'ffi.CIF')
  throwsOutOfRange(t, () => ffi.CIFVar(1, types.int, types.pointer, mb4.type), 'ffi.CIFVar')
  // The total counts each argument rounded up to 8, and the result.
  throwsOutOfRange(t, () => ffi.CIF(types.void, kb64.type, types.int8), 'ffi.CIF')
  throwsOutOfRange(t, () => ffi.CIF(types.int8, kb64.type), 'ffi.CIF')
  // Up to the limit is fine.
  t.is(ffi.CIF(types.void, kb64.type).length, ffi.sizeof.ffi_cif)
  const half = struct(...Array(8).fill(struct(...Array(512).fill('uint64'))))
  t.is(ffi.CIF(half.type, half.type).length, ffi.sizeof.ffi_cif)
  t.is(ffi.CIF(types.int64, ...Array(LIMIT / 8 - 1).fill(types.int64)).length, ffi.sizeof.ffi_cif)
})
