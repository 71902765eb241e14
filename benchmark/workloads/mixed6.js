'use strict'

// double mixed6(int32_t, double, void *, int64_t, float, uint8_t) from the
// fixture: six arguments of mixed kinds.
module.exports = {
  name: '6 mixed arguments',
  contenders({ ffi, dl, koffi, ffiRs, nodeFfi, fixture, C }) {
    const c = {}
    const target = Buffer.alloc(16)
    {
      C.cdef('double mixed6(int32_t, double, void *, int64_t, float, uint8_t);')
      const fx = C.load(fixture)
      c['ffi/c'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + fx.mixed6(i, 0.25, target, 7n, 0.5, 3)) | 0
        return sum
      }
    }
    {
      const fn = ffi.readPointer(dl.dlsym(dl.dlopen(fixture), 'mixed6'), 0)
      const t = ffi.types
      const cif = ffi.CIF(t.double, t.int32, t.double, t.pointer, t.int64, t.float, t.uint8)
      const P = ffi.sizeof.pointer
      const sizes = [4, 8, P, 8, 4, 1]
      /** Stores the six arguments' addresses and fixed values; views on the two that change. */
      const layout = (aValues, args) => {
        args.forEach((b, i) => ffi.writePointer(aValues, i * P, b))
        ffi.writePointer(args[2], 0, target)
        args[3].writeBigInt64LE(7n)
        args[4].writeFloatLE(0.5)
        args[5].writeUInt8(3)
        return {
          a0: new Int32Array(args[0].buffer, args[0].byteOffset, 1),
          a1: new Float64Array(args[1].buffer, args[1].byteOffset, 1),
        }
      }
      // The layout the README recommends: the arguments live in aValues' own
      // tail, so a repeated call has no other ArrayBuffer to find attached.
      const aValues = Buffer.alloc(6 * P + 40)
      const offsets = [0, 8, 16, 24, 32, 36].map((o) => 6 * P + o)
      const { a0, a1 } = layout(
        aValues,
        offsets.map((o, i) => aValues.subarray(o, o + sizes[i])),
      )
      const rValue = Buffer.alloc(8)
      const result = new Float64Array(rValue.buffer, rValue.byteOffset, 1)
      c.ffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          a0[0] = i
          a1[0] = 0.25
          ffi.call(cif, fn, rValue, aValues)
          sum = (sum + result[0]) | 0
        }
        return sum
      }
      const bound = ffi.bind(cif, fn, rValue, aValues)
      c['ffi.bind'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          a0[0] = i
          a1[0] = 0.25
          bound()
          sum = (sum + result[0]) | 0
        }
        return sum
      }
      // The SPEC's example layout: a Buffer of its own for each argument.
      // (A CIF of its own, so that the two layouts do not take turns on one
      // CIF's fast-path slot.)
      const cif2 = ffi.CIF(t.double, t.int32, t.double, t.pointer, t.int64, t.float, t.uint8)
      const aValues2 = Buffer.alloc(6 * P)
      const own = layout(
        aValues2,
        sizes.map((n) => Buffer.alloc(n)),
      )
      const [b0, b1] = [own.a0, own.a1]
      c['ffi, Buffer per argument'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) {
          b0[0] = i
          b1[0] = 0.25
          ffi.call(cif2, fn, rValue, aValues2)
          sum = (sum + result[0]) | 0
        }
        return sum
      }
    }
    if (koffi) {
      const fn = koffi.load(fixture).func('double mixed6(int32_t, double, void *, int64_t, float, uint8_t)')
      c.koffi = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + fn(i, 0.25, target, 7, 0.5, 3)) | 0
        return sum
      }
    }
    if (ffiRs) {
      const { DataType, open, define, createPointer, unwrapPointer } = ffiRs
      open({ library: 'fixture', path: fixture })
      const { mixed6 } = define({
        mixed6: {
          library: 'fixture',
          retType: DataType.Double,
          paramsType: [DataType.I32, DataType.Double, DataType.External, DataType.I64, DataType.Float, DataType.U8],
        },
      })
      const p = unwrapPointer(createPointer({ paramsType: [DataType.U8Array], paramsValue: [target] }))[0]
      c['ffi-rs'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + mixed6([i, 0.25, p, 7, 0.5, 3])) | 0
        return sum
      }
    }
    if (nodeFfi) {
      const { mixed6 } = nodeFfi.dlopen(fixture, {
        mixed6: { return: 'double', arguments: ['int32', 'double', 'pointer', 'int64', 'float', 'uint8'] },
      }).functions
      const p = nodeFfi.getRawPointer(target)
      c['node:ffi'] = (n) => {
        let sum = 0
        for (let i = 0; i < n; i++) sum = (sum + mixed6(i, 0.25, p, 7n, 0.5, 3)) | 0
        return sum
      }
    }
    return c
  },
}
