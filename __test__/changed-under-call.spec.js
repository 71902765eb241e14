'use strict'

// Regression: checks ran before a call, and nothing protected the Buffers
// while a callAsync call was queued or running, or while a synchronous
// call's callback ran: C read or wrote memory that had left (a crash, or a
// result written into a transferred ArrayBuffer). Each case runs in a child
// node with one pool thread, held by a first call, so the call under test
// waits in the queue while its Buffers change.

const test = require('ava')
const { runChild } = require('./helpers/child')

function run(how) {
  const r = runChild('changed-under-call.js', [how], { env: { UV_THREADPOOL_SIZE: '1' } })
  if (r.status !== 0 || r.signal !== null) throw new Error(`${how}: status ${r.status}, signal ${r.signal}\n${r.stderr}`)
  return JSON.parse(r.stdout)
}

const zeros = [0, 0, 0, 0, 0, 0, 0, 0]

test('callAsync: rValue transferred while queued: the result lands nowhere', (t) => {
  t.deepEqual(run('async-rvalue-transferred'), { rValueLength: 0, moved: zeros })
})

test('callAsync: arguments are read when the call is made, not when it runs', (t) => {
  t.deepEqual(run('async-arg-changed'), { rValueLength: 8, result: '5' })
})

test('callAsync: an argument transferred while queued: C still sees its value', (t) => {
  t.deepEqual(run('async-arg-transferred'), { rValueLength: 8, result: '5' })
})

test('callAsync: writePointer(aValues, 0, null) while queued: no NULL reaches C', (t) => {
  t.deepEqual(run('async-null-argument'), { rValueLength: 8, result: '5' })
})

test('callAsync: rValue in a resizable ArrayBuffer shrunk to 0 while queued', (t) => {
  t.deepEqual(run('async-rab-shrunk'), { rValueLength: 0, regrown: zeros })
})

test('ffi.call: a callback transfers the outer call rValue: the result lands nowhere', (t) => {
  t.deepEqual(run('sync-rvalue-transferred'), { rValueLength: 0, moved: zeros, result: '3' })
})
