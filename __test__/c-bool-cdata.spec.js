'use strict'

// Found while writing examples/c-*.js: a `bool` cdata (ffi.new('bool', x),
// ffi.cast('bool', x)) converts to an integer or floating type, as LuaJIT
// does (lj_cconv.c: CCX(I, B) and CCX(F, B), the same as an integer) and C
// does, so it can be a variadic argument (varargType in lib/c/call.js
// passes it as an int, as C's promotions do) or any numeric argument, and
// cast or new from it works. toInt, toBigInt and toFloat (lib/c/cdata.js)
// refused a box whose value is a boolean.

const test = require('ava')
const ffi = require('ffi/c')
const fixture = require('./helpers/fixture')

const lib = ffi.load(fixture.build())
ffi.cdef(`
  double cl_vsum(const char *fmt, ...);
  int32_t cl_i32(int32_t);
  double cl_double(double);
  int snprintf(char *buf, size_t n, const char *fmt, ...);
`)

test('a bool cdata as a variadic argument is an int (what a boolean is)', (t) => {
  t.is(lib.cl_vsum('i', true), 1, 'a JavaScript boolean works')
  t.is(lib.cl_vsum('i', ffi.new('int', 1)), 1, 'an int cdata works')
})

test('a bool cdata as a variadic argument: promoted to int, as C does', (t) => {
  t.is(lib.cl_vsum('ii', ffi.new('bool', true), ffi.cast('bool', 0)), 1)
  const buf = Buffer.alloc(16)
  const n = ffi.C.snprintf(buf, 16, '%d', ffi.new('bool', true))
  t.is(buf.toString('latin1', 0, n), '1')
})

test('a bool cdata converts to an integer argument, as LuaJIT (CCX(I, B))', (t) => {
  t.is(lib.cl_i32(ffi.new('bool', true)), 1)
})

test('a bool cdata converts to a floating argument, as LuaJIT (CCX(F, B))', (t) => {
  t.is(lib.cl_double(ffi.new('bool', true)), 1)
})

test('cast and new from a bool cdata to int, int64_t and double, as a C cast', (t) => {
  t.is(ffi.cast('int', ffi.new('bool', true)).value, 1)
  t.is(ffi.new('int64_t', ffi.new('bool', true)).value, 1n)
  t.is(ffi.new('double', ffi.new('bool', true)).value, 1)
})
