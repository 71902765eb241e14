'use strict'

// The package is published as libffi-raw (`ffi` and `libffi` are taken on
// npm); `require('ffi')` is an alias install (`npm install
// ffi@npm:libffi-raw`), which this checkout mirrors with the devDependency
// "ffi": "file:.". Both names must reach one module, not two copies.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')

test('require("ffi") and require("libffi-raw") are the same module', (t) => {
  t.is(pkg.name, 'libffi-raw')
  t.is(require('ffi'), require('libffi-raw'))
  t.is(require('ffi/dlopen'), require('libffi-raw/dlopen'))
  t.is(require.resolve('ffi/buffer'), require.resolve('libffi-raw/buffer'))
  t.is(fs.realpathSync(require.resolve('ffi')), path.join(root, 'index.js'))
})

test('ESM import of either name is the same module', async (t) => {
  const a = await import('ffi')
  const b = await import('libffi-raw')
  t.is(a.default, b.default)
  t.is(a.default, require('ffi'))
  t.is((await import('ffi/dlopen')).default, (await import('libffi-raw/dlopen')).default)
})

test('the platform packages are libffi-raw-<triple>, one per napi target', (t) => {
  const dirs = fs.readdirSync(path.join(root, 'npm')).sort()
  const names = dirs.map((d) => require(path.join(root, 'npm', d, 'package.json')).name)
  t.deepEqual(names, dirs.map((d) => `libffi-raw-${d}`))
  t.is(pkg.napi.targets.length, dirs.length)
  for (const d of dirs) {
    const p = require(path.join(root, 'npm', d, 'package.json'))
    t.is(p.version, pkg.version, d)
    t.is(p.main, `${pkg.napi.binaryName}.${d}.node`, d)
  }
  // napi pre-publish writes optionalDependencies (<name>-<triple>: version)
  // into the published manifest; the checkout has none, so that the lock can
  // list everything and npm ci works before a version's platform packages
  // exist on the registry.
  t.is(pkg.optionalDependencies, undefined)
  // The generated loader (npm run build) looks the platform packages up by the same names.
  const loader = fs.readFileSync(path.join(root, 'binding.js'), 'utf8')
  for (const name of names) t.true(loader.includes(`require('${name}')`), name)
  t.false(/require\('ffi-/.test(loader), 'no lookup of the old ffi-<triple> names')
})
