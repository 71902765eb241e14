'use strict'

// The views that arr.at(i) makes are removed by V8 once the loop is
// optimized, in the image workload written line by line (six at(i) per
// pixel, each with a field access: within V8's inlining budget only if the
// generated accessors are small) and with one view per pixel. Counts the
// collections during 30 passes of each once optimized (none: nothing was
// allocated); a loop that keeps some of its views is the control. Prints
// the counts as JSON.
const v8 = require('node:v8')
const c = require('ffi/c')

c.cdef('typedef struct { uint8_t red, green, blue, alpha; } al_pixel;')
const N = 100000
const img = c.new('al_pixel[?]', N)

function lineByLine(img, n) {
  for (let i = 0; i < n; i++) {
    const y = 0.3 * img.at(i).red + 0.59 * img.at(i).green + 0.11 * img.at(i).blue
    img.at(i).red = y
    img.at(i).green = y
    img.at(i).blue = y
  }
}

function onePerPixel(img, n) {
  for (let i = 0; i < n; i++) {
    const p = img.at(i)
    const y = 0.3 * p.red + 0.59 * p.green + 0.11 * p.blue
    p.red = y
    p.green = y
    p.blue = y
  }
}

let kept
function keeping(img, n) {
  for (let i = 0; i < n; i++) {
    const p = img.at(i)
    p.red = p.green + 1
    if ((i & 1023) === 0) kept = p // escapes: every view is made
  }
}

/**
 * The collections of any kind during 30 passes of `fn`, after 150 and half
 * a second at least to warm up (V8 compiles concurrently: on a loaded
 * machine the optimized code, the one without views, may arrive after
 * tens of passes).
 */
function count(fn) {
  const start = process.hrtime.bigint()
  for (let k = 0; k < 150 || process.hrtime.bigint() - start < 500_000_000n; k++) fn(img, N)
  // The fewest over three tries: on a machine loaded by other processes the
  // optimized code can arrive later still, and a try before it counts the
  // views of unoptimized code. Code that allocates views counts in all three.
  let fewest = Infinity
  for (let attempt = 0; attempt < 3 && fewest > 0; attempt++) {
    const profiler = new v8.GCProfiler()
    profiler.start()
    for (let k = 0; k < 30; k++) fn(img, N)
    fewest = Math.min(fewest, profiler.stop().statistics.length)
  }
  return fewest
}

const out = { lineByLine: count(lineByLine), onePerPixel: count(onePerPixel), keeping: count(keeping) }
console.log(JSON.stringify(out), kept !== undefined)
