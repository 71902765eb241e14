'use strict'

// Main: a Worker starts a C thread calling its closure, then exits. The
// thread must get zeroes from then on, and the process must live on.
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { fx } = require('./c')

const w = new Worker(path.join(__dirname, 'worker-closures.js'), { workerData: { leaveRunning: true } })
let result
w.on('message', (m) => (result = m))
w.on('exit', async (code) => {
  const calls = fx('bg_calls_made', 'int64', [])
  const before = calls()
  await new Promise((r) => setTimeout(r, 200))
  const after = calls()
  const zeros = fx('bg_zero_answers', 'int64', [])()
  fx('bg_stop_and_join', 'void', [])()
  console.log(JSON.stringify({ code, result, stillCalling: Number(after - before), zeros: Number(zeros) }))
})
