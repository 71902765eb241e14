'use strict'

// int64_t call_n(int (*cb)(int), int n) from the fixture: n round trips
// from C into a JavaScript callback; one operation is one callback.
module.exports = {
  name: 'callback round trip',
  perCall: true,
  contenders({ ffi, dl, koffi, nodeFfi, fixture, floor, C }) {
    const c = {}
    {
      // ffi/c: a callback made once with cast.
      C.cdef('int64_t call_n(int (*cb)(int), int n);')
      const lib = C.load(fixture)
      const cb = C.cast('int (*)(int)', (x) => x + 1)
      c['ffi/c'] = (n) => Number(lib.call_n(cb, n))
      if (c['ffi/c'](1000) !== 500500) throw new Error('callback benchmark: wrong sum (ffi/c)')
    }
    if (floor) {
      // The least any N-API callback costs: C calling a JavaScript function
      // through napi_call_function, one handle scope and an int each way.
      const inc = (x) => x + 1
      c['N-API call into JS'] = (n) => floor.callJs(inc, n)
      // The least: no value either way, one handle scope per 64 calls.
      let calls = 0
      const bump = () => {
        calls++
      }
      c['N-API call into JS, no values'] = (n) => {
        calls = 0
        floor.callJsBare(bump, n)
        return calls
      }
    }
    {
      const callN = ffi.readPointer(dl.dlsym(dl.dlopen(fixture), 'call_n'), 0)
      // The callback reads its int from `args` (the values, packed) and
      // writes its int result as a whole ffi_arg. The Buffers are the same
      // objects on every call at one depth, so typed-array views over them
      // are made once (README: "Callbacks").
      let lastArgs, argView, resultView
      const cb = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.int), (rValue, aValues, args) => {
        if (args !== lastArgs) {
          lastArgs = args
          argView = new Int32Array(args.buffer, args.byteOffset, 1)
          resultView = new Int32Array(rValue.buffer, rValue.byteOffset, 2)
        }
        const r = argView[0] + 1
        resultView[0] = r
        resultView[1] = r >> 31
      })
      const cif = ffi.CIF(ffi.types.int64, ffi.types.pointer, ffi.types.int)
      const fnArg = Buffer.alloc(ffi.sizeof.pointer)
      ffi.writePointer(fnArg, 0, cb)
      const nArg = Buffer.alloc(4)
      const aValues = Buffer.alloc(2 * ffi.sizeof.pointer)
      ffi.writePointer(aValues, 0, fnArg)
      ffi.writePointer(aValues, ffi.sizeof.pointer, nArg)
      const rValue = Buffer.alloc(8)
      c.ffi = (n) => {
        nArg.writeInt32LE(n, 0)
        ffi.call(cif, callN, rValue, aValues)
        return Number(rValue.readBigInt64LE(0))
      }
      // sum of (i + 1) for i < 1000
      if (c.ffi(1000) !== 500500) throw new Error('callback benchmark: wrong sum')
    }
    if (koffi) {
      const lib = koffi.load(fixture)
      const Cb = koffi.proto('int ffi_bench_cb(int)')
      const callN = lib.func('int64_t call_n(ffi_bench_cb *cb, int n)')
      const cb = koffi.register((x) => x + 1, koffi.pointer(Cb))
      c.koffi = (n) => Number(callN(cb, n))
    }
    if (nodeFfi) {
      const { lib, functions } = nodeFfi.dlopen(fixture, { call_n: { return: 'int64', arguments: ['pointer', 'int32'] } })
      const cb = lib.registerCallback({ return: 'int32', arguments: ['int32'] }, (x) => x + 1)
      c['node:ffi'] = (n) => Number(functions.call_n(cb, n))
    }
    return c
  },
}
