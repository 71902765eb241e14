'use strict'

// C data, continued: where the runtime refuses Buffers over foreign memory,
// finalizers that throw, the views that at(i) makes and V8 removes,
// flexible array members and zero lengths, pointers over foreign memory
// (their window across pages, what they keep alive), pointers to a struct
// completed by a later cdef.

const test = require('ava')
const ffi = require('ffi')
const c = require('ffi/c')
const { runChild } = require('./helpers/child')

const PAGE = 4096

c.cdef(`
  struct cm_point { int32_t x, y; };
  struct cm_fam { int32_t n; int32_t data[]; };
  struct cm_vls { int32_t n; double v[?]; };
  struct cm_zero { int32_t n; int32_t none[0]; };
  struct cm_packed { uint8_t pad; double d; } __attribute__((packed));
`)

/** A Node Buffer of `pages` pages, 4-byte integers 0, 1, 2... */
function ramp(pages) {
  const buf = Buffer.alloc(pages * PAGE)
  for (let i = 0; i < buf.length / 4; i++) buf.writeInt32LE(i, i * 4)
  return buf
}

test('where Buffers over foreign memory are refused: C data works in full, foreign memory through copies, views say what to use', (t) => {
  const r = runChild('c-no-external-buffers.js', [], { env: { FFI_TEST_NO_EXTERNAL_BUFFERS: '1' } })
  t.is(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout)
  const { refused, ...rest } = out
  t.deepEqual(rest, {
    mode: 'ERR_FFI_NO_EXTERNAL_BUFFERS',
    struct: [1, 5],
    points: [[1, 2], [3, 4], [9, 10]],
    ints: [1, 2, 3, 4],
    pixelBytes: [0, 0, 0, 0, 0, 128, 0, 255],
    box: '-5',
    fam: [2, 0.5, 1.5],
    ownPointer: [20, 20, 4],
    structPointer: 5,
    structPointerAt: [30, 30],
    foreignBytes: [1, 2, 3, 4],
    copyIn: [1, 2, 3, 4],
    afterCopyString: [104, 105, 0, 4],
    afterCopy: [9, 9, 0, 4],
    afterFill: [7, 7, 0, 4],
    string: 'hey',
    stringLen: 'he',
  })
  const names = { get: 'unsigned char *.get', set: 'unsigned char *.set', field: 'struct nx_point *.x', at: 'struct nx_point *.at' }
  for (const [k, name] of Object.entries(names)) {
    t.is(refused[k].code, 'ERR_FFI_NO_EXTERNAL_BUFFERS', k)
    t.true(refused[k].message.startsWith(`${name}: `), refused[k].message)
    t.regex(refused[k].message, /bytes\(ptr, len\).*string\(ptr.*copy\(dst, src, len\)/, k)
  }
})

test('a gc finalizer that throws reaches uncaughtException, and the other finalizers still run', (t) => {
  const r = runChild('c-gc-throws.js')
  t.is(r.status, 0, r.stderr)
  t.deepEqual(JSON.parse(r.stdout), { seen: [0, 2], errors: ['finalizer 1 threw'] })
})

test('arr.at(i) allocates nothing once optimized, six calls per element or one', (t) => {
  const r = runChild('c-at-allocation.js')
  t.is(r.status, 0, r.stderr)
  const [json, keptSome] = r.stdout.trim().split(' ')
  const counts = JSON.parse(json)
  t.is(keptSome, 'true')
  // The control allocates a view per element: tens of collections.
  t.true(counts.keeping >= 20, `control: ${counts.keeping} collections`)
  t.is(counts.lineByLine, 0)
  t.is(counts.onePerPixel, 0)
})

test('the index check of at, get and set holds once a loop over them is optimized, for every kind of array cdata', (t) => {
  c.cdef('struct cm_line { struct cm_point pts[3]; };')
  const line = c.new('struct cm_line')
  const arrays = [
    ['a VLA from new', c.new('struct cm_point[?]', 10)],
    ['a fixed array from new', c.new('struct cm_point[10]')],
    ['a large fixed array', c.new('struct cm_point[5000]')],
    ['a large VLA', c.new('struct cm_point[?]', 5000)],
    ['a field', line.pts],
  ]
  /** A hot loop: V8 optimizes at/get/set with their index check. */
  function sum(a, rounds) {
    let s = 0
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < a.length; i++) {
        const p = a.at(i)
        p.x = i
        a.set(i, { x: p.x, y: i + 1 })
        s += a.get(i).y - a.at(i).x
      }
    }
    return s
  }
  for (const [what, a] of arrays) {
    const n = a.length
    t.is(sum(a, Math.ceil(50000 / n)), n * Math.ceil(50000 / n), what)
    for (const bad of [n, n + 1, -1, 2 ** 32, 2 ** 32 + 1, -(2 ** 31), Infinity, BigInt(n), -1n]) {
      t.throws(() => a.at(bad), { code: 'ERR_OUT_OF_RANGE' }, `${what}: at(${bad})`)
      t.throws(() => a.get(bad), { code: 'ERR_OUT_OF_RANGE' }, `${what}: get(${bad})`)
      t.throws(() => a.set(bad, { x: 1 }), { code: 'ERR_OUT_OF_RANGE' }, `${what}: set(${bad})`)
    }
    for (const bad of [0.5, n - 0.5, NaN]) t.throws(() => a.at(bad), { code: 'ERR_OUT_OF_RANGE' }, `${what}: at(${bad})`)
    for (const bad of ['0', null, undefined, {}]) t.throws(() => a.at(bad), { code: 'ERR_INVALID_ARG_TYPE' }, `${what}: at(${String(bad)})`)
    // Still optimized or not, the last element and -0 are in range.
    t.is(a.at(n - 1).y, n, what)
    t.is(a.at(-0).y, 1, what)
    t.is(a.at(BigInt(n - 1)).y, n, what)
    // Past the end is never memory: a neighbour's or a slab's.
    t.is(sum(a, 1), n, what)
  }
})

test('positional initializers of an all-scalar struct (generated per type) write what the general path writes', (t) => {
  c.cdef('struct cm_scalars { int8_t a; uint16_t b; int32_t c; int64_t d; float e; double f; bool g; };')
  const values = [0, -1, 1.7, -1.7, 300, 2 ** 31, 2 ** 53, NaN, Infinity, true, false, 5n, -(2n ** 63n), c.new('int', -7), c.new('double', 2.5)]
  let checked = 0
  for (let round = 0; round < 200; round++) {
    for (let k = 0; k < values.length; k++) {
      const row = [0, 1, 2, 3, 4, 5, 6].map((i) => values[(k + i * (round + 1)) % values.length])
      let fast
      let slow
      try {
        fast = c.bytes(c.new('struct cm_scalars', ...row), 40)
      } catch (e) {
        fast = e.code
      }
      try {
        // (an array of them: the general initializer path)
        slow = c.bytes(c.new('struct cm_scalars', row), 40)
      } catch (e) {
        slow = e.code
      }
      t.deepEqual(fast, slow, `values ${row.map(String).join(', ')}`)
      checked++
    }
  }
  t.is(checked, 200 * values.length)
  const s = c.new('struct cm_scalars', -1, undefined, 7)
  t.deepEqual([s.a, s.b, s.c, s.d], [-1, 0, 7, 0n])
  t.throws(() => c.new('struct cm_scalars', 1, 2, 3, 4, 5, 6, 7, 8), { code: 'ERR_INVALID_ARG_VALUE', message: /too many initializers/ })
  t.throws(() => c.new('struct cm_scalars', 1, 'x'), { code: 'ERR_INVALID_ARG_TYPE', message: /struct cm_scalars\.b: cannot convert string/ })
})

test('a flexible array member: new takes the count; through a pointer it is a pointer to its first element', (t) => {
  const f = c.new('struct cm_fam', 3, { n: 3, data: [7, 8, 9] })
  t.true(f.data instanceof Int32Array)
  t.deepEqual([...f.data], [7, 8, 9])
  t.is(c.sizeof(f), 16)
  t.throws(() => c.new('struct cm_fam'), { code: 'ERR_INVALID_ARG_VALUE', message: /element count/ })

  // C's layout, reached through a pointer: the count is C's business.
  const buf = Buffer.alloc(16)
  buf.writeInt32LE(3, 0)
  for (let i = 0; i < 3; i++) buf.writeInt32LE(10 + i, 4 + 4 * i)
  for (const p of [c.cast('struct cm_fam *', buf), c.cast('struct cm_fam *', ffi.addressBigInt(buf))]) {
    const d = p.data
    t.true(c.istype('int32_t *', d))
    t.is(d.address, ffi.addressBigInt(buf) + 4n)
    t.deepEqual([d.get(0), d.get(1), d.get(2)], [10, 11, 12])
    d.set(2, -1)
    t.is(buf.readInt32LE(12), -1)
    buf.writeInt32LE(12, 12)
  }
  const v = c.cast('struct cm_vls *', c.new('uint8_t[24]'))
  t.true(c.istype('double *', v.v))

  // A zero-length member is an array of length 0.
  const z = c.new('struct cm_zero', 5)
  t.is(c.sizeof(z), 4)
  t.is(z.none.length, 0)
})

test('zero lengths: empty arrays, zero-byte copies, zero-length pointer Buffers, NULL', (t) => {
  const e = c.new('int32_t[?]', 0)
  t.is(e.length, 0)
  t.is(c.sizeof(e), 0)
  t.is(c.bytes(e, 0).length, 0)
  t.is(c.string(c.new('char[?]', 0), 0), '')
  t.throws(() => c.bytes(e, 1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => c.copy(e, 'a'), { code: 'ERR_OUT_OF_RANGE' })
  c.copy(e, Buffer.alloc(4), 0)
  c.fill(e, 0)
  const ps = c.new('struct cm_point[?]', 0)
  t.is(ps.length, 0)
  t.deepEqual([...ps], [])
  t.throws(() => ps.at(0), { code: 'ERR_OUT_OF_RANGE' })
  t.false(c.cast('int32_t *', e).isNull())

  // The raw module's zero-length pointer Buffers: an address, no length.
  const text = Buffer.from('hello\0')
  const zp = ffi.fromAddress(ffi.addressBigInt(text))
  t.is(zp.length, 0)
  t.is(c.string(zp), 'hello')
  t.deepEqual([...c.bytes(zp, 3)], [104, 101, 108])
  t.is(c.cast('char *', zp).address, ffi.addressBigInt(text))
  const m = c.new('struct { void *p; }')
  m.p = zp
  t.is(m.p.address, ffi.addressBigInt(text))
  // NULL: every utility says so, whatever the length.
  const nul = ffi.fromAddress(0)
  for (const [what, f] of [
    ['bytes', () => c.bytes(nul, 1)],
    ['bytes', () => c.bytes(nul, 0)],
    ['string', () => c.string(nul, 2)],
    ['copy: dst', () => c.copy(nul, 'a')],
    ['fill', () => c.fill(nul, 1)],
  ]) {
    t.throws(f, { code: 'ERR_INVALID_ARG_VALUE', message: `${what}: NULL pointer` })
  }
  t.is(c.cast('void *', nul), null)
})

test('a pointer over foreign memory reads and writes across pages; add and sub keep going', (t) => {
  const buf = ramp(3)
  const n = buf.length / 4
  const p = c.cast('int32_t *', ffi.addressBigInt(buf)) // an address: foreign memory
  let ok = true
  for (let i = 0; i < n; i++) if (p.get(i) !== i) ok = false
  t.true(ok, 'get(i) over three pages')
  for (let i = n - 1; i >= 0; i -= 7) p.set(i, -i)
  for (let i = n - 1; i >= 0; i -= 7) if (buf.readInt32LE(i * 4) !== -i) ok = false
  t.true(ok, 'set(i) backwards')
  const q = p.add(1500)
  t.is(q.get(-1), 1499)
  t.is(q.add(100).get(0), 1600)
  t.is(q.sub(1000).get(0), 500)
  t.is(q.get(1500n), 3000)
  // What the memory holds now, not what an earlier read saw.
  buf.writeInt32LE(-5, 1500 * 4)
  t.is(q.get(0), -5)
  t.throws(() => q.get(0.5), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => q.get('1'), { code: 'ERR_INVALID_ARG_TYPE' })

  // Structs: fields through the pointer, at(i), a new pointer per element.
  const s = c.cast('struct cm_point *', ffi.addressBigInt(buf))
  buf.writeInt32LE(41, 8 * 700)
  buf.writeInt32LE(42, 8 * 700 + 4)
  t.deepEqual([s.at(700).x, s.at(700).y, s.add(700).y], [41, 42, 42])
  s.at(700).y = 43
  t.is(buf.readInt32LE(8 * 700 + 4), 43)
  buf.writeInt32LE(44, 0)
  t.is(s.x, 44)
  s.y = 45
  t.is(buf.readInt32LE(4), 45)

  // An element across a page boundary.
  const base = ffi.addressBigInt(buf)
  const edge = Number(((base / BigInt(PAGE)) + 1n) * BigInt(PAGE) - base) // offset of the next page in buf
  buf.writeDoubleLE(1.25, edge - 4)
  t.is(c.cast('double *', base + BigInt(edge - 4)).get(0), 1.25)
  const pk = c.cast('struct cm_packed *', base + BigInt(edge - 5))
  pk.d = -2.5
  t.is(buf.readDoubleLE(edge - 4), -2.5)
  t.is(pk.d, -2.5)
})

test('a view of foreign memory keeps nothing: addressof it, and bytes past its page read C memory', (t) => {
  const buf = ramp(3)
  const s = c.cast('struct cm_point *', ffi.addressBigInt(buf))
  const a = c.addressof(s.at(2))
  t.is(a.address, ffi.addressBigInt(buf) + 16n)
  t.deepEqual(c.bytes(a, 2 * PAGE), buf.subarray(16, 16 + 2 * PAGE))
  const d = c.cast('uint8_t *', s.at(1))
  t.deepEqual(c.bytes(d, PAGE + 8), buf.subarray(8, 16 + PAGE))
})

test('pointers to a struct declared first and defined by a later cdef get its fields, those made before too', (t) => {
  c.cdef('struct cm_later;')
  const buf = Buffer.alloc(8)
  buf.writeInt32LE(5, 4)
  const before = c.cast('struct cm_later *', buf)
  t.throws(() => before.get(0), { code: 'ERR_INVALID_ARG_VALUE', message: /unknown size/ })
  c.cdef('struct cm_later { int32_t a, b; };')
  t.is(before.b, 5)
  t.is(before.at(0).b, 5)
  t.is(c.cast('struct cm_later *', buf).b, 5)
})
