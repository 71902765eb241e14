'use strict'

const test = require('ava')
const ffi = require('ffi')
const dl = require('ffi/dlopen')

async function settle() {
  for (let i = 0; i < 4; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
  }
}

test.serial('stats() counts live native objects up and back down', async (t) => {
  await settle()
  const before = ffi.stats()
  // In a function of its own: a suspended async frame could keep the last
  // object made alive across the await below.
  ;(() => {
    const keep = []
    for (let i = 0; i < 10; i++) {
      keep.push(ffi.Closure(ffi.CIF(ffi.types.void), () => {}), ffi.StructType(ffi.types.int))
    }
    const lib = dl.dlopen(null)
    let now = ffi.stats()
    t.is(now.closures, before.closures + 10)
    t.is(now.structTypes, before.structTypes + 10)
    t.is(now.cifs, before.cifs + 10)
    t.is(now.librariesOpen, before.librariesOpen + 1)
    t.is(now.environments, 1, 'closure dispatch was set up for this thread')
    dl.dlclose(lib)
    for (const k of keep) if (k.length === 0) ffi.Closure.free(k)
    now = ffi.stats()
    t.is(now.closures, before.closures, 'Closure.free frees at once')
    t.is(now.librariesOpen, before.librariesOpen)
  })()
  await settle()
  const now = ffi.stats()
  t.is(now.structTypes, before.structTypes, 'collected struct types are counted out')
  t.is(now.cifs, before.cifs)
})

test.serial('a pending callAsync is counted while it runs', async (t) => {
  const usleep = ffi.readPointer(dl.dlsym(dl.dlopen(null), 'usleep'), 0)
  const us = Buffer.alloc(4)
  us.writeUInt32LE(50000)
  const aValues = Buffer.alloc(ffi.sizeof.pointer)
  ffi.writePointer(aValues, 0, us)
  const p = ffi.callAsync(ffi.CIF(ffi.types.int, ffi.types.uint32), usleep, Buffer.alloc(8), aValues)
  t.is(ffi.stats().asyncCalls, 1)
  await p
  t.is(ffi.stats().asyncCalls, 0)
})
