'use strict'

// Calls from declarations: ffi.C and load, every conversion in and out,
// structs and unions by value, strings, pointers C writes through,
// variadic functions, callbacks (this thread, a C thread, the thread pool),
// .async, errno, variables, and the errors. C computes every value checked
// here (__test__/fixture/calls.c, and libc).

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const ffi = require('ffi/c')
const raw = require('ffi')
const fixture = require('./helpers/fixture')

const lib = ffi.load(fixture.build())

ffi.cdef(`
  int cl_add(int a, int b);
  int8_t cl_i8(int8_t); uint8_t cl_u8(uint8_t); int16_t cl_i16(int16_t); uint16_t cl_u16(uint16_t);
  int32_t cl_i32(int32_t); uint32_t cl_u32(uint32_t); int64_t cl_i64(int64_t); uint64_t cl_u64(uint64_t);
  float cl_float(float); double cl_double(double); bool cl_bool(bool); long cl_long(long);
  unsigned long cl_ulong(unsigned long); size_t cl_size(size_t); char cl_char(char);
  int8_t cl_neg8(int8_t); uint16_t cl_inc16(uint16_t);
  double cl_mixed6(int a, double b, const uint8_t *p, int64_t c, float d, int e);
  double cl_many(int a, double b, int c, double d, int e, double f, int g, double h, int i, double j,
                 int k, double l, int m, double n, int o, double p, int64_t q, float r);
  struct point { int x; int y; };
  struct point cl_point_add(struct point **p);
  struct point cl_point_make(int x, int y);
  int cl_point_sum(struct point p);
  struct mixed { char c; double d; int16_t s; };
  struct mixed cl_mixed_twice(struct mixed m);
  struct big { int64_t a, b, c, d; double e; };
  struct big cl_big_next(struct big b);
  struct floats { float a, b, c; };
  float cl_floats_sum(struct floats f);
  struct floats cl_floats_scale(struct floats f, float k);
  union num { int32_t i; float f; uint8_t bytes[4]; };
  union num cl_union_inc(union num u);
  int32_t cl_union_int(union num u);
  size_t cl_strlen(const char *s);
  const char *cl_greeting(void);
  const char *cl_null_string(void);
  int cl_is_null(const void *p);
  void cl_upper(char *s);
  int cl_strcmp2(const char *a, const char *b);
  void cl_fill_i32(int32_t *p, int n, int32_t start);
  void cl_fill_f64(double *p, int n);
  void cl_out_int(int *out, int v);
  void cl_set_point(struct point *p, int x, int y);
  int64_t cl_sum_u8(const uint8_t *p, size_t n);
  void *cl_identity(void *p);
  double cl_vsum(const char *fmt, ...);
  typedef int (*int_cb)(int, int);
  int cl_apply(int_cb f, int a, int b);
  int cl_apply_n(int_cb f, int n);
  typedef struct point (*point_cb)(struct point, double);
  struct point cl_apply_point(point_cb f, int x, int y);
  typedef double (*scalars_cb)(int8_t, uint16_t, int64_t, uint64_t, float, double, bool, const char *);
  double cl_apply_scalars(scalars_cb f);
  typedef int8_t (*narrow_cb)(int8_t);
  int cl_apply_narrow(narrow_cb f, int8_t x);
  typedef const char *(*string_cb)(void);
  size_t cl_apply_string(string_cb f);
  int cl_apply_on_thread(int_cb f, int a, int b);
  int cl_set_errno(int e);
  int cl_get_errno(void);
  extern int cl_counter;
  extern double cl_scale;
  extern struct point cl_origin;
  extern const char *cl_name;
  int cl_bump(void);
  int cl_not_in_the_library(void);
  static const int CL_LIMIT = 100;
  static const int64_t CL_BIG = 0x7fffffffffffffff;
  enum cl_color { CL_RED, CL_GREEN = 5, CL_BLUE };
  int printf(const char *fmt, ...);
  int snprintf(char *buf, size_t n, const char *fmt, ...);
  int abs(int);
  double sqrt(double);
  size_t strlen(const char *);
  void *malloc(size_t); void free(void *);
  typedef struct { int quot; int rem; } div_t;
  div_t div(int, int);
  void qsort(void *base, size_t n, size_t size, int (*cmp)(const int *, const int *));
  int renamed_abs(int) asm("abs");
  int __stdcall std_abs(int) asm("abs");
  typedef int (__stdcall *std_cb)(int, int);
`)

const LONG64 = ffi.sizeof('long') === 8

test('load: a fixture function, made once and cached', (t) => {
  t.is(lib.cl_add(1, 2), 3)
  t.is(lib.cl_add, lib.cl_add)
  t.is(typeof lib.cl_add.async, 'function')
  t.true(Object.hasOwn(lib, 'cl_add'), 'a used name is a plain own property')
  t.is(lib.cl_add.name, 'cl_add')
})

test('ffi.C: libc and libm, and asm() renames', (t) => {
  t.is(ffi.C.abs(-5), 5)
  t.is(ffi.C.sqrt(2), Math.SQRT2)
  t.is(ffi.C.strlen('hello, world'), 12n)
  t.is(ffi.C.renamed_abs(-7), 7)
  // __stdcall means something on 32-bit Windows only (its CIF takes that
  // ABI there); elsewhere the function is called as any other.
  t.is(ffi.C.std_abs(-8), 8)
  const cb = ffi.cast('std_cb', (a, b) => a + b)
  t.is(lib.cl_apply(ffi.cast('int_cb', cb), 2, 3), 5)
  t.is(ffi.C.printf('%s', ''), 0)
})

test('scalars at their extremes, in and out', (t) => {
  t.is(lib.cl_i8(-128), -128)
  t.is(lib.cl_i8(127), 127)
  t.is(lib.cl_i8(128), -128, 'reduced modulo 2^8 as a C cast')
  t.is(lib.cl_u8(255), 255)
  t.is(lib.cl_u8(-1), 255)
  t.is(lib.cl_i16(-32768), -32768)
  t.is(lib.cl_u16(65535), 65535)
  t.is(lib.cl_i32(-2147483648), -2147483648)
  t.is(lib.cl_i32(2147483647), 2147483647)
  t.is(lib.cl_i32(3.9), 3, 'truncated toward zero')
  t.is(lib.cl_i32(-3.9), -3)
  t.is(lib.cl_u32(4294967295), 4294967295)
  t.is(lib.cl_u32(-1), 4294967295)
  for (const v of [0n, 2n ** 53n - 1n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n]) t.is(lib.cl_i64(v), v)
  for (const v of [0n, 2n ** 53n + 1n, 2n ** 64n - 1n]) t.is(lib.cl_u64(v), v)
  t.is(lib.cl_u64(-1n), 2n ** 64n - 1n)
  t.is(lib.cl_i64(5), 5n, 'a number converts to a 64-bit integer, which comes back a bigint')
  t.is(lib.cl_float(1.5), 1.5)
  t.is(lib.cl_float(0.1), Math.fround(0.1))
  t.is(lib.cl_double(-0.1), -0.1)
  t.is(lib.cl_double(10n), 10)
  t.true(Number.isNaN(lib.cl_double(NaN)))
  t.is(lib.cl_bool(true), true)
  t.is(lib.cl_bool(false), false)
  t.is(lib.cl_bool(2), true)
  t.is(lib.cl_long(-1), LONG64 ? -1n : -1)
  t.is(lib.cl_ulong(1), LONG64 ? 1n : 1)
  t.is(lib.cl_size(2 ** 40), 2n ** 40n)
  t.is(lib.cl_char(65), 65)
  t.is(lib.cl_neg8(-128), -128)
  t.is(lib.cl_inc16(65535), 0)
  t.is(lib.cl_i32(ffi.new('int', 9)), 9, 'a box converts')
  t.is(lib.cl_i32(true), 1)
})

test('arguments in registers and on the stack', (t) => {
  const buf = Buffer.from([40])
  t.is(lib.cl_mixed6(1, 1.5, buf, 2n ** 40n, 0.25, 3), 1 + 1.5 + 40 + 2 ** 40 + 0.25 + 3)
  t.is(lib.cl_mixed6(1, 1.5, null, 5n, 0.25, 3), 1 + 1.5 - 1000 + 5 + 0.25 + 3)
  const args = [1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5, 11, 12.5, 13, 14.5, 15, 16.5, 17n, 18.5]
  t.is(lib.cl_many(...args), args.reduce((s, v) => s + Number(v), 0))
})

test('structs and unions by value, in and out', (t) => {
  const p = lib.cl_point_make(3, 4)
  t.true(ffi.istype('struct point', p))
  t.deepEqual([p.x, p.y], [3, 4])
  t.is(lib.cl_point_sum(p), 3004)
  t.is(lib.cl_point_sum({ x: 1, y: 2 }), 1002, 'an object initializer')
  t.is(lib.cl_point_sum([5, 6]), 5006, 'an array initializer')
  t.is(lib.cl_point_sum({ x: 9 }), 9000, 'what an initializer leaves out is zero')
  const m = lib.cl_mixed_twice({ c: 3, d: 1.25, s: -7 })
  t.deepEqual([m.c, m.d, m.s], [6, 2.5, -14])
  const b = lib.cl_big_next({ a: 1n, b: 2n ** 62n, c: -(2n ** 63n), d: 0n, e: 1 })
  t.deepEqual([b.a, b.b, b.c, b.d, b.e], [2n, 2n ** 62n + 2n, -(2n ** 63n) + 3n, 4n, 1.5])
  t.is(lib.cl_floats_sum({ a: 1.5, b: 2.25, c: -1 }), 2.75)
  const f = lib.cl_floats_scale([1, 2, 3], 2)
  t.deepEqual([f.a, f.b, f.c], [2, 4, 6])
  const u = lib.cl_union_inc({ i: 41 })
  t.is(u.i, 42)
  t.is(lib.cl_union_int(ffi.new('union num', { i: -5 })), -5)
  // a result is a copy: writing it does not touch anything C has
  p.x = 100
  t.is(lib.cl_point_make(3, 4).x, 3)
  t.throws(() => lib.cl_point_sum(5), { code: 'ERR_INVALID_ARG_TYPE', message: /cl_point_sum: argument 1 \(p\)/ })
})

test('the seed: point_add through typeof, cast and new', (t) => {
  const pt = ffi.typeof('struct point *[?]')
  const pa = ffi.new('struct point', 1, 2)
  const pb = ffi.new('struct point', 2, 1)
  const pts = ffi.new(pt, 2, pa, pb)
  const r = lib.cl_point_add(ffi.cast('struct point **', pts))
  t.deepEqual([r.x, r.y], [3, 3])
  const r2 = lib.cl_point_add(pts)
  t.deepEqual([r2.x, r2.y], [3, 3], 'an array decays to a pointer to its first element')
})

test('strings in and out', (t) => {
  t.is(lib.cl_strlen('héllo'), 6n, 'UTF-8')
  t.is(lib.cl_strlen(''), 0n)
  t.is(lib.cl_strlen('x'.repeat(100000)), 100000n, 'a long string')
  t.is(lib.cl_strlen(null), 2n ** 64n - 1n, 'null is NULL')
  t.is(lib.cl_strcmp2('abc', 'abc'), 0)
  t.true(lib.cl_strcmp2('abc', 'abd') < 0, 'two string arguments, each its own copy')
  t.is(lib.cl_is_null('x'), 0, 'const void * takes a string')
  t.is(lib.cl_is_null(undefined), 1)
  const g = lib.cl_greeting()
  t.is(ffi.string(g), 'hello from C')
  t.is(lib.cl_null_string(), null)
  t.throws(() => lib.cl_upper('abc'), { code: 'ERR_INVALID_ARG_TYPE', message: /cl_upper: argument 1 \(s\): cannot convert string to char \*/ })
  const buf = ffi.new('char[?]', 4, 'abc')
  lib.cl_upper(buf)
  t.is(ffi.string(buf), 'ABC')
  t.throws(() => lib.cl_strlen(5), { code: 'ERR_INVALID_ARG_TYPE', message: 'cl_strlen: argument 1 (s): cannot convert number to const char *' })
})

test('pointers: C writes through TypedArrays, Buffers, cdata and ArrayBuffers', (t) => {
  const a = new Int32Array(5)
  lib.cl_fill_i32(a, 5, 10)
  t.deepEqual([...a], [10, 11, 12, 13, 14])
  const d = ffi.new('double[4]')
  lib.cl_fill_f64(d, 4)
  t.deepEqual([...d], [0, 0.5, 1, 1.5])
  const out = ffi.new('int[1]')
  lib.cl_out_int(out, 77)
  t.is(out[0], 77)
  const ab = new ArrayBuffer(8)
  lib.cl_out_int(ab, -3)
  t.is(new Int32Array(ab)[0], -3)
  const dv = new DataView(new ArrayBuffer(16), 4)
  lib.cl_out_int(dv, 5)
  t.is(dv.getInt32(0, true), 5, 'a DataView at its own offset')
  const p = ffi.new('struct point')
  lib.cl_set_point(p, 8, 9)
  t.deepEqual([p.x, p.y], [8, 9], 'a struct cdata for a pointer to its struct')
  lib.cl_set_point(ffi.addressof(p), 1, 2)
  t.deepEqual([p.x, p.y], [1, 2])
  t.is(lib.cl_sum_u8(Buffer.from([1, 2, 3, 250]), 4), 256n)
  t.is(lib.cl_sum_u8(new Uint8Array([1, 2, 3]).subarray(1), 2), 5n, 'a subarray at its offset')
  const m = raw.allocCString('xyz')
  t.is(lib.cl_sum_u8(raw.fromAddress(raw.address(m)), 3), BigInt(0x78 + 0x79 + 0x7a), 'a raw pointer Buffer')
  const q = lib.cl_identity(a)
  t.is(q.address, raw.addressBigInt(a))
  t.is(lib.cl_identity(null), null)
  t.throws(() => lib.cl_out_int(ffi.new('double[1]'), 1), { code: 'ERR_INVALID_ARG_TYPE', message: /cl_out_int: argument 1 \(out\)/ })
  t.throws(() => lib.cl_set_point(ffi.new('union num'), 1, 2), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => lib.cl_out_int(ffi.cast('double *', 8), 1), { code: 'ERR_INVALID_ARG_TYPE', message: /incompatible pointer types/ })
  t.throws(() => lib.cl_out_int({}, 1), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('variadic functions: each JavaScript kind', (t) => {
  t.is(lib.cl_vsum('d', 1.5), 1.5, 'a number is a double')
  t.is(lib.cl_vsum('l', 2n ** 40n), 2 ** 40, 'a bigint is an int64_t')
  t.is(lib.cl_vsum('ii', true, false), 1, 'a boolean is an int')
  t.is(lib.cl_vsum('s', 'four'), 4, 'a string is a const char *')
  t.is(lib.cl_vsum('pp', null, Buffer.alloc(1)), 1, 'null is NULL, a Buffer its address')
  t.is(lib.cl_vsum('iid', ffi.new('int', 5), ffi.new('int8_t', -3), ffi.new('float', 0.5)), 2.5, 'cdata as their own type, promoted')
  t.is(lib.cl_vsum('i', ffi.cast('uint16_t', 65535)), 65535)
  t.is(lib.cl_vsum(''), 0)
  t.is(lib.cl_vsum('idsl', ffi.new('int', 1), 2, 'abc', 4n), 10, 'mixed, and the plans per signature are cached')
  t.is(lib.cl_vsum('idsl', ffi.new('int', 1), 2, 'abc', 4n), 10)
  const buf = Buffer.alloc(64)
  const n = ffi.C.snprintf(buf, 64, '%d %.1f %s %lld', ffi.new('int', 7), 1.5, 'ok', 9n)
  t.is(buf.toString('latin1', 0, n), '7 1.5 ok 9')
  t.throws(() => lib.cl_vsum('x', ffi.new('struct point')), { code: 'ERR_INVALID_ARG_TYPE', message: /cl_vsum: argument 2: cannot pass cdata<struct point>/ })
  t.throws(() => lib.cl_vsum('x', {}), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => lib.cl_vsum(), { code: 'ERR_INVALID_ARG_VALUE', message: /at least 1 argument/ })
})

test('variadic functions: signatures that alternate in a hot loop, errors and detached Buffers there too', (t) => {
  let sum = 0
  const b = Buffer.alloc(3)
  for (let i = 0; i < 20000; i++) {
    sum += lib.cl_vsum('id', ffi.new('int', i), 0.5)
    sum += lib.cl_vsum('dp', i / 2, b)
    sum += lib.cl_vsum('s', i % 2 === 0 ? 'ab' : 'abc')
  }
  // sum over i of (i + 0.5) + (i / 2 + 1) + (2 or 3)
  t.is(sum, (1.5 * (19999 * 20000)) / 2 + 20000 * 1.5 + 10000 * 5)
  t.throws(() => lib.cl_vsum(5), { code: 'ERR_INVALID_ARG_TYPE', message: /cl_vsum: argument 1/ })
  t.throws(() => lib.cl_vsum('i', ffi.new('struct point')), { code: 'ERR_INVALID_ARG_TYPE', message: /argument 2/ })
  structuredClone(b.buffer, { transfer: [b.buffer] })
  t.throws(() => lib.cl_vsum('dp', 1, b), { code: 'ERR_FFI_DETACHED' })
})

test('reentrancy: a call from JavaScript that converting an argument runs takes storage of its own', (t) => {
  ffi.cdef('int cl_bytes_point(const uint8_t *p, struct point q);')
  const a = new Uint8Array([1, 2, 3, 4])
  const b = new Uint8Array([50, 50, 50, 50])
  let inner
  let again = true
  // A getter in a struct initializer runs while the call converts it.
  const q = {
    get x() {
      if (again) {
        again = false
        inner = lib.cl_bytes_point(b, { x: 1, y: 0 })
      }
      return 100
    },
    y: 0,
  }
  t.is(lib.cl_bytes_point(a, q), 110, 'the outer call still passes its own bytes')
  t.is(inner, 201)
  // The same in a hot loop (the call optimized).
  let sum = 0
  for (let i = 0; i < 5000; i++) {
    let nested = i % 100 === 0
    const p = {
      get x() {
        if (nested) {
          nested = false
          sum += lib.cl_bytes_point(b, { x: 0, y: 0 })
        }
        return 1
      },
      y: 0,
    }
    const r = lib.cl_bytes_point(a, p) // (not `sum += ...`: the getter adds to sum during the call)
    sum += r
  }
  t.is(sum, 5000 * 11 + 50 * 200)
  t.throws(() => lib.cl_bytes_point(a, { get x() { throw new Error('boom') }, y: 0 }), { message: 'boom' })
  t.is(lib.cl_bytes_point(a, { x: 0, y: 0 }), 10, 'a conversion that threw leaves the function usable')
})

test('records classed per eightbyte as C does: a float after a double, unions of floating and integer members', (t) => {
  ffi.cdef(`
    struct cl_df { double a; float b; };
    double cl_df_sum(struct cl_df s); struct cl_df cl_df_make(double a, float b);
    union cl_dl { double d; int64_t l; };
    int64_t cl_dl_get(union cl_dl u); union cl_dl cl_dl_make(int64_t v);
    union cl_fi { float f[3]; int32_t i; };
    double cl_fi_sum(union cl_fi u, int k); int32_t cl_fi_int(union cl_fi u);
    union cl_ff { float f[3]; float g; };
    double cl_ff_sum(union cl_ff u); union cl_ff cl_ff_make(float a, float b, float c);
    struct cl_nest { int32_t tag; union cl_fi u; };
    double cl_nest_sum(struct cl_nest n);
  `)
  t.is(lib.cl_df_sum({ a: 2, b: 1.5 }), 201.5)
  const df = lib.cl_df_make(1, 1.5)
  t.deepEqual([df.a, df.b], [1, 1.5])
  t.is(lib.cl_dl_get({ l: 77n }), 77n)
  t.is(lib.cl_dl_make(-99n).l, -99n)
  t.is(lib.cl_fi_sum({ f: [0.5, 1.5, 2.5] }, 3), 7)
  t.is(lib.cl_fi_int({ i: -5 }), -5)
  t.is(lib.cl_ff_sum({ f: [0.5, 1.5, 2.5] }), 4.5)
  t.deepEqual([...lib.cl_ff_make(1, 2, 3).f], [1, 2, 3])
  t.is(lib.cl_nest_sum({ tag: 10, u: { f: [0, 0.25, 0.5] } }), 10.75)
  // A small record holding a long double comes back in x87 registers on
  // x86-64 System V, which libffi does not read: refused there, not garbage.
  ffi.cdef('struct cl_ld { long double x; }; struct cl_ld cl_ld_make(double v); double cl_ld_get(struct cl_ld s);')
  t.is(lib.cl_ld_get({ x: 2.5 }), 2.5)
  if (process.arch === 'x64' && process.platform !== 'win32') {
    t.throws(() => lib.cl_ld_make(2.5), { code: 'ERR_INVALID_ARG_TYPE', message: /cl_ld_make: return type struct cl_ld cannot be returned by value here/ })
  } else t.is(lib.cl_ld_make(2.5).x, 2.5)
  // A packed struct with a misaligned member goes in memory (C returns it
  // through a hidden pointer); a packed union of floats in vector registers;
  // an over-aligned union's padding-only half in no register.
  ffi.cdef(`
    struct __attribute__((packed)) cl_pk { int8_t c; int32_t i; };
    int32_t cl_pk_sum(struct cl_pk p, int k); struct cl_pk cl_pk_make(int s);
    union __attribute__((packed)) cl_pu { int8_t c; float f[3]; };
    double cl_pu_sum(union cl_pu u, double d);
    union __attribute__((aligned(16))) cl_au { int32_t i; };
    int64_t cl_au_get(union cl_au u, int k);
  `)
  t.is(lib.cl_pk_sum({ c: -3, i: 7 }, 5), -3 + 70 + 5)
  const pk = lib.cl_pk_make(9)
  t.deepEqual([pk.c, pk.i], [9, 9000])
  t.is(lib.cl_pu_sum({ f: [0.5, 1.5, 2.25] }, 4), 7.75)
  t.is(lib.cl_au_get({ i: -4 }, 3), -37n)
  if (process.arch === 'x64' && process.platform !== 'win32') {
    // libffi's closure entry would read the int after it from the wrong register.
    t.throws(() => ffi.cast('int64_t (*)(union cl_au, int)', () => 0), { code: 'ERR_INVALID_ARG_TYPE', message: /cannot come before other parameters of a callback/ })
  }
  t.true(ffi.istype('int64_t (*)(int, union cl_au)', ffi.cast('int64_t (*)(int, union cl_au)', (k, u) => BigInt(u.i + k))))
})

test('callbacks: cast, called by C, set and free', (t) => {
  const cb = ffi.cast('int_cb', (a, b) => a * 10 + b)
  t.is(lib.cl_apply(cb, 4, 2), 42)
  t.is(lib.cl_apply_n(cb, 100), 10 * 4950 + 100)
  cb.set((a, b) => a - b)
  t.is(lib.cl_apply(cb, 4, 2), 2)
  t.true(ffi.istype('int_cb', cb))
  cb.free()
  cb.free()
  t.throws(() => cb.set(() => 0), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => ffi.cast('int (*)(int, ...)', () => 0), { code: 'ERR_INVALID_ARG_VALUE', message: /variadic/ })
})

test('callbacks: every scalar converts in, the result converts out', (t) => {
  let got
  const r = lib.cl_apply_scalars((...args) => {
    got = args
    return 0.5
  })
  t.is(r, 0.5)
  t.deepEqual(got, [-128, 65535, -(2n ** 63n), 2n ** 64n - 1n, 1.5, -2.25, true, got[7]])
  t.is(ffi.string(got[7]), 'str')
  t.is(lib.cl_apply_narrow((x) => x - 1, -128), 127, 'a narrow result is reduced and widened as C does')
  t.is(lib.cl_apply_narrow((x) => -x, 5), -5)
  const keep = ffi.new('char[?]', 6, 'hello')
  t.is(lib.cl_apply_string(() => keep), 5n)
  t.is(lib.cl_apply_string(() => null), 9999n)
})

test('callbacks: a narrow integer result is what a C cast makes of the value, widened as C reads it', (t) => {
  ffi.cdef(`
    enum cl_shade { CL_DARK = -1, CL_LIGHT = 7 };
    int64_t cl_ret_i8(int8_t (*f)(void)); int64_t cl_ret_u8(uint8_t (*f)(void));
    int64_t cl_ret_i16(int16_t (*f)(void)); int64_t cl_ret_u16(uint16_t (*f)(void));
    int64_t cl_ret_i32(int32_t (*f)(void)); int64_t cl_ret_u32(uint32_t (*f)(void));
    int64_t cl_ret_enum(enum cl_shade (*f)(void));
  `)
  const kinds = { i8: Int8Array, u8: Uint8Array, i16: Int16Array, u16: Uint16Array, i32: Int32Array, u32: Uint32Array, enum: Int32Array }
  const values = [0, 1, -1, 127, 128, 255, 256, 300, -129, 32767, 32768, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 5, -(2 ** 31) - 1, 1.7, -1.7, 2 ** 53, NaN, Infinity, -Infinity, true, false, 5n, -(2n ** 40n) - 3n]
  for (const [kind, TA] of Object.entries(kinds)) {
    const fn = lib[`cl_ret_${kind}`]
    for (const v of values) {
      // A TypedArray store converts a number as a C cast does; a bigint
      // is reduced modulo 2^32 first, a boolean is 0 or 1.
      const n = typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : Number(v)
      const want = BigInt(new TA([n])[0])
      let calls = 0
      // Twice: once as the first call, once with the handler optimized.
      for (let k = 0; k < 2; k++) {
        t.is(fn(() => (calls++, v)), want, `${kind} from ${typeof v === 'bigint' ? `${v}n` : v}`)
      }
      t.is(calls, 2)
    }
  }
})

test('callbacks: structs by value as arguments and results', (t) => {
  const r = lib.cl_apply_point((p, k) => {
    t.true(ffi.istype('struct point', p))
    return { x: p.x * 2, y: p.y + k * 2 }
  }, 3, 4)
  t.deepEqual([r.x, r.y], [6, 5])
})

test('callbacks: a JavaScript function passed directly (qsort)', (t) => {
  const a = new Int32Array([5, 3, 9, 1, 7, -2])
  ffi.C.qsort(a, a.length, 4, (x, y) => x.get(0) - y.get(0))
  t.deepEqual([...a], [-2, 1, 3, 5, 7, 9])
  const before = raw.stats().closures
  const cmp = (x, y) => y.get(0) - x.get(0)
  ffi.C.qsort(a, a.length, 4, cmp)
  ffi.C.qsort(a, a.length, 4, cmp)
  t.deepEqual([...a], [9, 7, 5, 3, 1, -2])
  t.true(raw.stats().closures <= before + 1, 'one callback per function, reused')
})

test('callbacks: temporary ones go with their function (stats back where they started)', (t) => {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', `
    const ffi = require('ffi/c')
    const raw = require('ffi')
    const lib = ffi.load(${JSON.stringify(fixture.build())})
    ffi.cdef('typedef int (*int_cb)(int, int); int cl_apply(int_cb f, int a, int b);')
    lib.cl_apply((a, b) => a + b, 1, 2) // the function, its plan and CIF exist from here on
    const start = raw.stats().closures
    let sum = 0
    for (let i = 0; i < 200; i++) sum += lib.cl_apply((a, b) => a * b + i, 2, 3)
    const during = raw.stats().closures
    setTimeout(async () => {
      for (let k = 0; k < 10 && raw.stats().closures > start + 1; k++) {
        global.gc()
        await new Promise((r) => setTimeout(r, 20))
      }
      console.log(sum, during - start >= 1, raw.stats().closures - start <= 1)
    }, 10)
  `], { cwd: path.join(__dirname, '..'), encoding: 'utf8' })
  t.is(out.trim(), `${Array.from({ length: 200 }, (_, i) => 6 + i).reduce((a, b) => a + b, 0)} true true`)
})

test('callbacks: from a thread of C', (t) => {
  const cb = ffi.cast('int_cb', (a, b) => a + b)
  t.is(lib.cl_apply_on_thread.async ? 1 : 0, 1)
  return lib.cl_apply_on_thread.async(cb, 20, 22).then((r) => {
    t.is(r, 42)
    cb.free()
  })
})

test('callbacks: from the thread pool during .async, with a function passed directly', async (t) => {
  t.is(await lib.cl_apply.async((a, b) => a * b, 6, 7), 42)
})

test('callbacks: an exception reaches uncaughtException, C gets zero', (t) => {
  const out = execFileSync(process.execPath, ['-e', `
    const ffi = require('ffi/c')
    const lib = ffi.load(${JSON.stringify(fixture.build())})
    ffi.cdef('typedef int (*int_cb)(int, int); int cl_apply(int_cb f, int a, int b);')
    process.on('uncaughtException', (e) => console.log('caught', e.message))
    console.log('result', lib.cl_apply(() => { throw new Error('boom') }, 1, 2))
  `], { cwd: path.join(__dirname, '..'), encoding: 'utf8' })
  t.regex(out, /result 0/)
  t.regex(out, /caught boom/)
})

test('.async: a Promise of the converted result, strings kept alive under gc', async (t) => {
  const ps = []
  for (let i = 0; i < 20; i++) ps.push(lib.cl_strlen.async('y'.repeat(i)))
  if (global.gc) global.gc()
  t.deepEqual(await Promise.all(ps), Array.from({ length: 20 }, (_, i) => BigInt(i)))
  const p = await lib.cl_point_make.async(1, 2)
  t.deepEqual([p.x, p.y], [1, 2])
  t.is(await lib.cl_vsum.async('sd', 'abc', 0.5), 3.5)
  await t.throwsAsync(() => lib.cl_add.async(1), { code: 'ERR_INVALID_ARG_VALUE' })
  await t.throwsAsync(() => lib.cl_add.async('x', 1), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('errno: what the last call left, and set for the next call', (t) => {
  lib.cl_set_errno(34)
  t.is(ffi.errno(), 34)
  t.is(ffi.errno(7), 34, 'setting returns the previous value')
  t.is(ffi.errno(), 7)
  t.is(lib.cl_get_errno(), 7, 'the next call starts with it')
  t.is(lib.cl_get_errno(), 0, 'and the one after with 0 again')
  ffi.C.sqrt(-1)
  t.true(ffi.errno() !== 0, 'libm sets EDOM')
  t.throws(() => ffi.errno('x'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('variables, enum constants and static const', (t) => {
  t.is(lib.cl_counter, 7)
  t.is(lib.cl_bump(), 8)
  t.is(lib.cl_counter, 8)
  lib.cl_counter = 100
  t.is(lib.cl_bump(), 101, 'an assignment writes C memory')
  t.is(lib.cl_scale, 1.5)
  t.deepEqual([lib.cl_origin.x, lib.cl_origin.y], [3, 4])
  t.is(ffi.string(lib.cl_name), 'fixture')
  t.is(lib.CL_LIMIT, 100)
  t.is(lib.CL_BIG, 2n ** 63n - 1n)
  t.is(lib.CL_GREEN, 5)
  t.is(ffi.C.CL_BLUE, 6)
})

test('errors: undeclared, missing symbols, arity, libraries', (t) => {
  t.throws(() => lib.cl_nosuch, { code: 'ERR_FFI_UNDECLARED', message: /missing declaration for symbol 'cl_nosuch'/ })
  t.throws(() => lib.cl_not_in_the_library, { code: 'ERR_FFI_DLSYM', message: /cl_not_in_the_library/ })
  t.throws(() => {
    lib.cl_nosuch = 1
  }, { code: 'ERR_FFI_UNDECLARED' })
  t.throws(() => lib.cl_add(1), { code: 'ERR_INVALID_ARG_VALUE', message: 'cl_add: expected 2 arguments, got 1' })
  t.throws(() => lib.cl_add(1, 2, 3), { code: 'ERR_INVALID_ARG_VALUE' })
  const e = t.throws(() => ffi.load('no_such_library_xyz'), { code: 'ERR_FFI_DLOPEN' })
  t.regex(e.message, /libno_such_library_xyz\.so/)
  t.throws(() => ffi.load(''), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => ffi.load(5), { code: 'ERR_INVALID_ARG_TYPE' })
  t.is(lib.then, undefined, 'a namespace is not a thenable')
  t.regex(require('node:util').inspect(lib), /^\[library '.*': .*cl_add/)
  t.is(Object.prototype.toString.call(ffi.C), '[object ffi.C]')
  t.false('cl_nosuch' in lib)
  t.true('cl_add' in lib)
})

test('load: name rules, versioned names and linker scripts', (t) => {
  const NS = require('../lib/c/namespace.js')
  if (process.platform === 'linux') {
    t.is(NS.fileName('z'), 'libz.so')
    t.is(NS.fileName('libz'), 'libz.so')
    t.is(NS.fileName('z.so.1'), 'libz.so.1')
    t.is(NS.fileName('./x'), './x')
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffi-load-'))
  try {
    // a library present only under a versioned name
    fs.copyFileSync(fixture.build(), path.join(dir, 'libclfix.so.3'))
    // a GNU linker script naming the real file
    fs.writeFileSync(path.join(dir, 'libclscript.so'), `/* GNU ld script */\nGROUP ( ${fixture.build()} AS_NEEDED ( /nonexistent.so ) )\n`)
    const out = execFileSync(process.execPath, ['-e', `
      const ffi = require('ffi/c')
      ffi.cdef('int cl_add(int, int);')
      console.log(ffi.load('clfix').cl_add(1, 2), ffi.load(${JSON.stringify(path.join(dir, 'libclscript.so'))}).cl_add(3, 4))
      if (process.platform === 'linux' && require('node:fs').existsSync('/usr/lib/x86_64-linux-gnu/libc.so')) {
        ffi.cdef('int abs(int);')
        console.log('libc', ffi.load('c').abs(-9))
      }
    `], { cwd: path.join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: dir } })
    t.regex(out, /^3 7/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('load(name, true) makes the symbols visible to ffi.C', (t) => {
  const out = execFileSync(process.execPath, ['-e', `
    const ffi = require('ffi/c')
    ffi.cdef('int cl_add(int, int);')
    let before
    try { ffi.C.cl_add(1, 1); before = 'found' } catch (e) { before = e.code }
    ffi.load(${JSON.stringify(fixture.build())}, true)
    console.log(before, ffi.C.cl_add(2, 3))
  `], { cwd: path.join(__dirname, '..'), encoding: 'utf8' })
  t.is(out.trim(), 'ERR_FFI_DLSYM 5')
})

test('reentrancy: a function called again from a callback during its own call', (t) => {
  const seen = []
  const r = lib.cl_apply((a, b) => {
    seen.push(lib.cl_strcmp2('inner', 'inner'))
    return lib.cl_apply((x, y) => x + y, a, b) + 100
  }, 1, 2)
  t.is(r, 103)
  t.deepEqual(seen, [0])
})

test('gc with a C function: ffi.C.free', (t) => {
  const p = ffi.gc(ffi.C.malloc(64), ffi.C.free)
  t.true(ffi.istype('void *', p))
  t.is(ffi.gc(p, null), p)
  ffi.C.free(p)
})

test('gc with a C function pointer cdata as the finalizer runs C', (t) => {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', `
    const ffi = require('ffi/c')
    const lib = ffi.load(${JSON.stringify(fixture.build())})
    ffi.cdef('int cl_bump(void); extern int cl_counter; void *cl_identity(void *p);')
    const before = lib.cl_counter
    // cl_bump as a function pointer: its address from the library
    const raw = require('ffi')
    const dl = require('ffi/dlopen')
    const fp = ffi.cast('int (*)(void *)', raw.addressBigInt(raw.readPointer(dl.dlsym(dl.dlopen(${JSON.stringify(fixture.build())}), 'cl_bump'), 0)))
    ;(() => { ffi.gc(ffi.new('int[4]'), fp) })()
    setTimeout(() => { global.gc(); setTimeout(() => console.log(lib.cl_counter - before), 50) }, 10)
  `], { cwd: path.join(__dirname, '..'), encoding: 'utf8' })
  t.is(out.trim(), '1')
})

test('inside a Worker', async (t) => {
  const { Worker } = require('node:worker_threads')
  const w = new Worker(`
    const { parentPort } = require('node:worker_threads')
    const ffi = require('ffi/c')
    const lib = ffi.load(${JSON.stringify(fixture.build())})
    ffi.cdef('typedef int (*int_cb)(int, int); int cl_apply(int_cb f, int a, int b); int cl_add(int, int); int cl_apply_on_thread(int_cb f, int a, int b);')
    const cb = ffi.cast('int_cb', (a, b) => a * b)
    lib.cl_apply_on_thread.async(cb, 6, 7).then((r) => parentPort.postMessage([lib.cl_add(1, 2), lib.cl_apply((a, b) => a - b, 5, 3), r]))
  `, { eval: true })
  const msg = await new Promise((resolve, reject) => {
    w.once('message', resolve)
    w.once('error', reject)
  })
  t.deepEqual(msg, [3, 2, 42])
  await w.terminate()
})

test('hostile arguments: a typed error or a value, never a crash', (t) => {
  const detached = Buffer.alloc(16)
  structuredClone(detached.buffer, { transfer: [detached.buffer] })
  const values = [undefined, null, {}, [], Symbol('s'), 1n << 70n, -(1n << 70n), NaN, -0, Infinity, '', 'x', () => 1,
    new Proxy({}, {}), detached, Object.create(Buffer.prototype), { valueOf: () => 1 }, new ArrayBuffer(0),
    ffi.new('struct point'), ffi.cast('void *', ffi.new('char[4]')), ffi.new('int[2]'), new Date(), Promise.resolve(), 2 ** 64, -(2 ** 63)]
  const fns = ['cl_i8', 'cl_u64', 'cl_double', 'cl_bool', 'cl_strlen', 'cl_is_null', 'cl_point_sum', 'cl_union_int', 'cl_identity']
  let errors = 0
  let results = 0
  for (const name of fns) {
    for (const [i, v] of values.entries()) {
      try {
        lib[name](v)
        results++
      } catch (e) {
        t.true(typeof e.code === 'string' && e.code.startsWith('ERR_'), `${name}(values[${i}]): ${e.message}`)
        errors++
      }
    }
  }
  t.true(errors > 50 && results > 20)
  // A detached Buffer passed after it was remembered is not taken for it.
  const b = Buffer.alloc(8)
  t.is(lib.cl_is_null(b), 0)
  structuredClone(b.buffer, { transfer: [b.buffer] })
  t.throws(() => lib.cl_is_null(b), { code: 'ERR_FFI_DETACHED', message: /cl_is_null: argument 1 \(p\): a view of a detached/ })
  // The same once the call is optimized (the remembered view is tested in
  // the generated code), for a Buffer and for a TypedArray.
  for (const view of [Buffer.alloc(8), new Float64Array(2)]) {
    let zeros = 0
    for (let i = 0; i < 20000; i++) zeros += lib.cl_is_null(view) === 0 ? 1 : 0
    t.is(zeros, 20000)
    structuredClone(view.buffer, { transfer: [view.buffer] })
    for (let i = 0; i < 3; i++) t.throws(() => lib.cl_is_null(view), { code: 'ERR_FFI_DETACHED' })
  }
})
