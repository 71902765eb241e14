'use strict'

// abs(int) from libc: the smallest possible call.
module.exports = {
  name: 'abs(int)',
  contenders({ ffi, dl, koffi, ffiRs, nodeFfi, floor }) {
    const c = {}
    {
      const abs = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'abs'), 0)
      const cif = ffi.CIF(ffi.types.int, ffi.types.int)
      const arg = Buffer.alloc(4)
      const aValues = Buffer.alloc(ffi.sizeof.pointer)
      ffi.writePointer(aValues, 0, arg)
      const rValue = Buffer.alloc(8)
      // Typed-array views over the Buffers: the fast way to read and write them.
      const argView = new Int32Array(arg.buffer, arg.byteOffset, 1)
      const resultView = new Int32Array(rValue.buffer, rValue.byteOffset, 2)
      c.ffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          argView[0] = -i
          ffi.call(cif, abs, rValue, aValues)
          sum = (sum + resultView[0]) | 0
        }
        return sum
      }
      const bound = ffi.bind(cif, abs, rValue, aValues)
      c['ffi.bind'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          argView[0] = -i
          bound()
          sum = (sum + resultView[0]) | 0
        }
        return sum
      }
    }
    if (floor) {
      c['N-API static binding'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + floor.absStatic(-i | 0)) | 0
        return sum
      }
    }
    if (koffi) {
      const abs = koffi.load('libc.so.6').func('int abs(int)')
      c.koffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + abs(-i | 0)) | 0
        return sum
      }
    }
    if (ffiRs) {
      const { DataType, open, define } = ffiRs
      open({ library: 'libc', path: 'libc.so.6' })
      const { abs } = define({ abs: { library: 'libc', retType: DataType.I32, paramsType: [DataType.I32] } })
      c['ffi-rs'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + abs([-i | 0])) | 0
        return sum
      }
    }
    if (nodeFfi) {
      const { abs } = nodeFfi.dlopen('libc.so.6', { abs: { return: 'int32', arguments: ['int32'] } }).functions
      c['node:ffi'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + abs(-i | 0)) | 0
        return sum
      }
    }
    return c
  },
}
