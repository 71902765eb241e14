// ffi/c: declare printf as C's headers do, then call it from ffi.C (the
// process's own symbols: libc is there). The format and 'world' are
// JavaScript strings, passed as NUL-terminated UTF-8 `const char *` for the
// duration of the call; the variadic argument's C type comes from its
// JavaScript kind (a string is a `const char *`).
const ffi = require('ffi/c')

ffi.cdef('int printf(const char *fmt, ...);')

ffi.C.printf('Hello %s!\n', 'world') // Hello world!
