import ffi, { CIF, call, types, sizeof, readPointer, StructType, offsetsof, FfiError } from 'ffi'
import { dlopen, dlsym, dlclose, RTLD_NOW } from 'ffi/dlopen'
import 'ffi/buffer'
const lib = dlopen(null, RTLD_NOW)
const abs = readPointer(dlsym(lib, 'abs'), 0)
const cif = CIF(types.int, types.int)
const cif2 = CIF(ffi.abi.default, types.int, types.int)
const s = StructType(types.int, types.double)
const offs: number[] = offsetsof(s)
const r = Buffer.alloc(8)
call(cif, abs, r, Buffer.alloc(sizeof.pointer))
const bound: () => void = ffi.bind(cif, abs, r, Buffer.alloc(sizeof.pointer))
bound()
const p: Buffer = r.readPointerLE(0)
const a: number = p.address()
try { ffi.CIFVar(1, types.int) } catch (e) { const code = (e as FfiError).code }
dlclose(lib)
const cmp = ffi.Closure(ffi.CIF(types.int, types.pointer, types.pointer), (rValue, aValues) => {
  rValue.writeInt32LE(readPointer(aValues, 0).length)
})
ffi.Closure.free(cmp)
const pending: Promise<number> = ffi.callAsync(cif, abs, r, Buffer.alloc(8))
ffi.callAsync(cif, abs, r, Buffer.alloc(8), (err, errno) => { if (err) throw err; console.log(errno + 1) })
void pending

// ffi/c: C data.
import * as cdata from 'ffi/c'
cdata.cdef('struct tc_point { int x, y; };')
const tcPoint = cdata.new('struct tc_point', 1, 2)
const tcPtr: cdata.CPointer = cdata.addressof(tcPoint)
const tcAddress: bigint = tcPtr.address
const tcBytes: Buffer = cdata.bytes(tcPoint, 8)
const tcText: string = cdata.tostring(cdata.cast('int64_t', 5n))
cdata.gc(tcPtr, null)
const tcType: cdata.CType = cdata.metatype('struct tc_point', { __len: (p) => p.x })
void [tcAddress, tcBytes, tcText, tcType]

// ffi/c: calls.
cdata.cdef('int abs(int); size_t strlen(const char *);')
const tcAbs: cdata.CFunction = cdata.C.abs
const tcLen: Promise<any> = cdata.C.strlen.async('hi')
const tcLib: cdata.CNamespace = cdata.load('z')
const tcErr: number = cdata.errno(0)
const tcCb = cdata.cast('int (*)(int)', (x: number) => x + 1) as cdata.CCallback
tcCb.set((x: number) => x)
tcCb.free()
void [tcAbs(-1), tcLen, tcLib, tcErr]
