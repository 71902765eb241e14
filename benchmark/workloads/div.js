'use strict'

// div_t div(int, int) from libc: a struct returned by value.
module.exports = {
  name: 'div() struct by value',
  contenders({ ffi, dl, koffi, ffiRs, C }) {
    const c = {}
    {
      // ffi/c: a struct cdata back, its fields read.
      C.cdef('typedef struct { int quot; int rem; } div_t; div_t div(int, int);')
      c['ffi/c'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          const r = C.C.div(i, 7)
          sum = (sum + r.quot + r.rem) | 0
        }
        return sum
      }
    }
    {
      const div = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'div'), 0)
      const divT = ffi.StructType(ffi.types.int, ffi.types.int)
      const cif = ffi.CIF(divT, ffi.types.int, ffi.types.int)
      const num = Buffer.alloc(4)
      const den = Buffer.alloc(4)
      den.writeInt32LE(7, 0)
      const aValues = Buffer.alloc(2 * ffi.sizeof.pointer)
      ffi.writePointer(aValues, 0, num)
      ffi.writePointer(aValues, ffi.sizeof.pointer, den)
      const rValue = Buffer.alloc(8)
      const numView = new Int32Array(num.buffer, num.byteOffset, 1)
      const result = new Int32Array(rValue.buffer, rValue.byteOffset, 2)
      c.ffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          numView[0] = i
          ffi.call(cif, div, rValue, aValues)
          sum = (sum + result[0] + result[1]) | 0
        }
        return sum
      }
    }
    if (koffi) {
      const DivT = koffi.struct('ffi_bench_div_t', { quot: 'int', rem: 'int' })
      const div = koffi.load('libc.so.6').func('ffi_bench_div_t div(int, int)')
      void DivT
      c.koffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          const r = div(i, 7)
          sum = (sum + r.quot + r.rem) | 0
        }
        return sum
      }
    }
    if (ffiRs) {
      const { DataType, open, define } = ffiRs
      open({ library: 'libc', path: 'libc.so.6' })
      const { div } = define({
        div: {
          library: 'libc',
          retType: { quot: DataType.I32, rem: DataType.I32, ffiTypeTag: DataType.StackStruct },
          paramsType: [DataType.I32, DataType.I32],
        },
      })
      c['ffi-rs'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          const r = div([i, 7])
          sum = (sum + r.quot + r.rem) | 0
        }
        return sum
      }
    }
    return c
  },
}
