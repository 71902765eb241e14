'use strict'

// Two copies of the module's JavaScript over one binary, as a cleared
// require.cache or Jest's isolateModules make them: `exercise(a, b, fixture)`
// interleaves calls, closures and callAsync between them and returns what C
// computed, for the caller to compare. Run directly, it loads the second
// copy through a cleared require.cache and prints the results as JSON.

const path = require('node:path')

/** A bound call of `fn` (int64/int32 signatures) through one copy. */
function caller(ffi, fn, ret, args) {
  const cif = ffi.CIF(ffi.types[ret], ...args.map((t) => ffi.types[t]))
  const rValue = Buffer.alloc(8)
  const storage = args.map(() => Buffer.alloc(8))
  const aValues = Buffer.alloc(8 * args.length)
  storage.forEach((s, i) => ffi.writePointer(aValues, 8 * i, s))
  return {
    cif,
    call(...values) {
      values.forEach((v, i) => {
        if (args[i] === 'pointer') ffi.writePointer(storage[i], 0, v)
        else if (args[i] === 'int64') storage[i].writeBigInt64LE(BigInt(v))
        else storage[i].writeInt32LE(v)
      })
      ffi.call(cif, fn, rValue, aValues)
      return ret === 'int64' ? rValue.readBigInt64LE() : rValue.readInt32LE()
    },
    async callAsync(...values) {
      values.forEach((v, i) => {
        if (args[i] === 'pointer') ffi.writePointer(storage[i], 0, v)
        else storage[i].writeInt32LE(v)
      })
      await ffi.callAsync(cif, fn, rValue, aValues)
      return rValue.readInt32LE()
    },
  }
}

async function exercise(a, b, libPath) {
  const out = {}
  const libA = a.dlopen.dlopen(null)
  const labsA = caller(a, a.readPointer(a.dlopen.dlsym(libA, 'labs'), 0), 'int64', ['int64'])
  const labsB = caller(b, b.readPointer(b.dlopen.dlsym(b.dlopen.dlopen(null), 'labs'), 0), 'int64', ['int64'])
  // Interleaved, each repeated so that both take the fast path.
  out.labs = []
  for (let i = 1; i <= 3; i++) out.labs.push(String(labsA.call(-i)), String(labsB.call(-10 * i)))
  // A closure of one copy, called by C through the other copy's call.
  const fixture = b.dlopen.dlopen(libPath)
  const callN = caller(b, b.readPointer(b.dlopen.dlsym(fixture, 'call_n'), 0), 'int64', ['pointer', 'int32'])
  const cbCif = a.CIF(a.types.int, a.types.int)
  const doubleIt = a.Closure(cbCif, (r, av) => r.writeInt32LE(2 * a.readPointer(av, 0, 4).readInt32LE(0)))
  out.callN = String(callN.call(doubleIt, 4)) // 2 * (0 + 1 + 2 + 3)
  // Nested: a closure of copy B calls labs through copy A during copy B's call.
  const nested = b.Closure(b.CIF(b.types.int, b.types.int), (r, av) => {
    r.writeInt32LE(Number(labsA.call(-b.readPointer(av, 0, 4).readInt32LE(0))))
  })
  out.nested = String(callN.call(nested, 5)) // 0 + 1 + 2 + 3 + 4
  // A C thread calls copy A's closure during copy B's callAsync, and the
  // other way round.
  const inThreadB = caller(b, b.readPointer(b.dlopen.dlsym(fixture, 'call_in_thread'), 0), 'int32', ['pointer', 'int32'])
  const fixtureA = a.dlopen.dlopen(libPath)
  const inThreadA = caller(a, a.readPointer(a.dlopen.dlsym(fixtureA, 'call_in_thread'), 0), 'int32', ['pointer', 'int32'])
  const plusOne = b.Closure(b.CIF(b.types.int, b.types.int), (r, av) => r.writeInt32LE(b.readPointer(av, 0, 4).readInt32LE(0) + 1))
  out.async = await Promise.all([inThreadB.callAsync(doubleIt, 21), inThreadA.callAsync(plusOne, 41)])
  // A CIF of one copy in the other's call.
  const r = Buffer.alloc(8)
  const arg = Buffer.alloc(8)
  arg.writeBigInt64LE(-99n)
  const av = Buffer.alloc(8)
  a.writePointer(av, 0, arg)
  b.call(labsA.cif, b.readPointer(b.dlopen.dlsym(libA, 'labs'), 0), r, av)
  out.crossCif = String(r.readBigInt64LE())
  out.sameTypes = a.types.int === b.types.int && a.NULL === b.NULL
  return out
}

/** What exercise() must return. */
const expected = {
  labs: ['1', '10', '2', '20', '3', '30'],
  callN: '12',
  nested: '10',
  async: [42, 42],
  crossCif: '99',
  sameTypes: true,
}

module.exports = { exercise, expected }

if (require.main === module) {
  const root = path.join(__dirname, '..', '..')
  const a = require(root)
  for (const k of Object.keys(require.cache)) delete require.cache[k]
  const b = require(root)
  if (a === b) throw new Error('the cache was not cleared')
  exercise(a, b, process.argv[2]).then((out) => console.log(JSON.stringify(out)))
}
