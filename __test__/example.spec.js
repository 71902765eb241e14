'use strict'

const test = require('ava')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

test("SPEC's original example prints abs(-5): 5", (t) => {
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'original.js')]).toString()
  t.is(out, 'abs(-5): 5\n')
})

test('examples/qsort.js sorts through a JavaScript comparator', (t) => {
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'qsort.js')]).toString()
  t.is(out, '-100 -7 0 3 3 19 42\n')
})

test('examples/printf.js formats through CIFVar', (t) => {
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'printf.js')]).toString()
  t.is(out, '12 apples cost 3.50 euros\n')
})
