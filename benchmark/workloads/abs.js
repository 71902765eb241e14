'use strict'

// abs(int) from libc: the smallest possible call.
module.exports = {
  name: 'abs(int)',
  contenders({ ffi, dl, koffi, ffiRs, nodeFfi, floor, C }) {
    const c = {}
    {
      // ffi/c: the call as LuaJIT code reads, the namespace lookup inside the loop.
      C.cdef('int abs(int);')
      c['ffi/c'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + C.C.abs(-i)) | 0
        return sum
      }
    }
    {
      const abs = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'abs'), 0)
      const cif = ffi.CIF(ffi.types.int, ffi.types.int)
      const P = ffi.sizeof.pointer
      // The layout the README recommends: the argument lives in aValues' own
      // tail, so a repeated call has no other ArrayBuffer to find attached.
      const aValues = Buffer.alloc(P + 8)
      const arg = aValues.subarray(P, P + 4)
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
      // The SPEC's example layout: a Buffer of its own for the argument.
      // (A CIF of its own, so that the two layouts do not take turns on one
      // CIF's fast-path slot.)
      const cif2 = ffi.CIF(ffi.types.int, ffi.types.int)
      const own = Buffer.alloc(4)
      const aValues2 = Buffer.alloc(P)
      ffi.writePointer(aValues2, 0, own)
      const ownView = new Int32Array(own.buffer, own.byteOffset, 1)
      c['ffi, Buffer per argument'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          ownView[0] = -i
          ffi.call(cif2, abs, rValue, aValues2)
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
