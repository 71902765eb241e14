'use strict'

// cdef's errors: ERR_FFI_CDEF with line, column and token; redefinitions;
// a failed cdef records nothing; hostile sources end with a clear error or
// a result in bounded time, never a hang or a crash.

const test = require('ava')
const c = require('ffi/c')

function cdefThrows(t, src, code, re) {
  const e = t.throws(() => c.cdef(src), { code })
  if (re) t.regex(e.message, re)
  return e
}

test('syntax errors name line, column and token', (t) => {
  const e = cdefThrows(t, 'int a;\n\n#define X 1\n', 'ERR_FFI_CDEF', /^cdef: 3:1: unexpected '#define' \(the preprocessor is not run; use enum or static const\)$/)
  t.true(e instanceof SyntaxError)
  cdefThrows(t, 'int x;\nstruct s { int a }', 'ERR_FFI_CDEF', /2:18: expected ';' after a member, got '}'/)
  cdefThrows(t, 'int f(int', 'ERR_FFI_CDEF', /1:10: .*end of input/)
  cdefThrows(t, 'int 3x;', 'ERR_FFI_CDEF', /invalid number '3x'/)
  cdefThrows(t, 'int a; /* never closed', 'ERR_FFI_CDEF', /1:8: unterminated comment/)
  cdefThrows(t, 'int f() asm("x);', 'ERR_FFI_CDEF', /unterminated string/)
  cdefThrows(t, 'enum { A = 1 / 0 };', 'ERR_FFI_CDEF', /division by zero/)
  cdefThrows(t, 'enum { A = B };', 'ERR_FFI_CDEF', /'B' is not a constant/)
  cdefThrows(t, 'struct s { int a : 33; };', 'ERR_FFI_CDEF', /33 bits wide/)
  cdefThrows(t, 'nosuch_t x;', 'ERR_FFI_CDEF', /unknown type 'nosuch_t'/)
  cdefThrows(t, 'int a[2](int);', 'ERR_FFI_CDEF', /array of functions/)
  t.throws(() => c.cdef(42), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('identical redeclarations are accepted, conflicting ones are ERR_FFI_CDEF_REDEFINE', (t) => {
  const src = 'typedef int same_t; struct same { int a; }; int same_f(int); enum { SAME_A = 1 }; typedef struct { int q; } anon_t;'
  c.cdef(src)
  c.cdef(src)
  const e = cdefThrows(t, 'typedef long same_t;', 'ERR_FFI_CDEF_REDEFINE', /typedef 'same_t' redefined: declared as int, now as int64_t/)
  t.true(e instanceof SyntaxError)
  cdefThrows(t, 'struct same { long a; };', 'ERR_FFI_CDEF_REDEFINE', /struct same redefined/)
  cdefThrows(t, 'double same_f(int);', 'ERR_FFI_CDEF_REDEFINE', /function 'same_f' redefined/)
  cdefThrows(t, 'enum { SAME_A = 2 };', 'ERR_FFI_CDEF_REDEFINE', /constant 'SAME_A' redefined/)
  // Builtin typedefs may be declared by a header the way it spells them.
  c.cdef('typedef unsigned long size_t; typedef int wchar_t;')
})

test('a failed cdef records nothing', (t) => {
  cdefThrows(t, 'typedef struct r { int a; } r_t; struct early; struct early { int z; }; int bad(;', 'ERR_FFI_CDEF')
  t.throws(() => c.typeof('r_t'), { code: 'ERR_FFI_UNKNOWN_TYPE' })
  // The tag it completed is incomplete again, and can be declared anew.
  c.cdef('struct early2;')
  cdefThrows(t, 'struct early2 { int z; }; int bad(;', 'ERR_FFI_CDEF')
  t.is(c.sizeof('struct early2'), undefined)
  c.cdef('struct early2 { double z; };')
  t.is(c.sizeof('struct early2'), 8)
})

test('typeof: unknown types, bad strings, incomplete structs', (t) => {
  t.throws(() => c.typeof('nosuch_t *'), { code: 'ERR_FFI_UNKNOWN_TYPE', message: /unknown type 'nosuch_t'/ })
  t.throws(() => c.typeof('int int int ('), { code: 'ERR_INVALID_ARG_VALUE' })
  t.is(String(c.typeof('struct never_declared *')), 'ctype<struct never_declared *>')
  t.is(c.sizeof('struct never_declared'), undefined)
})

test('hostile sources: an error or a result, in bounded time', (t) => {
  const sources = [
    '('.repeat(100000),
    'int ' + '*'.repeat(100000) + 'p;',
    'struct a { '.repeat(5000),
    'enum { A = ' + '-'.repeat(100000) + '1 };',
    'enum { A = 99999999999999999999999999999 };',
    'int a[99999999999999999];',
    '"'.repeat(10),
    "'",
    '/*',
    'int ' + 'x'.repeat(1 << 20) + ';',
    'int a;\n'.repeat(200000), // ~1.4 MB
    Array.from({ length: 20000 }, (_, i) => `typedef int t${i};`).join('\n'),
    '@',
    '\u0000',
    'typedef int (*(*(*x)[3])(int))[4];',
  ]
  // Random tokens.
  const words = ['int', 'struct', '{', '}', '(', ')', '*', ';', 'x', '[', ']', '=', '1', ',', 'typedef', 'enum', ':', '...', 'const', '__attribute__']
  let seed = 42
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  for (let k = 0; k < 300; k++) sources.push(Array.from({ length: 40 }, () => words[Math.floor(rand() * words.length)]).join(' '))
  const start = Date.now()
  for (const src of sources) {
    try {
      c.cdef(src)
    } catch (e) {
      t.true(['ERR_FFI_CDEF', 'ERR_FFI_CDEF_REDEFINE'].includes(e.code), `${e.code}: ${e.message.slice(0, 200)} (source ${src.slice(0, 40)})`)
    }
  }
  t.true(Date.now() - start < 30000, 'bounded time')
})

test('10 MB of declarations parse', (t) => {
  const one = 'struct big_%d { int a; double b; char c[16]; }; int fn_%d(struct big_%d *p, const char *s, ...);\n'
  let src = ''
  for (let i = 0; src.length < 10 * 1024 * 1024; i++) src += one.replace(/%d/g, i)
  c.cdef(src)
  t.is(c.sizeof('struct big_100'), 32)
})
