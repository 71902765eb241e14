'use strict'

// Every examples/c-*.js (the seed programs of ffi/c) runs in a child node
// and prints what C computed: printf's own output, the fixture's sums, zlib's
// round trip, libc's malloc'd bytes, SQLite's rows. examples.spec.js covers
// the raw module's examples; together they cover every file in examples/.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const fixture = require('./helpers/fixture')

const root = path.join(__dirname, '..')
const examples = path.join(root, 'examples')

// Built here once, so that the examples that load it (c-add.js, c-point.js)
// find it up to date and compile nothing.
fixture.build()

function run(file) {
  const r = spawnSync(process.execPath, [path.join(examples, file)], { encoding: 'utf8', timeout: 30000 })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

// LuaJIT's names for the platform, as ffi.os, ffi.arch and ffi.abi give them.
const os = { linux: 'Linux', darwin: 'OSX', win32: 'Windows', freebsd: 'BSD', openbsd: 'BSD', netbsd: 'BSD' }[process.platform]
const arch = { x64: 'x64', ia32: 'x86', arm64: 'arm64', arm: 'arm' }[process.arch]
const bits64 = ['x64', 'arm64', 'ppc64', 'riscv64', 'loong64', 's390x', 'mips64el'].includes(process.arch)
const P = bits64 ? 8 : 4

const expected = {
  'c-hello.js': 'Hello world!\n',
  'c-add.js': '3\n',
  'c-point.js': '3 3\n',
  // compressBound is zlib's formula (4000 + 13 with zlib's own; zlib-ng's
  // differs); the compressed length is zlib's choice, the same in both lines.
  'c-zlib.js':
    /^compressBound\(4000\): (\d+)\ncompress2: 0 \(Z_OK\), 4000 bytes -> (\d+)\nuncompress: 0 \(Z_OK\), \2 bytes -> 4000\nround trip equal: true\n$/,
  'c-memory.js':
    `os: ${os}, arch: ${arch}, 64-bit: ${bits64}, little-endian: ${require('node:os').endianness() === 'LE'}\n` +
    `sizeof(void *): ${P}, sizeof(size_t): ${P}\n` +
    'bytes: 0 0 42 42 42 42 42 255\n' +
    'u8[2] + u8[7]: 297\n' +
    'freed\n',
  'c-sqlite.js':
    'create: ok\n' +
    'inserted: 4\n' +
    'row: id=1 name=apple stock=12\n' +
    'row: id=2 name=banana stock=NULL\n' +
    'row: id=3 name=crème brûlée stock=7\n' +
    'row: id=4 name=durian stock=3\n' +
    'select: ok\n' +
    'bad sql: error 1: near "SELEC": syntax error\n' +
    'in stock: 1 apple (5 characters)\n' +
    'in stock: 3 crème brûlée (12 characters)\n' +
    'in stock: 4 durian (6 characters)\n' +
    'step done: true\n' +
    'close: true\n',
  'c-seed.js':
    'Hello world!\n' +
    '128\n' +
    'true\n' +
    '3 4 5 25\n' +
    '12.5\n' +
    'bigint 255\n' +
    'true true\n' +
    'true\n' +
    'true false\n',
}

// libz and libsqlite3 by their POSIX names (zlib1.dll and sqlite3.dll are
// not part of Windows); unsigned long is 64-bit (a bigint) on LP64 only.
const runsOn = {
  'c-zlib.js': (p) => p !== 'win32',
  'c-sqlite.js': (p) => p !== 'win32',
  'c-seed.js': (p) => p !== 'win32' && bits64,
}

test('every examples/c-*.js has an expected output here', (t) => {
  const files = fs.readdirSync(examples).filter((f) => /^c-.*\.js$/.test(f)).sort()
  t.deepEqual(files, Object.keys(expected).sort())
})

for (const [file, want] of Object.entries(expected)) {
  const here = runsOn[file] === undefined || runsOn[file](process.platform)
  const testHere = here ? test : test.skip
  testHere(`examples/${file} prints what C computed`, (t) => {
    const r = run(file)
    t.is(r.stderr, '')
    t.is(r.status, 0)
    if (typeof want === 'string') t.is(r.stdout, want)
    else t.regex(r.stdout, want)
  })
}

const posix = process.platform !== 'win32' ? test : test.skip
posix('c-zlib.js: compressBound is at least the input, the 4000 bytes compress to far fewer', (t) => {
  const m = expected['c-zlib.js'].exec(run('c-zlib.js').stdout)
  t.truthy(m)
  t.true(Number(m[1]) >= 4000)
  t.true(Number(m[2]) > 0 && Number(m[2]) < 100)
})

test('the seed examples are each one small standalone program on ffi/c', (t) => {
  for (const file of Object.keys(expected)) {
    const code = fs.readFileSync(path.join(examples, file), 'utf8')
    t.regex(code, /^const ffi = require\('ffi\/c'\)$/m, file)
    t.notRegex(code, /require\('ffi'\)|require\('ffi\/dlopen'\)/, `${file} uses ffi/c only`)
    t.true(code.split('\n').length < 120, `${file} is short`)
  }
})
