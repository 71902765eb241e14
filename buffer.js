'use strict'

// require('ffi/buffer'): installs the pointer methods on Buffer.prototype
// (lib/buffer.js). Nothing is installed unless this file is required.
module.exports = require('./lib/buffer.js')
