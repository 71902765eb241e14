'use strict'

// Compiles __test__/fixture/*.c into one shared library with the system C
// compiler, once: concurrent test processes build into temporary files and
// rename, so the last writer wins with a complete file. Run directly
// (`node __test__/helpers/fixture.js`) it only builds.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const dir = path.join(__dirname, '..', 'fixture')
const ext = process.platform === 'darwin' ? '.dylib' : process.platform === 'win32' ? '.dll' : '.so'
const out = path.join(dir, 'build', `libfixture${ext}`)

function sources() {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.c'))
    .map((f) => path.join(dir, f))
}

function build() {
  const srcs = sources()
  const newest = Math.max(...srcs.map((f) => fs.statSync(f).mtimeMs))
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newest) return out
  fs.mkdirSync(path.dirname(out), { recursive: true })
  const tmp = `${out}.${process.pid}.tmp`
  const cc = process.env.CC || 'cc'
  execFileSync(cc, ['-shared', '-fPIC', '-O1', '-Wall', '-Werror', '-pthread', '-o', tmp, ...srcs], {
    stdio: 'inherit',
  })
  fs.renameSync(tmp, out)
  return out
}

module.exports = { build, path: out }

if (require.main === module) console.log(build())
