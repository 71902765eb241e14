'use strict'

// Proves that a consumer needs no compiler: packs the main package and this
// host's platform package (with the binary built here), installs both into
// an empty project with plain `npm install` of the tarballs and a PATH that
// holds node and npm only, then runs SPEC's original example there, from
// CommonJS and from ESM. Also checks what the main tarball holds.
//
//   node scripts/test-pack.js        (npm run test:pack; needs a built addon)

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')

let passes = 0
let failures = 0
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'not ok'} - ${what}`)
  if (ok) passes++
  else failures++
}

function hostTriple() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

// npm's own script, run with this node: the consumer's PATH below has no npm.
const npmCli =
  process.env.npm_execpath && /\.c?js$/.test(process.env.npm_execpath)
    ? process.env.npm_execpath
    : fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())

function npm(args, opts = {}) {
  return execFileSync(process.execPath, [npmCli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
}

const triple = hostTriple()
const binary = path.join(root, `ffi.${triple}.node`)
if (!fs.existsSync(binary)) {
  console.error(`no ${path.basename(binary)}: build the addon first (npm run build)`)
  process.exit(1)
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ffi-pack-'))

// What the main tarball holds: what a user needs, nothing else.
const listing = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root }))[0]
const files = listing.files.map((f) => f.path).sort()
console.log(`# main package: ${files.join(' ')}`)
for (const need of ['index.js', 'index.mjs', 'index.d.ts', 'dlopen.js', 'dlopen.mjs', 'buffer.js', 'native.js', 'binding.js', 'package.json', 'README.md']) {
  check(files.includes(need), `the main tarball holds ${need}`)
}
check(!files.some((f) => /^(src|target|__test__|npm|benchmark|scripts|examples|\.ci)\//.test(f)), 'no sources, build output, tests or scripts')
check(!files.some((f) => f.endsWith('.node')), 'no native binary in the main package (it comes per platform)')
check(!files.some((f) => /^(Cargo\.|build\.rs)/.test(f)), 'no Cargo files')

// The tarballs: main, and this platform's package with the binary in it.
const mainTgz = path.join(work, npm(['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root }).trim().split('\n').pop())
const platDir = path.join(work, `ffi-${triple}`)
fs.cpSync(path.join(root, 'npm', triple), platDir, { recursive: true })
fs.copyFileSync(binary, path.join(platDir, path.basename(binary)))
const platTgz = path.join(work, npm(['pack', '--pack-destination', work], { cwd: platDir }).trim().split('\n').pop())
check(fs.existsSync(mainTgz) && fs.existsSync(platTgz), `packed ${path.basename(mainTgz)} and ${path.basename(platTgz)}`)

// A consumer with node and npm on PATH and nothing else: no cc, no cargo.
const consumer = path.join(work, 'consumer')
fs.mkdirSync(consumer)
fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }))
const bin = path.join(work, 'bin')
fs.mkdirSync(bin)
fs.symlinkSync(process.execPath, path.join(bin, 'node'))
const env = { ...process.env, PATH: bin, CC: '/nonexistent/cc', CARGO: '/nonexistent/cargo' }
for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k]
npm(['install', '--no-audit', '--no-fund', mainTgz, platTgz], { cwd: consumer, env })
const installed = path.join(consumer, 'node_modules')
check(fs.existsSync(path.join(installed, 'ffi', 'index.js')), 'ffi installed from its tarball')
check(fs.existsSync(path.join(installed, `ffi-${triple}`, path.basename(binary))), `ffi-${triple} installed with its binary`)
check(!fs.readdirSync(path.join(installed, 'ffi')).some((f) => f.endsWith('.node')), 'nothing was built into ffi')

const example = fs.readFileSync(path.join(root, 'examples', 'original.js'), 'utf8')
fs.writeFileSync(path.join(consumer, 'example.js'), example)
const out = execFileSync(process.execPath, ['example.js'], { cwd: consumer, env, encoding: 'utf8' })
check(out === 'abs(-5): 5\n', `SPEC's example runs in the consumer: ${JSON.stringify(out)}`)

fs.writeFileSync(
  path.join(consumer, 'example.mjs'),
  `import ffi, { CIF, types } from 'ffi'
import dl from 'ffi/dlopen'
const abs = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'abs'), 0)
const arg = Buffer.alloc(4); arg.writeInt32LE(-12)
const aValues = Buffer.alloc(ffi.sizeof.pointer); ffi.writePointer(aValues, 0, arg)
const rValue = Buffer.alloc(8)
ffi.call(CIF(types.int, types.int), abs, rValue, aValues)
console.log(rValue.readInt32LE(0))
`,
)
const esm = execFileSync(process.execPath, ['example.mjs'], { cwd: consumer, env, encoding: 'utf8' })
check(esm === '12\n', `the ESM entry works in the consumer: ${JSON.stringify(esm)}`)

// Without the platform package, the error names the platform and what was tried.
fs.rmSync(path.join(installed, `ffi-${triple}`), { recursive: true })
let message = ''
try {
  execFileSync(process.execPath, ['-e', "require('ffi')"], { cwd: consumer, env, encoding: 'utf8', stdio: 'pipe' })
} catch (e) {
  message = e.stderr
}
check(message.includes(`ffi-${triple}`) && message.includes('ERR_FFI_NO_BINARY'), 'a missing binary is a clear error naming the platform')

fs.rmSync(work, { recursive: true, force: true })
console.log(`\npack: ${passes} passed, ${failures} failed`)
process.exit(failures ? 1 : 0)
