'use strict'

// Views that lie about themselves (argv[2] names which), used for a call,
// then detached: the next call must throw ERR_FFI_DETACHED, and C must not
// read or write the memory that moved away. Prints what happened as JSON.
const vm = require('node:vm')
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const how = process.argv[2]
const labs = ffi.readPointer(dlsym(dlopen(null), 'labs'), 0)
const cif = ffi.CIF(ffi.types.int64, ffi.types.int64)
const moveAway = (ab) => new Uint8Array(structuredClone(ab, { transfer: [ab] }))

class Lying extends Uint8Array {
  get length() {
    return 8
  }
}
let armed = false
class ThrowsOnce extends Uint8Array {
  get buffer() {
    if (armed) {
      armed = false
      throw new Error('buffer getter throws once')
    }
    return super.buffer
  }
}

let rValue = Buffer.alloc(8)
let arg = Buffer.alloc(8)
const aValues = Buffer.alloc(8)
let victim // the view detached after the first call
if (how === 'subclass-length-rvalue') victim = rValue = new Lying(8)
if (how === 'own-length-rvalue') {
  victim = rValue
  Object.defineProperty(rValue, 'length', { value: 8 })
}
if (how === 'subclass-length-arg') victim = arg = new Lying(8)
if (how === 'throwing-buffer-arg') victim = arg = new ThrowsOnce(8)
if (how === 'foreign-dataview-arg') victim = arg = vm.runInNewContext('new DataView(new ArrayBuffer(8))')
if (how === 'foreign-dataview-rvalue') victim = rValue = vm.runInNewContext('new DataView(new ArrayBuffer(8))')

const put = (v) => (arg instanceof Uint8Array ? Buffer.from(arg.buffer, arg.byteOffset, 8) : Buffer.from(arg.buffer)).writeBigInt64LE(v)
const out = { first: [], after: null }
put(-5n)
ffi.writePointer(aValues, 0, arg)
armed = true
for (let i = 0; i < 3; i++) {
  try {
    ffi.call(cif, labs, rValue, aValues)
    const r = rValue instanceof Uint8Array ? Buffer.from(rValue.buffer, rValue.byteOffset, 8) : Buffer.from(rValue.buffer)
    out.first.push(String(r.readBigInt64LE(0)))
  } catch (e) {
    out.first.push(e.message)
  }
}
armed = false
const moved = moveAway(victim.buffer)
moved.fill(0)
if (victim === arg) new DataView(moved.buffer).setBigInt64(0, -77n, true)
try {
  ffi.call(cif, labs, rValue, aValues)
  out.after = 'no error'
} catch (e) {
  out.after = e.code
}
out.moved = String(new DataView(moved.buffer).getBigInt64(0, true))
console.log(JSON.stringify(out))
