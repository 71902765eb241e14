'use strict'

// Loading: the native binary through the generated loader (binding.js, at
// the package's top level): a local build next to it first
// (ffi.<triple>.node), then the platform package libffi-raw-<triple>. When
// nothing fits, the error says which platform this is and what was tried.
// What each native function trusts JavaScript to have checked: see
// lib/CONTRACT.md.

function platformTriple() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
    const glibc = report && report.header && report.header.glibcVersionRuntime
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

let binding
try {
  binding = require('../binding.js')
} catch (cause) {
  const triple = platformTriple()
  const error = new Error(
    `ffi: no native binary for this platform (${triple}, Node ${process.version}). ` +
      `Tried ${require('node:path').join(__dirname, '..', `ffi.${triple}.node`)} (a local build: npm run build) ` +
      `and the package libffi-raw-${triple} (an optional dependency of libffi-raw: reinstall without ` +
      '--no-optional, or check that this platform is one libffi-raw publishes).',
  )
  error.code = 'ERR_FFI_NO_BINARY'
  error.cause = cause
  throw error
}

module.exports = binding
