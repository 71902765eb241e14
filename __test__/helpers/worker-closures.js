'use strict'

// In a Worker: closures on the Worker's own thread and from a C thread.
const { parentPort, workerData } = require('node:worker_threads')
const { fx, fxAsync, callback } = require('./c')

async function main() {
  const out = {}
  const cb = callback('int', ['int'], (x) => x * 2)
  out.sync = Number(fx('call_n', 'int64', ['pointer', 'int'])(cb, 5))
  out.thread = await fxAsync('call_in_thread', 'int', ['pointer', 'int'])(cb, 21)
  if (workerData && workerData.leaveRunning) {
    // A C thread keeps calling this Worker's closure after the Worker ends.
    const keep = callback('int', ['int'], () => 1)
    globalThis.keep = keep
    fx('bg_start', 'int', ['pointer'])(keep)
  }
  parentPort.postMessage(out)
}
main()
