'use strict'

// Run by c-headers.spec.js in a child node: cdef of a real header,
// preprocessed by the system's compiler (`cc -E -P`), then the sizes and
// alignments of its types as ffi/c computes them, as JSON. argv: the
// header names, then -D flags after '--', then the types after '--'.
const { execFileSync } = require('node:child_process')
const c = require('ffi/c')

const args = process.argv.slice(2)
const sep = args.indexOf('--')
const sep2 = args.indexOf('--', sep + 1)
const headers = args.slice(0, sep)
const defines = args.slice(sep + 1, sep2)
const types = args.slice(sep2 + 1)
const src = headers.map((h) => `#include <${h}>\n`).join('')
const pre = execFileSync(process.env.CC || 'cc', ['-E', '-P', ...defines, '-'], { input: src, encoding: 'utf8' })
c.cdef(pre)
// Twice: a header read again must not break.
c.cdef(pre)
const out = {}
for (const t of types) out[t] = [c.sizeof(t), c.alignof(t)]
console.log(JSON.stringify({ lines: pre.split('\n').length, sizes: out }))
