// Structs. By value: div_t div(int numer, int denom) returns
// struct { int quot; int rem; }. Through a pointer:
// struct tm *localtime_r(const time_t *timep, struct tm *result) fills a
// struct tm that JavaScript allocated. ffi.StructType lays a struct out as
// the C compiler does; ffi.offsetsof says where each field is.
const ffi = require('ffi')
const { dlopen, dlsym } = require('ffi/dlopen')

const libc = dlopen(null)
const fn = (name) => ffi.readPointer(dlsym(libc, name), 0)
const P = ffi.sizeof.pointer
const { int, long, pointer } = ffi.types

// aValues for n arguments with their storage in its own tail; `args` is
// that tail, argument i at 8 * i (the layout a closure's args has).
function argumentBuffers(n) {
  const aValues = Buffer.alloc(n * P + n * 8)
  const args = aValues.subarray(n * P)
  for (let i = 0; i < n; i++) ffi.writePointer(aValues, i * P, args.subarray(8 * i, 8 * i + 8))
  return { aValues, args }
}

// div_t div(int numer, int denom): a struct returned by value.
const divT = ffi.StructType(int, int) // struct { int quot; int rem; }
const [quotAt, remAt] = ffi.offsetsof(divT)
const divResult = Buffer.alloc(Math.max(ffi.typeInfo(divT).size, ffi.sizeof.ffi_arg))
const d = argumentBuffers(2)
d.args.writeInt32LE(17, 0)
d.args.writeInt32LE(5, 8)
ffi.call(ffi.CIF(divT, int, int), fn('div'), divResult, d.aValues)
console.log(`div(17, 5) = { quot: ${divResult.readInt32LE(quotAt)}, rem: ${divResult.readInt32LE(remAt)} }`)

// struct tm (glibc, and the BSDs and macOS): nine ints, then
// long tm_gmtoff and const char *tm_zone.
const tmT = ffi.StructType(int, int, int, int, int, int, int, int, int, long, pointer)
const [sec, min, hour, mday, mon, year, wday, yday, , gmtoff, zone] = ffi.offsetsof(tmT)
const tm = Buffer.alloc(ffi.typeInfo(tmT).size) // the struct C fills in
const when = Buffer.alloc(8) // a time_t, 64 bits here
when.writeBigInt64LE(1700000000n)

// struct tm *localtime_r(const time_t *timep, struct tm *result)
const l = argumentBuffers(2)
ffi.writePointer(l.args, 0, when)
ffi.writePointer(l.args, 8, tm)
const rValue = Buffer.alloc(ffi.sizeof.ffi_arg)
ffi.call(ffi.CIF(pointer, pointer, pointer), fn('localtime_r'), rValue, l.aValues)
console.log(`localtime_r returned tm: ${ffi.address(ffi.readPointer(rValue, 0)) === ffi.address(tm)}`)

const two = (n) => String(n).padStart(2, '0')
const date = `${tm.readInt32LE(year) + 1900}-${two(tm.readInt32LE(mon) + 1)}-${two(tm.readInt32LE(mday))}`
const time = `${two(tm.readInt32LE(hour))}:${two(tm.readInt32LE(min))}:${two(tm.readInt32LE(sec))}`
const zoneName = ffi.readCString(ffi.readPointer(tm, zone)) // a char * field: C's string
console.log(`${date} ${time} ${zoneName} (tm_wday ${tm.readInt32LE(wday)}, tm_yday ${tm.readInt32LE(yday)}, tm_gmtoff ${tm.readBigInt64LE(gmtoff)})`)
