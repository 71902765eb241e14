'use strict'

// A C thread keeps calling a closure while the process ends, naturally or
// through process.exit(): the process must exit cleanly with its code.
const { fx, callback } = require('./c')

const how = process.argv[2]
let answered = 0
const cb = callback('int', ['int'], () => ++answered)
globalThis.keep = cb
fx('bg_start', 'int', ['pointer'])(cb)
setTimeout(() => {
  console.log(`answered ${answered > 0}`)
  if (how === 'exit') process.exit(7)
  // 'natural': nothing keeps the loop alive now; the process ends by itself.
}, 100)
