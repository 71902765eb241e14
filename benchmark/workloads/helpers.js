'use strict'

// The pointer helpers, CIF and Closure creation, and the checked call path,
// each against `ffi.call` of `abs(int)` measured in the same run (issue 15's
// targets are ratios to that call). One operation is one helper call.
module.exports = {
  name: 'helpers',
  // Shown as a table of its own: a row per helper, with its ratio to this
  // contender as well as to the N-API no-op.
  reference: 'ffi.call(abs)',
  contenders({ ffi, dl }) {
    const c = {}
    const P = ffi.sizeof.pointer
    const abs = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'abs'), 0)
    const cif = ffi.CIF(ffi.types.int, ffi.types.int)
    const aValues = Buffer.alloc(P + 8)
    const arg = aValues.subarray(P, P + 4)
    ffi.writePointer(aValues, 0, arg)
    const rValue = Buffer.alloc(8)
    const argView = new Int32Array(arg.buffer, arg.byteOffset, 1)
    const resultView = new Int32Array(rValue.buffer, rValue.byteOffset, 2)
    c['ffi.call(abs)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) {
        argView[0] = -i
        ffi.call(cif, abs, rValue, aValues)
        sum = (sum + resultView[0]) | 0
      }
      return sum
    }
    // The checked path: two functions (two pointer Buffers) sharing one CIF,
    // alternating, so that every call finds the CIF's record of another.
    const cif2 = ffi.CIF(ffi.types.int, ffi.types.int)
    const abs2 = ffi.fromAddress(ffi.address(abs))
    c['call, CIF shared by 2 fns (checked)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) {
        argView[0] = -i
        ffi.call(cif2, (i & 1) === 0 ? abs : abs2, rValue, aValues)
        sum = (sum + resultView[0]) | 0
      }
      return sum
    }
    // Three, in turn: more than a CIF remembers, so each call is checked in full.
    const cif3 = ffi.CIF(ffi.types.int, ffi.types.int)
    const fns3 = [abs, abs2, ffi.fromAddress(ffi.address(abs))]
    c['call, CIF shared by 3 fns (checked in full)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) {
        argView[0] = -i
        ffi.call(cif3, fns3[i % 3], rValue, aValues)
        sum = (sum + resultView[0]) | 0
      }
      return sum
    }
    // A new rValue per call (its Buffer.alloc included).
    const cif4 = ffi.CIF(ffi.types.int, ffi.types.int)
    c['call, new rValue each time (checked in full)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) {
        argView[0] = -i
        const r = Buffer.alloc(8)
        ffi.call(cif4, abs, r, aValues)
        sum = (sum + r[0]) | 0
      }
      return sum
    }
    c['Buffer.alloc(0)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + Buffer.alloc(0).length) | 0
      return sum
    }

    const data = Buffer.alloc(16)
    const holder = Buffer.alloc(P)
    ffi.writePointer(holder, 0, data)
    const ptr = ffi.readPointer(holder, 0)
    const addr = ffi.address(ptr)
    const target = Buffer.alloc(P)
    c['address(ptr)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.address(ptr)) | 0
      return sum
    }
    c['addressBigInt(ptr)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + Number(ffi.addressBigInt(ptr) & 0xffn)) | 0
      return sum
    }
    c['isNull(ptr)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + (ffi.isNull(ptr) ? 1 : 2)) | 0
      return sum
    }
    c['writePointer(buf, 0, ptr)'] = (n) => {
      for (let i = 0; i < n; i++) ffi.writePointer(target, 0, ptr)
      return n
    }
    c['address(Buffer)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.address(data)) | 0
      return sum
    }
    c['writePointer(buf, 0, Buffer)'] = (n) => {
      for (let i = 0; i < n; i++) ffi.writePointer(target, 0, data)
      return n
    }
    c['readPointer(buf, 0)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.readPointer(holder, 0).length) | 0
      return sum
    }
    c['fromAddress(addr)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.fromAddress(addr).length) | 0
      return sum
    }
    c['readPointer(buf, 0, 4)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.readPointer(holder, 0, 4).length) | 0
      return sum
    }
    c['fromAddress(addr, 4)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.fromAddress(addr, 4).length) | 0
      return sum
    }
    c['reinterpret(ptr, 4)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.reinterpret(ptr, 4).length) | 0
      return sum
    }
    const hello = ffi.allocCString('hello')
    const helloPtr = ffi.fromAddress(ffi.address(hello))
    c["readCString('hello')"] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.readCString(hello).length) | 0
      return sum
    }
    c["readCString(ptr to 'hello')"] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.readCString(helloPtr).length) | 0
      return sum
    }
    c["allocCString('hello')"] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.allocCString('hello').length) | 0
      return sum
    }
    c['CIF(int, int)'] = (n) => {
      let sum = 0
      for (let i = 0; i < n; i++) sum = (sum + ffi.CIF(ffi.types.int, ffi.types.int).length) | 0
      return sum
    }
    const noop = () => {}
    c['Closure, then Closure.free'] = (n) => {
      for (let i = 0; i < n; i++) ffi.Closure.free(ffi.Closure(cif, noop))
      return n
    }
    return c
  },
}
