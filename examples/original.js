// SPEC's original example, verbatim. Inside this checkout `require('ffi')`
// resolves to the package itself: the devDependency "ffi": "file:." links
// node_modules/ffi to this directory, as `npm install ffi@npm:libffi-raw`
// does for a user.
const ffi = require('ffi');
const dlopen = require('ffi/dlopen');
require('ffi/buffer');
const endianness = require('os').endianness();

const libc = dlopen.dlopen('libc' + (dlopen.extension === '.so' ? '.so.6' : dlopen.extension));
const absPtr = dlopen.dlsym(libc, 'abs')['readPointer' + endianness](0);
const cif = ffi.CIF(ffi.types.int, ffi.types.int);
const rValue = Buffer.alloc(Math.max(ffi.sizeof.int, ffi.sizeof.ffi_sarg));
const aValues = Buffer.alloc(ffi.sizeof.pointer * 1);
const arg = Buffer.alloc(ffi.sizeof.int);
aValues['writePointer' + endianness](arg, 0);
arg['writeInt32' + endianness](-5, 0);
ffi.call(cif, absPtr, rValue, aValues);
console.log('abs(-5): %j', rValue['readInt32' + endianness](0)); // abs(-5): 5
dlopen.dlclose(libc);
