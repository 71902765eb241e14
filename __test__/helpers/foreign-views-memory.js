'use strict'

// 10 million readPointer(buf, 0, 4) in a synchronous loop, no gc() called:
// prints the peak RSS in MB. Each result is a Buffer over foreign memory;
// none may hold native memory that only the event loop would free.
const ffi = require('ffi')

const data = Buffer.alloc(16)
const holder = Buffer.alloc(ffi.sizeof.pointer)
ffi.writePointer(holder, 0, data)
let sum = 0
let peak = 0
for (let i = 0; i < 10_000_000; i++) {
  sum += ffi.readPointer(holder, 0, 4).length
  if (i % 1_000_000 === 0) peak = Math.max(peak, process.memoryUsage.rss())
}
peak = Math.max(peak, process.memoryUsage.rss())
console.log(JSON.stringify({ sum, peakMB: Math.round(peak / 1e6) }))
