'use strict'

// Closures at the edges of a process's and a Worker's life, each in a child
// node so that a crash shows up as a status, not as a dead test runner.

const test = require('ava')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { runChild } = require('./helpers/child')

test('a throwing callback: C receives 0, uncaughtException fires once', (t) => {
  const r = runChild('throwing-callback.js')
  t.is(r.status, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), { sum: 30, seen: ['thrown for 2'] })
})

test('closures inside a Worker, from its thread and from a C thread', async (t) => {
  const result = await new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, 'helpers', 'worker-closures.js'))
    w.once('message', resolve)
    w.once('error', reject)
  })
  t.deepEqual(result, { sync: 20, thread: 42 })
})

test('a Worker exits while a C thread still calls its closure: zeroes, and the process survives', (t) => {
  const r = runChild('worker-exit-while-called.js')
  t.is(r.signal, null, r.stderr)
  t.is(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  t.is(out.code, 0)
  t.deepEqual(out.result, { sync: 20, thread: 42 })
  t.true(out.stillCalling > 0, 'the C thread went on calling after the Worker ended')
  t.true(out.zeros > 0, 'and got zeroed results')
})

for (const how of ['natural', 'exit']) {
  test(`the process ends (${how}) while a C thread keeps calling a closure: a clean exit`, (t) => {
    const r = runChild('exit-while-called.js', [how])
    t.is(r.signal, null, r.stderr)
    t.is(r.status, how === 'exit' ? 7 : 0, r.stderr)
    t.is(r.stdout.trim(), 'answered true')
  })
}

// Regression: Node joins the thread pool on its way out, and a pool thread
// waiting for this thread to run a closure never gave up: every way out
// hung forever. Each must end with its own status.
const exits = {
  'closure-on-pool': 2, // callAsync of the closure itself, then process.exit(2)
  exit: 2, // a C thread joined by callAsync calls it, then process.exit(2)
  'exit-in-closure': 3, // the closure calls process.exit(3)
  'throw-in-closure': 1, // the closure throws, no 'uncaughtException' handler
  uncaught: 1, // ordinary code throws while the call waits
}
for (const [how, status] of Object.entries(exits)) {
  test(`the process leaves (${how}) while a pool thread waits on a closure: exit status ${status}`, (t) => {
    const r = runChild('exit-while-waiting.js', [how], { timeout: 15000 })
    t.is(r.signal, null, `killed after the time limit: the exit hung\n${r.stderr}`)
    t.is(r.status, status, r.stderr)
  })
}

test('ended Workers free the closures C never saw, and leave compiled-in entries to the main thread', (t) => {
  // 20 Workers x 100 closures, 20 of each with their address taken: far
  // more than the 256 compiled-in entries, in a child with a time limit.
  const r = runChild('worker-leftovers.js', [], { timeout: 60000 })
  t.is(r.signal, null, r.stderr)
  t.is(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  const kept = out.workers * out.exposed
  t.is(out.after.closures, out.before.closures, 'live closures back to the baseline')
  t.is(out.after.closureLeftovers, out.before.closureLeftovers + kept, 'only those whose address left are kept')
  t.true(out.after.closureEntries < 256, `Workers left entries free (${out.after.closureEntries} in use)`)
  t.is(out.entryForMain, 1, 'the main thread still gets a compiled-in entry')
  t.is(out.closuresWithOne, 1)
  t.is(out.called, 30, 'and C calls it')
})
