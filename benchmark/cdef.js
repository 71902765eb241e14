'use strict'

// The declarations layer's parser: cdef of each preprocessed library header
// (cc -E -P), cold (the first cdef in a fresh process) and warm (the median
// of later ones), and typeof of a 40-character type string, cached (the
// same string again) and uncached (a new string each time). LuaJIT 2.1 is
// a column where `luajit` is installed (the Debian package).
//
//   node benchmark/cdef.js [--runs 7]

const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 7
const root = path.join(__dirname, '..')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ffi-cdef-bench-'))
const headers = ['zlib.h', 'sqlite3.h', 'png.h']
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function preprocess(h) {
  const file = path.join(tmp, `${h}.i`)
  fs.writeFileSync(file, execFileSync('cc', ['-E', '-P', '-'], { input: `#include <${h}>\n`, encoding: 'utf8' }))
  return file
}

function nodeCold(file) {
  const code = `const c = require(${JSON.stringify(path.join(root, 'lib/c/index.js'))}); const s = require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'); const t = process.hrtime.bigint(); c.cdef(s); console.log(Number(process.hrtime.bigint() - t) / 1e6)`
  const times = []
  for (let i = 0; i < runs; i++) times.push(Number(execFileSync(process.execPath, ['-e', code], { encoding: 'utf8' })))
  return median(times)
}

function nodeWarm(file) {
  const c = require(path.join(root, 'lib/c/index.js'))
  const s = fs.readFileSync(file, 'utf8')
  for (let i = 0; i < 20; i++) c.cdef(s)
  const times = []
  for (let i = 0; i < runs * 3; i++) {
    const t = process.hrtime.bigint()
    c.cdef(s)
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return median(times)
}

function luajit(file) {
  if (spawnSync('luajit', ['-v']).status !== 0) return null
  const lua = (warm) => `local ffi = require('ffi'); local f = io.open(${JSON.stringify(file)}); local s = f:read('*a'); f:close()
    ${warm ? "for i = 1, 20 do pcall(ffi.cdef, s) end" : ''}
    local t = os.clock(); local ok, e = pcall(ffi.cdef, s); local d = (os.clock() - t) * 1000
    if not ok then print('error ' .. tostring(e)) else print(d) end`
  const one = (warm) => {
    const out = execFileSync('luajit', ['-e', lua(warm)], { encoding: 'utf8' }).trim()
    return out.startsWith('error') ? NaN : Number(out)
  }
  const cold = []
  for (let i = 0; i < runs; i++) cold.push(one(false))
  // LuaJIT refuses a redefinition of the same struct, so its "warm" is a
  // fresh state with the parser's code already warm: a second cdef fails.
  return { cold: median(cold), warm: NaN }
}

const rows = []
for (const h of headers) {
  const file = preprocess(h)
  const lines = fs.readFileSync(file, 'utf8').split('\n').length
  const lj = luajit(file)
  rows.push([h, lines, nodeCold(file).toFixed(1), nodeWarm(file).toFixed(2), lj ? (Number.isNaN(lj.cold) ? 'error' : lj.cold.toFixed(2)) : '—'])
}

const c = require(path.join(root, 'lib/c/index.js'))
c.cdef('struct bench_point { int x; int y; };')
const str = 'const struct bench_point *volatile *const[4]'
let sink = 0
for (let i = 0; i < 1e5; i++) sink += c.typeof(str).size
let t = process.hrtime.bigint()
for (let i = 0; i < 1e6; i++) sink += c.typeof(str).size
const cached = Number(process.hrtime.bigint() - t) / 1e6 // ns per call over 1e6 calls
const fresh = Array.from({ length: 20000 }, (_, i) => `const struct bench_point *volatile *const[${i + 1}]`)
t = process.hrtime.bigint()
for (const s of fresh) sink += c.typeof(s).size
const uncached = Number(process.hrtime.bigint() - t) / fresh.length

console.log(`cdef of preprocessed headers (ms; median of ${runs}; Node ${process.version}, ${os.cpus()[0].model.trim()}, ${new Date().toISOString().slice(0, 10)})\n`)
console.log('| header | lines | cold | warm | LuaJIT 2.1, cold |')
console.log('| --- | --- | --- | --- | --- |')
for (const r of rows) console.log(`| ${r.join(' | ')} |`)
console.log(`\ntypeof('${str}') (${str.length} characters): cached ${cached.toFixed(0)} ns, uncached ${uncached.toFixed(0)} ns per call${sink ? '' : ''}`)
fs.rmSync(tmp, { recursive: true, force: true })
