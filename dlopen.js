'use strict'

// require('ffi/dlopen'): the system loader (lib/dlopen.js).
module.exports = require('./lib/dlopen.js')
