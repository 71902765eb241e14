'use strict'

// Proves that a consumer needs no compiler and that both install lines of
// the README work: packs the main package (with the optionalDependencies
// `napi pre-publish` writes into the published manifest) and every platform
// package (this host's with the binary built here), serves them from a
// throwaway local registry, and installs from it into empty projects with a
// PATH that holds node only:
//
//   npm install libffi-raw            -> require('libffi-raw')
//   npm install ffi@npm:libffi-raw    -> require('ffi'): SPEC's original example as written
//
// npm picks this host's platform package through optionalDependencies, as
// it will from npmjs.org. Also checks what the main tarball holds.
//
//   node scripts/test-pack.js        (npm run test:pack; needs a built addon)

const { execFileSync, execFile } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const name = pkg.name

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

// Asynchronous, so that the registry in this process can answer meanwhile.
function npmAsync(args, opts) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [npmCli, ...args], { encoding: 'utf8', ...opts }, (error, stdout, stderr) =>
      error ? reject(Object.assign(error, { stdout, stderr })) : resolve(stdout),
    )
  })
}

const triple = hostTriple()
const binaryFile = `${pkg.napi.binaryName}.${triple}.node`
const binary = path.join(root, binaryFile)
if (!fs.existsSync(binary)) {
  console.error(`no ${binaryFile}: build the addon first (npm run build)`)
  process.exit(1)
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-pack-`))

// What the main tarball holds: what a user needs, nothing else.
const listing = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root }))[0]
const files = listing.files.map((f) => f.path).sort()
console.log(`# main package: ${files.join(' ')}`)
for (const need of ['index.js', 'index.mjs', 'index.d.ts', 'dlopen.js', 'dlopen.mjs', 'buffer.js', 'binding.js', 'package.json', 'README.md', 'LICENSE']) {
  check(files.includes(need), `the main tarball holds ${need}`)
}
// The entry points above are thin: the module is in lib/, all of it needed
// (lib/c/ is the declarations layer, ffi/c).
const libFiles = fs
  .readdirSync(path.join(root, 'lib'), { recursive: true })
  .map((f) => path.posix.join('lib', f.split(path.sep).join('/')))
  .filter((f) => /\.(c?js|mjs|d\.ts)$/.test(f))
for (const need of libFiles) check(files.includes(need), `the main tarball holds ${need}`)
check(files.includes('lib/c/index.js'), 'the main tarball holds ffi/c')
// Nothing imports the generated binding.d.ts: index.d.ts is written by hand.
check(!files.includes('binding.d.ts'), 'the generated binding.d.ts is not shipped')
check(!files.some((f) => /^(src|target|__test__|npm|benchmark|scripts|examples|\.ci)\//.test(f)), 'no sources, build output, tests or scripts')
check(!files.some((f) => f.endsWith('.node')), 'no native binary in the main package (it comes per platform)')
check(!files.some((f) => /^(Cargo\.|build\.rs)/.test(f)), 'no Cargo files')

// The main package as published: these files, and the manifest with the
// optionalDependencies that `napi pre-publish` adds, <name>-<triple> for
// every npm/<triple> (pre-publish requires that directory per target).
const triples = fs.readdirSync(path.join(root, 'npm')).sort()
check(triples.includes(triple), `npm/${triple} exists for this host`)
const mainDir = path.join(work, 'main')
for (const f of files) fs.cpSync(path.join(root, f), path.join(mainDir, f))
const published = { ...pkg, optionalDependencies: Object.fromEntries(triples.map((t) => [`${name}-${t}`, pkg.version])) }
fs.writeFileSync(path.join(mainDir, 'package.json'), JSON.stringify(published, null, 2) + '\n')

function pack(dir) {
  const file = npm(['pack', '--ignore-scripts', '--pack-destination', work], { cwd: dir }).trim().split('\n').pop()
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  return { manifest, file: path.join(work, file) }
}
const tarballs = [pack(mainDir)]
for (const t of triples) {
  const dir = path.join(work, 'platform', t)
  fs.cpSync(path.join(root, 'npm', t), dir, { recursive: true })
  if (t === triple) fs.copyFileSync(binary, path.join(dir, binaryFile))
  tarballs.push(pack(dir))
}
check(
  tarballs.every((t) => fs.existsSync(t.file)),
  `packed ${tarballs.length} tarballs: ${name} and ${tarballs.length - 1} platform packages`,
)
check(
  tarballs.slice(1).every((t, i) => t.manifest.name === `${name}-${triples[i]}`),
  `the platform packages are ${name}-<triple>`,
)

// A registry of these tarballs only: a packument per name, the tarballs.
function serve() {
  const byName = new Map(tarballs.map((t) => [t.manifest.name, t]))
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0])
    const tgz = url.match(/^\/-\/(.+\.tgz)$/)
    if (tgz) {
      const t = tarballs.find((x) => path.basename(x.file) === tgz[1])
      if (t) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        return res.end(fs.readFileSync(t.file))
      }
    }
    const t = byName.get(url.slice(1))
    if (!t) {
      res.writeHead(404, { 'content-type': 'application/json' })
      return res.end('{"error":"not found"}')
    }
    const data = fs.readFileSync(t.file)
    const { manifest } = t
    const version = {
      ...manifest,
      _id: `${manifest.name}@${manifest.version}`,
      dist: {
        tarball: `http://127.0.0.1:${server.address().port}/-/${path.basename(t.file)}`,
        integrity: `sha512-${crypto.createHash('sha512').update(data).digest('base64')}`,
        shasum: crypto.createHash('sha1').update(data).digest('hex'),
      },
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ name: manifest.name, 'dist-tags': { latest: manifest.version }, versions: { [manifest.version]: version } }))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

// A consumer with node on PATH and nothing else: no npm, no cc, no cargo.
const bin = path.join(work, 'bin')
fs.mkdirSync(bin)
fs.symlinkSync(process.execPath, path.join(bin, 'node'))
const env = { ...process.env, PATH: bin, CC: '/nonexistent/cc', CARGO: '/nonexistent/cargo' }
for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k]

async function consumer(dirName, spec, registry) {
  const dir = path.join(work, dirName)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: dirName, version: '1.0.0', private: true }))
  const args = ['install', '--no-audit', '--no-fund', '--registry', registry, '--cache', path.join(work, 'npm-cache'), spec]
  await npmAsync(args, { cwd: dir, env })
  return dir
}

function run(dir, file, source) {
  fs.writeFileSync(path.join(dir, file), source)
  return execFileSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8' })
}

function requireError(dir, id) {
  try {
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(id)})`], { cwd: dir, env, encoding: 'utf8', stdio: 'pipe' })
    return ''
  } catch (e) {
    return e.stderr
  }
}

const example = fs.readFileSync(path.join(root, 'examples', 'original.js'), 'utf8')
const esmExample = (id) => `import ffi, { CIF, types } from '${id}'
import dl from '${id}/dlopen'
const abs = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'abs'), 0)
const arg = Buffer.alloc(4); arg.writeInt32LE(-12)
const aValues = Buffer.alloc(ffi.sizeof.pointer); ffi.writePointer(aValues, 0, arg)
const rValue = Buffer.alloc(8)
ffi.call(CIF(types.int, types.int), abs, rValue, aValues)
console.log(rValue.readInt32LE(0))
`

function checkInstalled(dir, as) {
  const modules = path.join(dir, 'node_modules')
  const installed = JSON.parse(fs.readFileSync(path.join(modules, as, 'package.json'), 'utf8'))
  check(installed.name === name && installed.version === pkg.version, `node_modules/${as} is ${name}@${pkg.version}`)
  check(fs.existsSync(path.join(modules, `${name}-${triple}`, binaryFile)), `optionalDependencies brought ${name}-${triple} with its binary`)
  const others = fs.readdirSync(modules).filter((d) => d.startsWith(`${name}-`) && d !== `${name}-${triple}`)
  check(others.length === 0, `no other platform package installed${others.length ? `: ${others.join(' ')}` : ''}`)
  check(!fs.readdirSync(path.join(modules, as)).some((f) => f.endsWith('.node')), `nothing was built into ${as}`)
}

async function main() {
  const server = await serve()
  const registry = `http://127.0.0.1:${server.address().port}/`
  try {
    // npm install libffi-raw: the package under its own name.
    const plain = await consumer('plain', name, registry)
    checkInstalled(plain, name)
    const renamed = example.replace(/require\('ffi(\/[a-z]+)?'\)/g, (_, sub) => `require('${name}${sub || ''}')`)
    check(renamed !== example && !/require\('ffi/.test(renamed), `SPEC's example, with require('${name}'), ...`)
    const out = run(plain, 'example.js', renamed)
    check(out === 'abs(-5): 5\n', `... runs after npm install ${name}: ${JSON.stringify(out)}`)
    const esm = run(plain, 'example.mjs', esmExample(name))
    check(esm === '12\n', `import from '${name}' works: ${JSON.stringify(esm)}`)
    check(requireError(plain, 'ffi').includes("Cannot find module 'ffi'"), "a plain install gives no require('ffi')")

    // npm install ffi@npm:libffi-raw: require('ffi') and SPEC's example as written.
    const alias = await consumer('alias', `ffi@npm:${name}`, registry)
    const deps = JSON.parse(fs.readFileSync(path.join(alias, 'package.json'), 'utf8')).dependencies
    check(deps && deps.ffi === `npm:${name}@^${pkg.version}`, `package.json records "ffi": ${JSON.stringify(deps && deps.ffi)}`)
    checkInstalled(alias, 'ffi')
    const aliasOut = run(alias, 'example.js', example)
    check(aliasOut === 'abs(-5): 5\n', `SPEC's example as written runs after npm install ffi@npm:${name}: ${JSON.stringify(aliasOut)}`)
    const aliasEsm = run(alias, 'example.mjs', esmExample('ffi'))
    check(aliasEsm === '12\n', `import from 'ffi' works through the alias: ${JSON.stringify(aliasEsm)}`)

    // Without the platform package, the error names the platform and what was tried.
    fs.rmSync(path.join(plain, 'node_modules', `${name}-${triple}`), { recursive: true })
    const message = requireError(plain, name)
    check(message.includes(`${name}-${triple}`) && message.includes('ERR_FFI_NO_BINARY'), 'a missing binary is a clear error naming the platform package')
  } finally {
    server.close()
  }
}

main()
  .catch((e) => {
    console.error(e.stderr || e)
    failures++
  })
  .finally(() => {
    fs.rmSync(work, { recursive: true, force: true })
    console.log(`\npack: ${passes} passed, ${failures} failed`)
    process.exit(failures ? 1 : 0)
  })
