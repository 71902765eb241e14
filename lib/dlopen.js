'use strict'

// require('ffi/dlopen'): the system loader. A handle is a Buffer holding
// the loader's own handle (void *), with the module's state attached.
// A handle that is garbage-collected without dlclose leaves its library
// loaded: function pointers and closures taken from it may still be in use.

const native = require('./load.js')

const { rtld, defaultFlags, extension } = native.info()

function dlopen(name, flags) {
  return native.dlopen(name, flags === undefined ? defaultFlags : flags)
}

function dlsym(lib, name) {
  return native.dlsym(lib, name)
}

function dlclose(lib) {
  native.dlclose(lib)
}

function dlerror(lib) {
  return native.dlerror(lib)
}

module.exports = { extension, dlopen, dlsym, dlclose, dlerror, ...rtld }
