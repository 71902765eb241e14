'use strict'

// snprintf(buf, 64, '%d %.1f %s', int, double, string): a variadic call
// with a boxed int, a number and a string.
module.exports = {
  name: 'snprintf, 3 varargs',
  contenders({ koffi, C }) {
    const c = {}
    const buf = Buffer.alloc(64)
    {
      C.cdef('int snprintf(char *buf, size_t n, const char *fmt, ...);')
      c['ffi/c'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + C.C.snprintf(buf, 64, '%d %.1f %s', C.new('int', i), 1.5, 'ok')) | 0
        return sum
      }
      c['ffi/c'](1)
      if (!buf.toString('latin1').startsWith('0 1.5 ok\0')) throw new Error('snprintf benchmark: wrong output')
    }
    if (koffi) {
      const snprintf = koffi.load('libc.so.6').func('int snprintf(_Out_ uint8_t *buf, size_t n, const char *fmt, ...)')
      c.koffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + snprintf(buf, 64, '%d %.1f %s', 'int', i, 'double', 1.5, 'str', 'ok')) | 0
        return sum
      }
    }
    return c
  },
}
