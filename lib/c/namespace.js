'use strict'

// Namespaces: `ffi.C` (the process's own symbols) and `load(name[, global])`
// (a library), whose declared names become plain properties on first use.
//
// A namespace is an ordinary object whose prototype is a Proxy. A name that
// is already an own property (every name used once) never reaches the
// Proxy; the first use of a name does, and the Proxy looks the declaration
// up, resolves the symbol, defines the property and returns it, or throws
// ERR_FFI_UNDECLARED. So the lookup on the call path is a plain property
// read, and the Proxy is consulted only for names not seen before.

const fs = require('node:fs')
const path = require('node:path')
const ffi = require('../../index.js')
const dl = require('../../dlopen.js')
const T = require('./types.js')
const D = require('./cdata.js')
const { error } = require('./errors.js')
const { declaredFunction } = require('./call.js')

const I = D.internals
const WINDOWS = process.platform === 'win32'
const DARWIN = process.platform === 'darwin'

let scope // the declarations (set by init)

const INSPECT = Symbol.for('nodejs.util.inspect.custom')

/** Names that tools probe on any object; a namespace answers undefined for them. */
const PROBES = new Set(['then', 'constructor', 'toJSON', 'asymmetricMatch', 'nodeType', '$$typeof', 'inspect', 'toString', 'valueOf'])

/** A namespace over the loader's handle `handle`, named `label` in messages. */
function namespace(handle, label) {
  // An instance of a constructor whose prototype is the Proxy: an object in
  // V8's fast mode (an Object.create(null) one would be a dictionary).
  function Namespace() {}
  const ns = new Namespace()
  const resolveName = (name) => {
    const f = scope.lookup('functions', name)
    if (f !== undefined) {
      const fn = declaredFunction(name, f.type, symbol(handle, label, f.asm || name), ns)
      Object.defineProperty(ns, name, { value: fn, enumerable: true, writable: false, configurable: false })
      return true
    }
    const v = scope.lookup('variables', name)
    if (v !== undefined) {
      defineVariable(ns, name, v.type, symbol(handle, label, v.asm || name))
      return true
    }
    const c = scope.lookup('constants', name)
    if (c !== undefined) {
      const t = c.type.base
      const value = t.kind !== 'float' && t.size === 8 ? c.big : c.value
      Object.defineProperty(ns, name, { value, enumerable: true, writable: false, configurable: false })
      return true
    }
    return false
  }
  // util.inspect and console.log show the names used so far.
  const inspect = () => `[${label}: ${Object.keys(ns).join(', ') || 'nothing used yet'}]`
  const missing = (name) => error('ERR_FFI_UNDECLARED', `${label}: missing declaration for symbol '${name}' (declare it with ffi.cdef)`)
  const proto = new Proxy(Object.create(null), {
    get(target, key, receiver) {
      if (typeof key === 'symbol') {
        if (key === Symbol.toStringTag) return label
        if (key === INSPECT) return inspect
        return undefined
      }
      if (receiver === ns && resolveName(key)) return ns[key]
      if (PROBES.has(key)) return undefined
      throw missing(key)
    },
    set(target, key, value, receiver) {
      if (typeof key === 'symbol' || receiver !== ns) throw error('ERR_INVALID_ARG_VALUE', `${label}: cannot add properties to a namespace`)
      if (!resolveName(key)) throw missing(key)
      ns[key] = value
      return true
    },
    has(target, key) {
      if (typeof key === 'symbol') return false
      return scope.lookup('functions', key) !== undefined || scope.lookup('variables', key) !== undefined || scope.lookup('constants', key) !== undefined
    },
  })
  Namespace.prototype = proto
  Object.setPrototypeOf(ns, proto)
  return ns
}

/** The address of `name` in `handle` as a pointer Buffer; ERR_FFI_DLSYM names the namespace. */
function symbol(handle, label, name) {
  let b
  try {
    b = dl.dlsym(handle, name)
  } catch (e) {
    const m = e && typeof e.message === 'string' ? e.message.replace(/^dlsym\([^)]*\): /, '') : String(e)
    throw error('ERR_FFI_DLSYM', `${label}: '${name}' is declared, but the library has no such symbol (${m})`)
  }
  return ffi.readPointer(b, 0)
}

/** A declared variable: read and written through its address. */
function defineVariable(ns, name, t, ptr) {
  const where = `${name}`
  const b = t.base
  if (b.kind === 'function' || b.size === undefined) throw error('ERR_FFI_UNKNOWN_TYPE', `${name}: variable of incomplete type ${T.spell(t)}`)
  const a = I.normAddress(ffi.addressBigInt(ptr))
  let mem
  const at = () => mem || (mem = I.mapAddress(a, b.size > 0 ? b.size : 1, name))
  const c = I.codec(t)
  Object.defineProperty(ns, name, {
    get() {
      const [dv, o] = at()
      return c.read(dv, o)
    },
    set(v) {
      const [dv, o] = at()
      c.write(dv, o, v, where)
    },
    enumerable: true,
    configurable: false,
  })
}

// ---- finding a library ----

/** LuaJIT's name rules: a path as given; otherwise the suffix and (POSIX) the lib prefix. */
function fileName(name) {
  if (name.includes('/') || (WINDOWS && name.includes('\\'))) return name
  if (WINDOWS) return name.includes('.') ? name : `${name}.dll`
  let n = name.includes('.') ? name : `${name}${DARWIN ? '.dylib' : '.so'}`
  if (!n.startsWith('lib')) n = `lib${n}`
  return n
}

const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ia32: 'i386-linux-gnu', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu', riscv64: 'riscv64-linux-gnu' }

/** The directories the loader searches (LD_LIBRARY_PATH, ld.so.conf, the defaults), existing ones. */
function searchDirs() {
  const dirs = []
  const add = (d) => {
    if (d && !dirs.includes(d)) dirs.push(d)
  }
  for (const d of (process.env.LD_LIBRARY_PATH || '').split(':')) add(d)
  const conf = (file, depth) => {
    let text
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      return
    }
    for (let line of text.split('\n')) {
      line = line.replace(/#.*/, '').trim()
      if (!line) continue
      const inc = /^include\s+(.+)$/.exec(line)
      if (inc) {
        if (depth > 4) continue
        const pat = inc[1].trim()
        const dir = path.dirname(pat)
        const base = path.basename(pat)
        const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
        let entries = []
        try {
          entries = fs.readdirSync(dir).filter((e) => re.test(e)).sort()
        } catch {
          // a directory that is not there includes nothing
        }
        for (const e of entries) conf(path.join(dir, e), depth + 1)
      } else if (line.startsWith('/')) add(line)
    }
  }
  conf('/etc/ld.so.conf', 0)
  const triple = MULTIARCH[process.arch]
  for (const root of ['/lib', '/usr/lib', '/usr/local/lib']) {
    if (triple) add(`${root}/${triple}`)
    add(root)
  }
  add('/lib64')
  add('/usr/lib64')
  return dirs.filter((d) => {
    try {
      return fs.statSync(d).isDirectory()
    } catch {
      return false
    }
  })
}

/**
 * Versioned files for `file` in the loader's directories (libz.so ->
 * /usr/lib/.../libz.so.1, then libz.so.1.2.13), as paths: the soname first.
 */
function versioned(file, dirs = searchDirs()) {
  const found = []
  for (const d of dirs) {
    let entries
    try {
      entries = fs.readdirSync(d)
    } catch {
      continue
    }
    for (const e of entries) {
      if (e.startsWith(`${file}.`) && /^(\.\d+)+$/.test(e.slice(file.length))) found.push(path.join(d, e))
    }
  }
  // fewest version parts first (the soname), then the highest
  const parts = (e) => path.basename(e).slice(file.length + 1).split('.').map(Number)
  found.sort((a, b) => {
    const pa = parts(a)
    const pb = parts(b)
    if (pa.length !== pb.length) return pa.length - pb.length
    for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pb[i] - pa[i]
    return 0
  })
  return [...new Set(found)]
}

/** Where the loader would find `file` (a path as given), for reading a linker script. */
function locate(file, dirs) {
  if (file.includes('/')) return file
  for (const d of dirs) {
    const p = path.join(d, file)
    if (fs.existsSync(p)) return p
  }
  return undefined
}

/** The library a GNU linker script (`GROUP ( /lib/.../libc.so.6 ... )`) names, or undefined. */
function linkerScriptTarget(file, dirs = searchDirs()) {
  const p = locate(file, dirs)
  if (p === undefined) return undefined
  let text
  try {
    const fd = fs.openSync(p, 'r')
    const buf = Buffer.alloc(4096)
    const n = fs.readSync(fd, buf, 0, buf.length, 0)
    fs.closeSync(fd)
    text = buf.subarray(0, n).toString('latin1')
  } catch {
    return undefined
  }
  if (text.startsWith('\x7fELF')) return undefined
  text = text.replace(/\/\*[\s\S]*?\*\//g, ' ')
  const m = /\b(?:GROUP|INPUT)\s*\(([^)]*)/.exec(text)
  if (!m) return undefined
  for (const w of m[1].split(/[\s,]+/)) {
    if (!w || w === 'AS_NEEDED' || w === '(') continue
    if (w.startsWith('-l')) return `lib${w.slice(2)}.so`
    return w
  }
  return undefined
}

/** Opens a library by LuaJIT's rules and beyond (versioned names, linker scripts); ERR_FFI_DLOPEN lists what was tried. */
function openLibrary(name, global) {
  const flags = dl.RTLD_LAZY | (global ? dl.RTLD_GLOBAL : dl.RTLD_LOCAL || 0)
  const tried = []
  const attempt = (file) => {
    try {
      return dl.dlopen(file, flags)
    } catch (e) {
      tried.push(`${file} (${String(e && e.message).replace(/^dlopen\([^)]*\): /, '')})`)
      return undefined
    }
  }
  const file = fileName(name)
  let h = attempt(file)
  if (h === undefined && !WINDOWS && !DARWIN) {
    const dirs = searchDirs()
    const script = linkerScriptTarget(file, dirs)
    if (script !== undefined) h = attempt(script)
    if (h === undefined && !file.includes('/')) {
      for (const v of versioned(file, dirs)) {
        h = attempt(v)
        if (h !== undefined) break
      }
    }
  }
  if (h === undefined) {
    throw error('ERR_FFI_DLOPEN', `load('${name}'): cannot open the library; tried ${tried.join('; ')}`)
  }
  return h
}

/** `load(name[, global])`: a namespace over a library. */
function load(name, global = false) {
  if (typeof name !== 'string' || name === '') throw error('ERR_INVALID_ARG_TYPE', `load: expected a library name or path (a non-empty string), got ${I.kindOf(name)}`)
  const h = openLibrary(name, !!global)
  return namespace(h, `library '${name}'`)
}

let C
/** `ffi.C`: the process's own symbols, made on first use. */
function processNamespace() {
  if (C === undefined) C = namespace(dl.dlopen(null), 'ffi.C')
  return C
}

function init(ctx) {
  scope = ctx.scope
}

module.exports = { init, load, processNamespace, fileName, versioned, linkerScriptTarget }
