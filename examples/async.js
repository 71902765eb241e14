// ffi.callAsync: the same call as ffi.call, made on libuv's thread pool so
// that the JavaScript thread stays free. It resolves to the errno the
// function left; the result is in rValue once it has.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')
const { constants } = require('node:os')

const libc = dlopen(null)
const fn = (name) => ffi.readPointer(dlsym(libc, name), 0)
const P = ffi.sizeof.pointer

// aValues for n arguments with their storage in its own tail; `args` is
// that tail, argument i at 8 * i (the layout a closure's args has).
function argumentBuffers(n) {
  const aValues = Buffer.alloc(n * P + n * 8)
  const args = aValues.subarray(n * P)
  for (let i = 0; i < n; i++) ffi.writePointer(aValues, i * P, args.subarray(8 * i, 8 * i + 8))
  return { aValues, args }
}

async function main() {
  // int usleep(useconds_t usec): C sleeps on a pool thread, JavaScript runs meanwhile.
  const sleep = argumentBuffers(1)
  sleep.args.writeUInt32LE(200000, 0) // 0.2 s
  const slept = Buffer.alloc(ffi.sizeof.ffi_arg)
  const done = ffi.callAsync(ffi.CIF(ffi.types.int, ffi.types.uint32), fn('usleep'), slept, sleep.aValues)
  setImmediate(() => console.log('usleep: JavaScript runs while C sleeps'))
  await done
  console.log(`usleep: returned ${slept.readInt32LE(0)}`)

  // int access(const char *path, int mode): fails, and sets errno. The
  // arguments were copied when callAsync was called; the string they point
  // to is the caller's to keep alive until the call is done, as in C.
  const path = ffi.allocCString('/no/such/file')
  const a = argumentBuffers(2)
  ffi.writePointer(a.args, 0, path)
  a.args.writeInt32LE(0, 8) // F_OK
  const r = Buffer.alloc(ffi.sizeof.ffi_arg)
  const errno = await ffi.callAsync(ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.int), fn('access'), r, a.aValues)
  const name = Object.keys(constants.errno).find((k) => constants.errno[k] === errno)
  console.log(`access: returned ${r.readInt32LE(0)}, errno ${name}`)

  // The callback form: callback(err, errno).
  ffi.callAsync(ffi.CIF(ffi.types.int, ffi.types.pointer, ffi.types.int), fn('access'), r, a.aValues, (err, e) => {
    if (err) throw err
    console.log(`access (callback): returned ${r.readInt32LE(0)}, errno ${e === errno ? 'the same' : e}`)
  })
}

main()
