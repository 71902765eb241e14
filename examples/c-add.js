// ffi/c: load a shared library and call a function declared with cdef.
// The library is this repository's test fixture, __test__/fixture/*.c,
// compiled once by __test__/helpers/fixture.js (with the system's cc);
// ffi.load takes its path as it is, since it has a path separator.
const ffi = require('ffi/c')
const fixture = require('../__test__/helpers/fixture')

ffi.cdef('int cl_add(int a, int b);')
const lib = ffi.load(fixture.build())

console.log(lib.cl_add(1, 2)) // 3
