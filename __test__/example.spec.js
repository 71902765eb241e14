'use strict'

const test = require('ava')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

test("SPEC's original example prints abs(-5): 5", (t) => {
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'original.js')]).toString()
  t.is(out, 'abs(-5): 5\n')
})
