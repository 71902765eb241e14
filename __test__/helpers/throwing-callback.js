'use strict'

// A callback that throws: C must get 0, 'uncaughtException' must fire once
// per throw, and the process must carry on.
const { fx, callback } = require('./c')

const seen = []
process.on('uncaughtException', (e) => seen.push(e.message))
const cb = callback('int', ['int'], (x) => {
  if (x === 2) throw new Error(`thrown for ${x}`)
  return 10
})
// cb(0) + cb(1) + cb(2) + cb(3): the throwing call counts as 0.
const sum = fx('call_n', 'int64', ['pointer', 'int'])(cb, 4)
setImmediate(() => console.log(JSON.stringify({ sum: Number(sum), seen })))
