'use strict'

// Property-based fuzzing of every input the module checks: random and
// malformed values at CIF, CIFVar, StructType, offsetsof, call, callAsync,
// the pointer helpers, dlopen/dlsym/dlclose/dlerror and Closure. Each case
// must end in a result or an error with one of the module's codes; a crash
// ends the run. FUZZ_RUNS sets the cases per property (npm run fuzz: many).
//
// What is the caller's word by contract (see README, "What is not checked")
// is generated valid or NULL: the memory behind an arbitrary address, the
// element pointers of a hand-built ffi_type, the argument pointers in
// aValues.

const test = require('ava')
const fc = require('fast-check')
const { ffi, sym } = require('./helpers/c')
const dl = require('ffi/dlopen')

const runs = Number(process.env.FUZZ_RUNS || 150)
const P = ffi.sizeof.pointer

const codes = new Set([
  'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_FFI_INVALID_CIF',
  'ERR_FFI_NULL_POINTER', 'ERR_FFI_BUFFER_TOO_SMALL', 'ERR_FFI_DETACHED', 'FFI_BAD_TYPEDEF',
  'FFI_BAD_ABI', 'FFI_BAD_ARGTYPE', 'ERR_FFI_DLOPEN', 'ERR_FFI_DLSYM', 'ERR_FFI_CLOSED_HANDLE',
  'ERR_FFI_INVALID_HANDLE', 'ERR_FFI_NO_EXTERNAL_BUFFERS',
])

/** Runs f; a thrown error must be one of ours. Returns [ok, result]. */
function attempt(f) {
  try {
    return [true, f()]
  } catch (e) {
    if (!(e instanceof Error) || !codes.has(e.code)) {
      throw new Error(`not a typed error: ${e && e.constructor && e.constructor.name}: ${e && e.message} (code ${e && e.code})`)
    }
    return [false, e]
  }
}

function detached(n) {
  const b = Buffer.alloc(n)
  structuredClone(b.buffer, { transfer: [b.buffer] })
  return b
}

// A hand-built ffi_type header with random size, alignment and type code,
// and a NULL element array (what follows a pointer is the caller's word).
const handType = fc.record({ size: fc.nat(64), align: fc.nat(16), code: fc.nat(20) }).map(({ size, align, code }) => {
  const t = Buffer.alloc(ffi.sizeof.ffi_type)
  t.writeBigUInt64LE(BigInt(size), 0)
  t.writeUInt16LE(align, P)
  t.writeUInt16LE(code, P + 2)
  return t
})

const hostile = fc.oneof(
  fc.anything(),
  fc.constantFrom(undefined, null, NaN, Infinity, -Infinity, -1, -0, 0.5, 2 ** 31, 2 ** 53, 2 ** 64, -(2 ** 63)),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.nat(48).map((n) => Buffer.alloc(n)),
  fc.nat(48).map((n) => new Uint8Array(n)),
  fc.nat(16).map((n) => new Float64Array(n)),
  fc.nat(48).map((n) => new DataView(new ArrayBuffer(n))),
  fc.nat(16).map(detached),
  fc.constantFrom(...Object.values(ffi.types), ffi.NULL),
  handType,
  fc.string(),
)

const typeArb = fc.oneof(fc.constantFrom(...Object.values(ffi.types)), handType, hostile)

function property(t, arbs, body) {
  fc.assert(fc.property(...arbs, body), { numRuns: runs })
  t.pass()
}

test('CIF and CIFVar with random abis, counts and types', (t) => {
  property(t, [fc.array(fc.oneof(typeArb, fc.integer({ min: -5, max: 10 })), { maxLength: 8 })], (args) => {
    const [ok, cif] = attempt(() => ffi.CIF(...args))
    if (ok) t.is(cif.length, ffi.sizeof.ffi_cif)
    attempt(() => ffi.CIFVar(...args))
  })
})

test('StructType and offsetsof with random fields', (t) => {
  property(t, [fc.array(typeArb, { maxLength: 6 }), hostile], (fields, other) => {
    const [ok, st] = attempt(() => ffi.StructType(...fields))
    if (ok) {
      const [okOffsets, offsets] = attempt(() => ffi.offsetsof(st))
      t.true(okOffsets)
      t.is(offsets.length, fields.length)
    }
    attempt(() => ffi.offsetsof(other))
  })
})

const abs = sym('id_int32')
const goodCif = ffi.CIF(ffi.types.int, ffi.types.int)
function goodAValues() {
  const a = Buffer.alloc(P)
  ffi.writePointer(a, 0, Buffer.alloc(4))
  return a
}
const cifArb = fc.oneof(fc.constant(goodCif), fc.constant(Buffer.from(goodCif)), hostile)
// A non-NULL fn must be a function: that is the caller's word, as in C.
const fnArb = fc.oneof(fc.constant(abs), fc.constant(ffi.NULL), hostile.filter((v) => !ArrayBuffer.isView(v) || ffi.isNull(v)))
const avaluesArb = fc.oneof(fc.constant(null).map(goodAValues), fc.nat(24).map((n) => Buffer.alloc(n)), hostile.filter((v) => !ArrayBuffer.isView(v) || v.byteLength < P))

test('call with random cif, fn, rValue and aValues', (t) => {
  property(t, [cifArb, fnArb, hostile, avaluesArb], (cif, fn, rValue, aValues) => {
    attempt(() => ffi.call(cif, fn, rValue, aValues))
    // And again: the second call takes the fast path when the first passed.
    attempt(() => ffi.call(cif, fn, rValue, aValues))
  })
})

test('callAsync with random input rejects or throws typed errors', async (t) => {
  await fc.assert(
    fc.asyncProperty(cifArb, fnArb, hostile, avaluesArb, async (cif, fn, rValue, aValues) => {
      try {
        await ffi.callAsync(cif, fn, rValue, aValues)
      } catch (e) {
        if (!(e instanceof Error) || !codes.has(e.code)) throw new Error(`not a typed error: ${e && e.message}`)
      }
    }),
    { numRuns: Math.max(20, runs >> 2) },
  )
  t.pass()
})

test('pointer helpers with random buffers, offsets, lengths and addresses', (t) => {
  property(t, [hostile, hostile, hostile, hostile], (a, b, c, d) => {
    attempt(() => ffi.readPointer(a, b, c))
    attempt(() => ffi.writePointer(Buffer.alloc(16), b, d))
    attempt(() => (ArrayBuffer.isView(a) && a.byteLength > 0 ? ffi.writePointer(a, b, ffi.NULL) : undefined))
    attempt(() => ffi.fromAddress(b, c))
    attempt(() => ffi.address(a))
    attempt(() => ffi.addressBigInt(a))
    attempt(() => ffi.isNull(a))
    attempt(() => ffi.allocCString(a))
    // Bounded reads only: a Buffer with a length, never foreign memory.
    if (!ArrayBuffer.isView(a) || a.byteLength > 0) attempt(() => ffi.readCString(a, b))
    // Views are made, never read: what they cover is the caller's word.
    attempt(() => ffi.reinterpret(a, c, d))
  })
})

test('dlopen, dlsym, dlclose and dlerror with random names and handles', (t) => {
  const names = fc.oneof(fc.string(), fc.constantFrom('', 'libm.so.6', '/', '/nonexistent/lib.so', 'lib\0c.so', null), hostile)
  property(t, [names, names, hostile], (name, symbol, handle) => {
    const [ok, lib] = attempt(() => dl.dlopen(name))
    attempt(() => dl.dlsym(handle, symbol))
    attempt(() => dl.dlerror(handle))
    attempt(() => dl.dlclose(handle))
    if (ok) {
      attempt(() => dl.dlsym(lib, symbol))
      t.is(typeof dl.dlerror(lib), 'string')
      attempt(() => dl.dlclose(lib))
      attempt(() => dl.dlclose(lib))
      attempt(() => dl.dlsym(lib, 'abs'))
    }
  })
})

test('Closure and Closure.free with random input; double free', (t) => {
  property(t, [cifArb, fc.oneof(fc.constant(() => {}), hostile), hostile], (cif, fn, other) => {
    const [ok, c] = attempt(() => ffi.Closure(cif, fn))
    if (ok) {
      ffi.Closure.free(c)
      ffi.Closure.free(c)
    }
    attempt(() => ffi.Closure.free(other))
  })
})

// ffi/c: cdef and typeof of random sources built from C's tokens, and of
// random characters: a result or ERR_FFI_CDEF / ERR_FFI_CDEF_REDEFINE /
// ERR_FFI_UNKNOWN_TYPE / ERR_INVALID_ARG_VALUE, never another error.
const cCodes = new Set(['ERR_FFI_CDEF', 'ERR_FFI_CDEF_REDEFINE', 'ERR_FFI_UNKNOWN_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE'])
const cTokens = ['int', 'char', 'unsigned', 'long', 'double', 'void', 'struct', 'union', 'enum', 'typedef', 'const', 'static', '__attribute__((packed))', 'x', 'y', 't', '{', '}', '(', ')', '[', ']', '*', ';', ',', ':', '=', '...', '1', '0x7fffffff', '-', '<<', '?', '#pragma pack(1)\n', '\n', 'sizeof', '$', '"s"']

test('ffi/c: cdef and typeof of random token soups end in a result or a typed error', (t) => {
  const c = require('ffi/c')
  const check = (f) => {
    try {
      f()
    } catch (e) {
      if (!(e instanceof Error) || !cCodes.has(e.code)) throw new Error(`not a typed error: ${e && e.message} (code ${e && e.code})`)
    }
  }
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...cTokens), { maxLength: 60 }), fc.string({ maxLength: 40 }), (toks, junk) => {
      check(() => c.cdef(toks.join(' ')))
      check(() => c.typeof(toks.join(' ')))
      check(() => c.cdef(junk))
      check(() => c.typeof(junk))
    }),
    { numRuns: runs },
  )
  t.pass()
})

// ffi/c C data and declared calls with hostile values: new, cast, field
// and element writes, the memory utilities and calls end in a value or a
// typed error. Only module-owned memory is used: an arbitrary address is
// the caller's word, as in C.
test('ffi/c: new, cast, field writes, memory utilities and calls with hostile values', (t) => {
  const c = require('ffi/c')
  c.cdef(`
    struct fz { int8_t a; uint64_t b; double d; bool f; void *p; char s[8]; struct { int x; } in; unsigned bits : 5; };
    union fzu { int32_t i; float f; };
    int abs(int);
    size_t cl_strlen(const char *s);
    double cl_vsum(const char *fmt, ...);
  `)
  // (libc's strlen takes NULL on the caller's word; the fixture's checks it.)
  const fx = c.load(require('./helpers/fixture').build())
  const dataCodes = new Set([...cCodes, 'ERR_INVALID_ARG_TYPE', 'ERR_FFI_DETACHED', 'ERR_FFI_UNDECLARED', 'ERR_FFI_DLSYM', 'ERR_FFI_NULL_POINTER'])
  const failures = new Set()
  const check = (f) => {
    try {
      f()
    } catch (e) {
      if (!(e instanceof Error) || !dataCodes.has(e.code)) failures.add(`${String(f).slice(6, 60)}: ${e && e.message} (code ${e && e.code})`)
    }
  }
  const detached = () => {
    const b = new Uint8Array(8)
    structuredClone(b.buffer, { transfer: [b.buffer] })
    return b
  }
  // Values that cannot be printed (a detached view, cdata) are made inside
  // the property from a name, so that a failure reports which.
  const made = {
    detached: () => detached(),
    box: () => c.new('int', 3),
    struct: () => c.new('struct fz'),
    proxy: () => new Proxy({}, {}),
    fakeBuffer: () => Object.create(Buffer.prototype),
    symbol: () => Symbol('s'),
    fn: () => () => 1,
  }
  const hostile = fc.oneof(
    fc.constantFrom(undefined, null, NaN, -0, Infinity, -Infinity, '', 'x', 2 ** 64, -(2 ** 63), 1n << 80n, -(1n << 80n), true, [], {}, [1, 2, 3, 4, 5, 6, 7, 8, 9], { a: 1, zz: 2 }),
    // (Counts stay below a million: new('int[?]', 2e9, 7) is legal, and
    // fills eight gigabytes element by element where V8 allows the
    // ArrayBuffer, as Node 26 does. The extremes above stay.)
    fc.integer({ min: -(2 ** 20), max: 2 ** 20 }),
    fc.double({ min: -1e6, max: 1e6 }),
    fc.bigInt({ min: -(2n ** 20n), max: 2n ** 20n }),
    fc.string({ maxLength: 20 }),
    fc.constantFrom(...Object.keys(made)).map((k) => ({ made: k })),
  )
  const real = (v) => (v !== null && typeof v === 'object' && typeof v.made === 'string' ? made[v.made]() : v)
  const types = ['int', 'uint64_t', 'double', 'bool', 'char[4]', 'int[?]', 'struct fz', 'union fzu', 'void *', 'int *', 'char *', 'struct fz *', 'float', 'int (*)(int)']
  const fields = ['a', 'b', 'd', 'f', 'p', 's', 'in', 'bits', 'nope']
  fc.assert(
    fc.property(fc.constantFrom(...types), hostile, hostile, fc.constantFrom(...fields), (ct, v0, w0, field) => {
      const v = real(v0)
      const w = real(w0)
      check(() => c.new(ct, v, w))
      check(() => c.new(ct, v))
      check(() => c.cast(ct, v))
      check(() => {
        const s = c.new('struct fz')
        s[field] = v
      })
      check(() => c.new('struct fz[2]').set(w, v))
      check(() => c.new('bool[2]').set(0, v))
      check(() => c.fill(c.new('char[8]'), v, w))
      check(() => c.copy(c.new('char[8]'), v, w))
      check(() => c.string(c.new('char[8]', 'abc'), v))
      check(() => c.bytes(c.new('char[8]'), v))
      check(() => c.tonumber(v))
      check(() => c.tostring(v))
      check(() => c.sizeof(ct, v))
      check(() => c.C.abs(v))
      check(() => fx.cl_strlen(v))
      check(() => fx.cl_vsum('', v, w))
    }),
    { numRuns: runs },
  )
  t.deepEqual([...failures], [])
})
