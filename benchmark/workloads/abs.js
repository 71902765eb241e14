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
      c.ffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          arg.writeInt32LE(-i, 0)
          ffi.call(cif, abs, rValue, aValues)
          sum += rValue.readInt32LE(0)
        }
        return sum
      }
    }
    if (floor) {
      c['N-API static binding'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum += floor.absStatic(-i)
        return sum
      }
    }
    if (koffi) {
      const abs = koffi.load('libc.so.6').func('int abs(int)')
      c.koffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum += abs(-i)
        return sum
      }
    }
    if (ffiRs) {
      const { DataType, open, define } = ffiRs
      open({ library: 'libc', path: 'libc.so.6' })
      const { abs } = define({ abs: { library: 'libc', retType: DataType.I32, paramsType: [DataType.I32] } })
      c['ffi-rs'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum += abs([-i])
        return sum
      }
    }
    if (nodeFfi) {
      const { abs } = nodeFfi.dlopen('libc.so.6', { abs: { return: 'int32', arguments: ['int32'] } }).functions
      c['node:ffi'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum += abs(-i)
        return sum
      }
    }
    return c
  },
}
