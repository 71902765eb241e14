'use strict'

// qsort of 100,000 ints from libc with a JavaScript comparator; one
// operation is one comparison.
const N = 100000

function data() {
  const a = new Int32Array(N)
  let x = 12345
  for (let i = 0; i < N; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    a[i] = x - 0x40000000
  }
  return a
}

module.exports = {
  name: 'qsort 100,000 ints, per comparison',
  perCall: true,
  fixedOps: true,
  contenders({ ffi, dl, koffi, nodeFfi, C }) {
    const c = {}
    const source = data()
    {
      // ffi/c: the comparator passed directly, reading its arguments with get(0).
      C.cdef('void qsort(void *base, size_t n, size_t size, int (*cmp)(const int *, const int *));')
      const array = new Int32Array(N)
      let comparisons = 0
      const cmp = (a, b) => {
        comparisons++
        const x = a.get(0)
        const y = b.get(0)
        return x < y ? -1 : x > y ? 1 : 0
      }
      c['ffi/c'] = () => {
        array.set(source)
        comparisons = 0
        C.C.qsort(array, N, 4, cmp)
        return comparisons
      }
      c['ffi/c']()
      for (let i = 1; i < N; i++) if (array[i - 1] > array[i]) throw new Error('qsort benchmark: not sorted (ffi/c)')
    }
    {
      const qsort = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'qsort'), 0)
      const array = Buffer.alloc(4 * N)
      const base = ffi.address(array)
      let comparisons = 0
      const ints = new Int32Array(array.buffer, array.byteOffset, N)
      // Arguments are pointers into `array`: read them from `args` as
      // addresses and index our own view, no Buffer made per call. The
      // Buffers are the same objects on every call at one depth, so the
      // typed-array views over them are made once (README: "Callbacks").
      let lastArgs, pointers, result
      const cmp = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.pointer), (rValue, aValues, args) => {
        comparisons++
        if (args !== lastArgs) {
          lastArgs = args
          pointers = new Uint32Array(args.buffer, args.byteOffset, 4)
          result = new Int32Array(rValue.buffer, rValue.byteOffset, 2)
        }
        const a = ints[(pointers[0] + pointers[1] * 4294967296 - base) / 4]
        const b = ints[(pointers[2] + pointers[3] * 4294967296 - base) / 4]
        const r = a < b ? -1 : a > b ? 1 : 0
        result[0] = r
        result[1] = r >> 31
      })
      const cif = ffi.CIF(ffi.types.void, ffi.types.pointer, ffi.types.size_t, ffi.types.size_t, ffi.types.pointer)
      const args = [Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(8)]
      ffi.writePointer(args[0], 0, array)
      args[1].writeBigUInt64LE(BigInt(N))
      args[2].writeBigUInt64LE(4n)
      ffi.writePointer(args[3], 0, cmp)
      const aValues = Buffer.alloc(4 * ffi.sizeof.pointer)
      args.forEach((b, i) => ffi.writePointer(aValues, i * ffi.sizeof.pointer, b))
      const rValue = Buffer.alloc(8)
      c.ffi = () => {
        new Int32Array(array.buffer, array.byteOffset, N).set(source)
        comparisons = 0
        ffi.call(cif, qsort, rValue, aValues)
        return comparisons
      }
      c.ffi()
      for (let i = 1; i < N; i++) if (ints[i - 1] > ints[i]) throw new Error('qsort benchmark: not sorted')
    }
    if (koffi) {
      const Cmp = koffi.proto('int ffi_bench_cmp(const int *a, const int *b)')
      const qsort = koffi.load('libc.so.6').func('void qsort(_Inout_ int *base, size_t n, size_t size, ffi_bench_cmp *cmp)')
      let comparisons = 0
      const cmp = koffi.register((a, b) => {
        comparisons++
        const x = koffi.decode(a, 'int')
        const y = koffi.decode(b, 'int')
        return x < y ? -1 : x > y ? 1 : 0
      }, koffi.pointer(Cmp))
      const array = new Int32Array(N)
      c.koffi = () => {
        array.set(source)
        comparisons = 0
        qsort(array, N, 4, cmp)
        return comparisons
      }
    }
    if (nodeFfi) {
      const { lib, functions } = nodeFfi.dlopen('libc.so.6', {
        qsort: { return: 'void', arguments: ['pointer', 'uint64', 'uint64', 'pointer'] },
      })
      let comparisons = 0
      const cmp = lib.registerCallback({ return: 'int32', arguments: ['pointer', 'pointer'] }, (a, b) => {
        comparisons++
        const x = nodeFfi.getInt32(a)
        const y = nodeFfi.getInt32(b)
        return x < y ? -1 : x > y ? 1 : 0
      })
      const array = new Int32Array(N)
      const p = nodeFfi.getRawPointer(array)
      c['node:ffi'] = () => {
        array.set(source)
        comparisons = 0
        functions.qsort(p, BigInt(N), 4n, cmp)
        return comparisons
      }
    }
    return c
  },
}
