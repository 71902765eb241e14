'use strict'

// strlen('hello, world'): a JavaScript string converted per call (a
// NUL-terminated UTF-8 copy), a size_t back.
const S = 'hello, world'

module.exports = {
  name: "strlen('hello, world')",
  contenders({ ffi, dl, koffi, C }) {
    const c = {}
    {
      C.cdef('size_t strlen(const char *);')
      c['ffi/c'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + Number(C.C.strlen(S))) | 0
        return sum
      }
    }
    {
      // The raw layer: the string copied with allocCString per call.
      const fn = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'strlen'), 0)
      const cif = ffi.CIF(ffi.types.size_t, ffi.types.pointer)
      const arg = Buffer.alloc(8)
      const aValues = Buffer.alloc(ffi.sizeof.pointer)
      ffi.writePointer(aValues, 0, arg)
      const rValue = Buffer.alloc(8)
      const bound = ffi.bind(cif, fn, rValue, aValues)
      const result = new Float64Array(1)
      void result
      c['ffi.bind'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          ffi.writePointer(arg, 0, ffi.allocCString(S))
          bound()
          sum = (sum + rValue[0]) | 0
        }
        return sum
      }
    }
    if (koffi) {
      const strlen = koffi.load('libc.so.6').func('size_t strlen(const char *)')
      c.koffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + Number(strlen(S))) | 0
        return sum
      }
    }
    return c
  },
}
