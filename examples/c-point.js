// ffi/c: a C function that takes an array of pointers to structs and
// returns a struct by value (the test fixture, __test__/fixture/calls.c):
//   struct point cl_point_add(struct point **p): the sum of *p[0] and *p[1]
const ffi = require('ffi/c')
const fixture = require('../__test__/helpers/fixture')

ffi.cdef(`
  struct point { int x; int y; };
  struct point cl_point_add(struct point **p);
`)
const lib = ffi.load(fixture.build())

const pa = ffi.new('struct point', 1, 2) // { x: 1, y: 2 }, GC-managed
const pb = ffi.new('struct point', 2, 1)
const pointers = ffi.typeof('struct point *[?]') // a variable-length array type
// Two pointers to pa and pb (a pointer does not keep its target alive: pa
// and pb stay reachable here while C reads them).
const pts = ffi.new(pointers, 2, ffi.cast('struct point *', pa), ffi.cast('struct point *', pb))

const r = lib.cl_point_add(ffi.cast('struct point **', pts)) // a new struct point
console.log(r.x, r.y) // 3 3
