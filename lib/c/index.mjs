// ESM entry of ffi/c: the same namespace as require('ffi/c'), with named exports.
import c from './index.js'

export default c
export const { cdef, sizeof, alignof, offsetof, istype, abi, os, arch, cast, addressof, string, bytes, copy, fill, tonumber, tostring, gc, metatype, load, errno, C } = c
const newData = c.new
export { newData as new }
const typeOf = c.typeof
export { typeOf as typeof }
