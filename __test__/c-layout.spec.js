'use strict'

// ffi/c's layout against the C compiler's: every type and member of one
// source of declarations (scalars, nested and anonymous records, arrays of
// records, bitfields of every width and signedness, #pragma pack in all
// its forms, packed and aligned attributes, flexible members, long double,
// complex, enums of negative and large values), compiled with cc and given
// to cdef, must give the same sizeof, _Alignof, offsetof and bitfield bits.

const test = require('ava')
const c = require('ffi/c')
const L = require('./helpers/c-layout')

c.cdef(L.source)
const names = [...L.scalars, ...L.declaredNames()]
const members = []
for (const n of names) {
  const t = c.typeof(n)
  if (t.kind === 'struct' || t.kind === 'union') {
    members.push([n, t.fields.filter((f) => f.name !== undefined).map((f) => ({ name: f.name, bits: f.bitSize, field: f }))])
  }
}
const lines = L.measure(names, members)

test('at least 100 types are measured', (t) => {
  t.true(names.length >= 100, `${names.length} types`)
})

test('sizeof and alignof of every type match the C compiler', (t) => {
  const wrong = []
  for (const line of lines.filter((l) => l.startsWith('T|'))) {
    const [, name, size, align] = line.split('|')
    const got = [c.sizeof(name), c.alignof(name)]
    if (got[0] !== Number(size) || got[1] !== Number(align)) wrong.push(`${name}: cc ${size}/${align}, cdef ${got[0]}/${got[1]}`)
  }
  t.deepEqual(wrong, [])
})

test('offsetof of every member matches the C compiler', (t) => {
  const wrong = []
  for (const line of lines.filter((l) => l.startsWith('O|'))) {
    const [, name, field, offset] = line.split('|')
    const got = c.offsetof(name, field)
    if (got !== Number(offset)) wrong.push(`${name}.${field}: cc ${offset}, cdef ${got}`)
  }
  t.true(lines.filter((l) => l.startsWith('O|')).length > 100)
  t.deepEqual(wrong, [])
})

test('every bitfield covers the bits the C compiler sets', (t) => {
  const wrong = []
  for (const line of lines.filter((l) => l.startsWith('B|'))) {
    const [, name, field, hex] = line.split('|')
    const f = c.typeof(name).fields.find((x) => x.name === field)
    const bytes = Buffer.alloc(hex.length / 2)
    // Little-endian: bit i of the unit is bit i % 8 of byte offset + i / 8.
    for (let i = f.bitOffset; i < f.bitOffset + f.bitSize; i++) bytes[f.offset + Math.floor(i / 8)] |= 1 << i % 8
    if (bytes.toString('hex') !== hex) wrong.push(`${name}.${field}: cc ${hex}, cdef ${bytes.toString('hex')}`)
  }
  t.true(lines.filter((l) => l.startsWith('B|')).length > 30)
  t.deepEqual(wrong, [])
})
