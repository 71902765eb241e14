// qsort from libc with a JavaScript comparator, through ffi.Closure.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const qsort = ffi.readPointer(dlsym(dlopen(null), 'qsort'), 0)
const P = ffi.sizeof.pointer

const numbers = [42, -7, 19, 0, 3, 3, -100]
const array = Buffer.alloc(4 * numbers.length) // the ints C sorts, in place
const ints = new Int32Array(array.buffer, array.byteOffset, numbers.length)
ints.set(numbers)
const base = ffi.address(array)

// int compare(const void *a, const void *b). The callback gets (rValue,
// aValues, args): args holds the argument values themselves, argument i at
// 8 * i; here two addresses. qsort passes pointers to elements of the array,
// so each address gives an index into `ints`: no Buffer is made per call.
// The three Buffers are the same objects on every call (at one depth of
// nesting), so the views over them are made once, on the first call.
let lastArgs, addresses, result
const compare = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.pointer), (rValue, aValues, args) => {
  if (args !== lastArgs) {
    lastArgs = args
    addresses = new Uint32Array(args.buffer, args.byteOffset, 4) // two 64-bit addresses, in halves
    result = new Int32Array(rValue.buffer, rValue.byteOffset, 2) // the whole ffi_arg
  }
  const a = ints[(addresses[0] + addresses[1] * 2 ** 32 - base) / 4]
  const b = ints[(addresses[2] + addresses[3] * 2 ** 32 - base) / 4]
  const r = a < b ? -1 : a > b ? 1 : 0
  result[0] = r // an int result fills a whole ffi_arg: the low half,
  result[1] = r >> 31 // then its sign
})

// void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *))
const cif = ffi.CIF(ffi.types.void, ffi.types.pointer, ffi.types.size_t, ffi.types.size_t, ffi.types.pointer)
const aValues = Buffer.alloc(4 * P + 4 * 8) // four pointers, then the four arguments
const args = aValues.subarray(4 * P)
for (let i = 0; i < 4; i++) ffi.writePointer(aValues, i * P, args.subarray(8 * i, 8 * i + 8))
ffi.writePointer(args, 0, array)
args.writeBigUInt64LE(BigInt(numbers.length), 8)
args.writeBigUInt64LE(4n, 16)
ffi.writePointer(args, 24, compare) // a closure is a pointer Buffer like any other
ffi.call(cif, qsort, Buffer.alloc(ffi.sizeof.ffi_arg), aValues)

console.log(Array.from(ints).join(' '))
// -100 -7 0 3 3 19 42
