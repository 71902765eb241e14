// qsort from libc with a JavaScript comparator, through ffi.Closure.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const libc = dlopen(null)
const qsort = ffi.readPointer(dlsym(libc, 'qsort'), 0)
const P = ffi.sizeof.pointer

// int compare(const void *a, const void *b)
const compare = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.pointer), (rValue, aValues) => {
  // aValues holds the address of each argument; each argument is a pointer.
  const a = ffi.readPointer(ffi.readPointer(aValues, 0, P), 0, 4).readInt32LE(0)
  const b = ffi.readPointer(ffi.readPointer(aValues, P, P), 0, 4).readInt32LE(0)
  rValue.writeBigInt64LE(BigInt(Math.sign(a - b))) // an int result fills a whole ffi_arg
})

const numbers = [42, -7, 19, 0, 3, 3, -100]
const array = Buffer.alloc(4 * numbers.length)
numbers.forEach((n, i) => array.writeInt32LE(n, 4 * i))

// void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *))
const cif = ffi.CIF(ffi.types.void, ffi.types.pointer, ffi.types.size_t, ffi.types.size_t, ffi.types.pointer)
const args = [Buffer.alloc(P), Buffer.alloc(8), Buffer.alloc(8), Buffer.alloc(P)]
ffi.writePointer(args[0], 0, array)
args[1].writeBigUInt64LE(BigInt(numbers.length))
args[2].writeBigUInt64LE(4n)
ffi.writePointer(args[3], 0, compare)
const aValues = Buffer.alloc(P * args.length)
args.forEach((a, i) => ffi.writePointer(aValues, i * P, a))
ffi.call(cif, qsort, Buffer.alloc(ffi.sizeof.ffi_arg), aValues)

console.log(Array.from({ length: numbers.length }, (_, i) => array.readInt32LE(4 * i)).join(' '))
// -100 -7 0 3 3 19 42
