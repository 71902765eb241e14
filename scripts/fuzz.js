'use strict'

// The fuzz suite for longer: node scripts/fuzz.js [cases per property]
// (npm test runs it with a fixed, small number of cases).

const { spawnSync } = require('node:child_process')
const path = require('node:path')

const runs = process.argv[2] || '20000'
const ava = path.join(__dirname, '..', 'node_modules', 'ava', 'entrypoints', 'cli.mjs')
const r = spawnSync(process.execPath, [ava, '__test__/fuzz.spec.js', '--timeout', '60m'], {
  cwd: path.join(__dirname, '..'),
  env: { ...process.env, FUZZ_RUNS: runs },
  stdio: 'inherit',
})
process.exit(r.status === null ? 1 : r.status)
