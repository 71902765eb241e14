'use strict'

// A view over the end of a page whose neighbours are unmapped: cloning it
// (which copies its whole ArrayBuffer) and reading its buffer must not
// fault. Prints what was read, as JSON.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const libc = dlopen(null)
const fn = (name) => ffi.readPointer(dlsym(libc, name), 0)
const PAGE = 4096
function call(name, ret, args, values) {
  const cif = ffi.CIF(ffi.types[ret], ...args.map((t) => ffi.types[t]))
  const aValues = Buffer.alloc(8 * args.length)
  values.forEach((v, i) => {
    const slot = Buffer.alloc(8)
    if (typeof v === 'object') ffi.writePointer(slot, 0, v)
    else slot.writeBigInt64LE(BigInt(v))
    ffi.writePointer(aValues, 8 * i, slot)
  })
  const r = Buffer.alloc(8)
  ffi.call(cif, fn(name), r, aValues)
  return ret === 'pointer' ? ffi.readPointer(r, 0) : r.readBigInt64LE(0)
}
// Three pages, then the outer two unmapped: the middle one stands alone.
const base = call('mmap', 'pointer', ['pointer', 'size_t', 'int', 'int', 'int', 'int64'], [ffi.NULL, 3 * PAGE, 3, 0x22, -1, 0])
const at = ffi.address(base) + PAGE
call('munmap', 'int', ['pointer', 'size_t'], [base, PAGE])
call('munmap', 'int', ['pointer', 'size_t'], [ffi.fromAddress(at + PAGE), PAGE])
const page = ffi.fromAddress(at, PAGE)
page.fill(7)
page.write('end!', PAGE - 4)
const view = ffi.fromAddress(at + PAGE - 8, 8)
const clone = structuredClone(view)
const whole = new Uint8Array(view.buffer)
console.log(JSON.stringify({ clone: Buffer.from(clone).toString('latin1'), bufferLength: whole.length, sum: whole.reduce((a, b) => a + b, 0) > 0 }))
