'use strict'

// Regression: several evaluations of the module's JavaScript over one
// binary (a cleared require.cache, Jest's isolateModules) each used to set
// up the fast path's per-thread control cell, so the first copy's next call
// read the last copy's cell: a SIGSEGV, or the other copy's call repeated.

const test = require('ava')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const fixture = require('./helpers/fixture')
const { runChild } = require('./helpers/child')
const { expected } = require('./helpers/two-copies')

test('two copies through a cleared require.cache work interleaved', (t) => {
  const r = runChild('two-copies.js', [fixture.build()])
  t.is(r.signal, null, r.stderr)
  t.is(r.status, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), expected)
})

test('a Jest run with isolateModules and resetModules passes', (t) => {
  const root = path.join(__dirname, '..')
  const jest = require.resolve('jest/bin/jest')
  const r = spawnSync(process.execPath, [jest, '--ci', '--rootDir', path.join(__dirname, 'jest'), '--testMatch', '**/*.jest.js'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, FFI_FIXTURE: fixture.build() },
  })
  t.is(r.signal, null, r.stderr)
  t.is(r.status, 0, r.stderr)
  t.regex(r.stderr, /Tests:\s+2 passed, 2 total/)
})
