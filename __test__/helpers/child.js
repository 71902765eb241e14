'use strict'

// Runs a helper script in a child node and reports how it ended: crash- and
// exit-sensitive cases must not take the test runner down with them.

const { spawnSync } = require('node:child_process')
const path = require('node:path')

function runChild(script, args = [], { timeout = 30000, env } = {}) {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, script), ...args], {
    encoding: 'utf8',
    timeout,
    env: env ? { ...process.env, ...env } : process.env,
  })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

module.exports = { runChild }
