'use strict'

// Every file in examples/ runs in a child node and prints what C computed;
// the README shows each of them (but the demo) verbatim. The ffi/c seed
// programs, examples/c-*.js, are c-examples.spec.js's.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const examples = path.join(root, 'examples')

function run(file, env = {}) {
  const r = spawnSync(process.execPath, [path.join(examples, file)], {
    encoding: 'utf8',
    timeout: 30000,
    env: { ...process.env, ...env },
  })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

const expected = {
  'original.js': 'abs(-5): 5\n',
  'abs.js': 'abs(-5) = 5\nabs(42) = 42\nabs(-2147483647) = 2147483647\n',
  'strings.js': 'strlen: 14 bytes\nstrdup: héllo, wörld\nafter ffi.write: Héllo, wörld\n',
  'zlib.js': /^compress2: 0 \(Z_OK\), 880 bytes -> (\d+)\nuncompress: 0 \(Z_OK\), \1 bytes -> 880\nround trip intact: true\n$/,
  'structs.js':
    'div(17, 5) = { quot: 3, rem: 2 }\n' +
    'localtime_r returned tm: true\n' +
    '2023-11-14 22:13:20 UTC (tm_wday 2, tm_yday 317, tm_gmtoff 0)\n',
  'qsort.js': '-100 -7 0 3 3 19 42\n',
  'printf.js': '12 apples cost 3.50 euros\n',
  'async.js':
    'usleep: JavaScript runs while C sleeps\n' +
    'usleep: returned 0\n' +
    'access: returned -1, errno ENOENT\n' +
    'access (callback): returned -1, errno the same\n',
}

// localtime_r reads the time zone from TZ.
const envOf = { 'structs.js': { TZ: 'UTC' } }

// What an example needs beyond the C library: libz.so.1 (Linux), POSIX
// functions (localtime_r, usleep, access).
const runsOn = {
  'zlib.js': (p) => p === 'linux',
  'structs.js': (p) => p !== 'win32',
  'async.js': (p) => p !== 'win32',
}

test('every example has an expected output here', (t) => {
  const files = fs.readdirSync(examples).filter((f) => f.endsWith('.js') && !f.startsWith('c-')).sort()
  t.deepEqual(files, Object.keys(expected).sort())
})

for (const [file, want] of Object.entries(expected)) {
  const here = runsOn[file] === undefined || runsOn[file](process.platform)
  const testHere = here ? test : test.skip
  testHere(`examples/${file} prints what C computed`, (t) => {
    const r = run(file, envOf[file])
    t.is(r.stderr, '')
    t.is(r.status, 0)
    if (typeof want === 'string') t.is(r.stdout, want)
    else t.regex(r.stdout, want)
  })
}

const onLinux = process.platform === 'linux' ? test : test.skip
onLinux('zlib.js compresses the repeated text to far fewer bytes', (t) => {
  const m = /-> (\d+)\n/.exec(run('zlib.js').stdout)
  t.truthy(m)
  t.true(Number(m[1]) > 0 && Number(m[1]) < 200)
})

test('the README shows every example but the demo verbatim', (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  for (const file of Object.keys(expected)) {
    if (file === 'original.js') continue
    const code = fs.readFileSync(path.join(examples, file), 'utf8')
    t.true(readme.includes('```js\n' + code + '```\n'), `README.md shows examples/${file} as it is`)
  }
})
