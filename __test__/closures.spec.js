'use strict'

const test = require('ava')
const { ffi, fx, fxAsync, sym, struct, bind, callback } = require('./helpers/c')
const { dlopen, dlsym } = require('ffi/dlopen')

const P = ffi.sizeof.pointer
const libc = dlopen(null)

test('qsort of 10,000 ints with a JavaScript comparator', (t) => {
  const n = 10000
  const arr = Buffer.alloc(4 * n)
  const values = Array.from({ length: n }, (_, i) => ((i * 7919) % n) - 5000)
  values.forEach((v, i) => arr.writeInt32LE(v, 4 * i))
  let calls = 0
  const cmp = callback('int', ['pointer', 'pointer'], (a, b) => {
    calls++
    const x = ffi.reinterpret(a, 4).readInt32LE(0)
    const y = ffi.reinterpret(b, 4).readInt32LE(0)
    return x < y ? -1 : x > y ? 1 : 0
  })
  const qsort = bind(ffi.readPointer(dlsym(libc, 'qsort'), 0), 'void', ['pointer', 'size_t', 'size_t', 'pointer'])
  qsort(arr, BigInt(n), 4n, cmp)
  const sorted = Array.from({ length: n }, (_, i) => arr.readInt32LE(4 * i))
  t.deepEqual(sorted, [...values].sort((x, y) => x - y))
  t.true(calls >= n, `the comparator ran ${calls} times`)
})

test('a callback with 18 arguments of mixed kinds', (t) => {
  const types = ['int8', 'uint16', 'int32', 'int64', 'float', 'double', 'pointer', 'uint64',
    'double', 'int32', 'float', 'int8', 'double', 'double', 'double', 'double', 'double', 'int64']
  let seen
  const cb = callback('double', types, (...args) => {
    seen = args
    return args.reduce((s, v, i) => (typeof v === 'object' ? s : s + Number(v) * (i + 1)), 0)
  })
  const r = fx('call_mixed', 'double', ['pointer'])(cb)
  t.is(seen[0], -8)
  t.is(seen[1], 65535)
  t.is(seen[2], -2000000000)
  t.is(seen[3], -9000000000000000000n)
  t.is(seen[4], 1.5)
  t.is(seen[5], -2.25)
  t.is(ffi.readCString(seen[6]), 'arg')
  t.is(seen[7], 18000000000000000000n)
  t.is(seen[8], 1e-300)
  t.deepEqual(seen.slice(9), [7, -0.5, 127, 1, 2, 3, 4, 5, 42n])
  t.is(r, seen.reduce((s, v, i) => (typeof v === 'object' ? s : s + Number(v) * (i + 1)), 0), 'C got our return')
})

test('a callback whose arguments fill every argument register, in mixed order', (t) => {
  const types = ['int8', 'double', 'uint16', 'float', 'int32', 'pointer', 'int64', 'double', 'uint8',
    'float', 'double', 'double', 'double', 'double']
  let seen
  const cb = callback('double', types, (...args) => {
    seen = args
    return args.reduce((s, v, i) => (typeof v === 'object' ? s : s + Number(v) * (i + 1)), 0)
  })
  const r = fx('call_regs', 'double', ['pointer'])(cb)
  t.deepEqual(seen.slice(0, 5), [-5, 0.25, 60000, -1.5, -123456])
  t.is(ffi.readCString(seen[5]), 'regs')
  t.deepEqual(seen.slice(6), [-9000000000n, 1e10, 200, 0.125, 2, 3, 4, 5])
  t.is(r, seen.reduce((s, v, i) => (typeof v === 'object' ? s : s + Number(v) * (i + 1)), 0), 'C got our return')
})

test('a callback of floats returning a float', (t) => {
  const cb = callback('float', ['float', 'float'], (a, b) => a * b - 0.5)
  t.is(fx('call_f32', 'float', ['pointer', 'float', 'float'])(cb, 1.5, -2.25), -3.875)
})

test('300 live closures of one signature each answer as themselves, also after some are freed', (t) => {
  const n = 300
  const make = (i) => callback('int', ['int'], (x) => x * 1000 + i)
  const closures = Array.from({ length: n }, (_, i) => make(i))
  const callEach = fx('call_each', 'void', ['pointer', 'int', 'int', 'pointer'])
  const answers = () => {
    const table = Buffer.alloc(n * P)
    closures.forEach((c, i) => ffi.writePointer(table, i * P, c))
    const out = Buffer.alloc(4 * n)
    callEach(table, n, 7, out)
    return Array.from({ length: n }, (_, i) => out.readInt32LE(4 * i))
  }
  t.deepEqual(answers(), closures.map((_, i) => 7000 + i))
  for (let i = 0; i < n; i += 3) {
    ffi.Closure.free(closures[i])
    closures[i] = make(n + i)
  }
  t.deepEqual(answers(), closures.map((_, i) => 7000 + (i % 3 === 0 ? n + i : i)))
})

test('a closure made from CIFVar answers a variadic call', (t) => {
  const cif = ffi.CIFVar(1, ffi.types.int, ffi.types.int, ffi.types.int, ffi.types.int, ffi.types.int)
  let count
  const cb = ffi.Closure(cif, (rValue, aValues, args) => {
    count = args.readInt32LE(0)
    rValue.writeBigInt64LE(BigInt(args.readInt32LE(8) + args.readInt32LE(16) + args.readInt32LE(24)))
  })
  t.is(fx('call_variadic', 'int', ['pointer'])(cb), 123)
  t.is(count, 3)
})

const returns = {
  int8: -128, uint8: 255, int16: -32768, uint16: 65535, int32: -2147483648, uint32: 4294967295,
  int64: -(2n ** 63n), uint64: 2n ** 64n - 1n, float: -1.5, double: Math.PI,
}
for (const [type, value] of Object.entries(returns)) {
  test(`a callback returning ${type}`, (t) => {
    const cb = callback(type, [], () => value)
    t.is(fx(`call_ret_${type}`, type, ['pointer'])(cb), value)
  })
}

test('a callback returning a pointer', (t) => {
  const b = Buffer.from('pointee')
  const cb = callback('pointer', [], () => b)
  t.is(ffi.address(fx('call_ret_pointer', 'pointer', ['pointer'])(cb)), ffi.address(b))
})

test('narrow returns reach C sign- or zero-extended', (t) => {
  t.is(fx('widen_int8', 'int64', ['pointer'])(callback('int8', [], () => -1)), -1n)
  t.is(fx('widen_uint16', 'int64', ['pointer'])(callback('uint16', [], () => 65535)), 65535n)
})

test('structs by value into and out of a callback', (t) => {
  const DD = struct('double', 'double')
  const cb = callback(DD, [DD, 'int'], ([x, y], k) => [x * k, y - k])
  t.deepEqual(fx('call_dd', DD, ['pointer', 'double', 'double', 'int'])(cb, 1.5, 10, 4), [6, 6])
  const Big = struct('int64', 'int64', 'int64', 'double')
  const big = callback('double', [Big], ([a, b, c, d]) => Number(a + 2n * b + 3n * c) + d)
  t.is(fx('call_big', 'double', ['pointer', 'int64'])(big, 5n), 5 + 20 + 45 + 0.5)
})

test('reentry three levels deep: JS -> C -> closure -> C -> closure ...', (t) => {
  const callN = sym('call_n')
  const cif = ffi.CIF(ffi.types.int64, ffi.types.pointer, ffi.types.int)
  let depth = 0
  let maxDepth = 0
  let cb
  const callC = (n) => {
    const fnArg = Buffer.alloc(P)
    ffi.writePointer(fnArg, 0, cb)
    const nArg = Buffer.alloc(4)
    nArg.writeInt32LE(n)
    const aValues = Buffer.alloc(2 * P)
    ffi.writePointer(aValues, 0, fnArg)
    ffi.writePointer(aValues, P, nArg)
    const rValue = Buffer.alloc(8)
    ffi.call(cif, callN, rValue, aValues)
    return rValue.readBigInt64LE(0)
  }
  cb = ffi.Closure(ffi.CIF(ffi.types.int, ffi.types.int), (rValue, aValues) => {
    const argBefore = ffi.readPointer(aValues, 0, 4).readInt32LE(0)
    depth++
    maxDepth = Math.max(maxDepth, depth)
    const inner = depth < 3 ? Number(callC(2)) : 0
    depth--
    const argAfter = ffi.readPointer(aValues, 0, 4).readInt32LE(0)
    t.is(argAfter, argBefore, 'a nested call did not disturb this call’s aValues')
    rValue.writeBigInt64LE(BigInt(argBefore * 100 + inner + 1))
  })
  // Level 1: cb(0), cb(1); each calls C with n=2 (level 2), and so on to 3.
  const level3 = 0 * 100 + 1 + (1 * 100 + 1)
  const level2 = 0 * 100 + level3 + 1 + (1 * 100 + level3 + 1)
  const level1 = 0 * 100 + level2 + 1 + (1 * 100 + level2 + 1)
  t.is(callC(2), BigInt(level1))
  t.is(maxDepth, 3)
})

test('C sees its own errno after a callback', (t) => {
  const cb = callback('void', [], () => {
    // A failing libc call on the way: sets errno on this thread.
    fx('fail_with_errno', 'int', ['int'])(5)
  })
  t.is(fx('errno_around_callback', 'int', ['pointer'])(cb), 77)
})

test('a closure called from a thread C made, through callAsync', async (t) => {
  const cb = callback('int', ['int'], (x) => x * 3 + 1)
  t.is(await fxAsync('call_in_thread', 'int', ['pointer', 'int'])(cb, 14), 43)
})

test('8 threads each calling a closure 1,000 times: every call answered, the sum exact', async (t) => {
  let calls = 0
  const cb = callback('int', ['int'], (i) => {
    calls++
    return i * 2 + 1
  })
  const total = await fxAsync('call_in_threads', 'int64', ['pointer', 'int', 'int'])(cb, 8, 1000)
  // Each thread i calls cb(i*1000 + j) for j < 1000: sum of 2k+1 for k < 8000.
  t.is(total, BigInt(8000 * 8000))
  t.is(calls, 8000)
})

test.serial('a synchronous call that waits for a thread calling back: ERR_FFI_DEADLOCK, not a hang', (t) => {
  const cb = callback('int', ['int'], (x) => x + 1)
  const f = fx('call_in_thread', 'int', ['pointer', 'int'])
  const e = t.throws(() => f(cb, 1))
  t.is(e.code, 'ERR_FFI_DEADLOCK')
  // The closure still works afterwards, on this thread and from others.
  t.is(fx('call_n', 'int64', ['pointer', 'int'])(cb, 3), 6n)
})

test.serial('callAsync keeps the loop turning: usleep(200000) while setInterval ticks, both forms', async (t) => {
  const usleep = ffi.readPointer(dlsym(libc, 'usleep'), 0)
  const cif = ffi.CIF(ffi.types.int, ffi.types.uint32)
  const run = async (form) => {
    const us = Buffer.alloc(4)
    us.writeUInt32LE(200000)
    const aValues = Buffer.alloc(P)
    ffi.writePointer(aValues, 0, us)
    const rValue = Buffer.alloc(8, 0xff)
    let ticks = 0
    const timer = setInterval(() => ticks++, 10)
    const started = Date.now()
    const errno = await form(cif, usleep, rValue, aValues)
    clearInterval(timer)
    t.true(Date.now() - started >= 190, 'usleep really slept')
    t.true(ticks >= 5, `the loop ticked ${ticks} times during the call`)
    t.is(rValue.readInt32LE(0), 0, 'usleep returned 0')
    t.is(errno, 0)
  }
  await run((...a) => ffi.callAsync(...a))
  await run((...a) => new Promise((resolve, reject) => {
    const r = ffi.callAsync(...a, (err, errno) => (err ? reject(err) : resolve(errno)))
    t.is(r, undefined)
  }))
})

test('callAsync checks its input like call', async (t) => {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  const abs = ffi.readPointer(dlsym(libc, 'abs'), 0)
  await t.throwsAsync(ffi.callAsync(Buffer.from(cif), abs, Buffer.alloc(8), Buffer.alloc(P)), { code: 'ERR_FFI_INVALID_CIF' })
  await t.throwsAsync(ffi.callAsync(cif, abs, Buffer.alloc(8), Buffer.alloc(P)), { code: 'ERR_FFI_NULL_POINTER' })
  await t.throwsAsync(ffi.callAsync(cif, abs, Buffer.alloc(2), Buffer.alloc(P)), { code: 'ERR_FFI_BUFFER_TOO_SMALL' })
  t.throws(() => ffi.callAsync(cif, ffi.NULL, Buffer.alloc(8), Buffer.alloc(P), () => {}), { code: 'ERR_FFI_NULL_POINTER' })
  t.throws(() => ffi.callAsync(cif, abs, Buffer.alloc(2), Buffer.alloc(P), () => {}), {
    code: 'ERR_FFI_BUFFER_TOO_SMALL',
    message: /^ffi\.callAsync: rValue is 2 bytes/,
  })
  t.throws(() => ffi.callAsync(cif, abs, Buffer.alloc(8), Buffer.alloc(P), 'nope'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('Closure checks its input; Closure.free is safe twice', (t) => {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  t.throws(() => ffi.Closure(cif, 42), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => ffi.Closure(Buffer.from(cif), () => {}), { instanceOf: TypeError, code: 'ERR_FFI_INVALID_CIF' })
  t.throws(() => ffi.Closure.free(Buffer.alloc(0)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => ffi.Closure.free(dlopen(null)), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => ffi.Closure.free('x'), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  const c = callback('int', ['int'], (x) => -x)
  t.is(c.length, 0)
  t.not(ffi.address(c), 0)
  t.is(fx('call_n', 'int64', ['pointer', 'int'])(c, 4), -6n)
  ffi.Closure.free(c)
  t.notThrows(() => ffi.Closure.free(c))
  t.throws(() => dlsym(c, 'abs'), { code: 'ERR_FFI_INVALID_HANDLE' }, 'a closure is not a library handle')
})

test('creating and dropping 20,000 closures keeps memory bounded', async (t) => {
  const cif = ffi.CIF(ffi.types.int, ffi.types.int)
  const callN = fx('call_n', 'int64', ['pointer', 'int'])
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      global.gc()
      await new Promise((r) => setImmediate(r))
    }
  }
  const round = () => {
    for (let i = 0; i < 5000; i++) {
      const c = ffi.Closure(cif, (r) => r.writeInt32LE(1, 0))
      if (i % 100 === 0) callN(c, 2)
    }
  }
  round()
  await settle()
  const before = process.memoryUsage().rss
  for (let k = 0; k < 4; k++) {
    round()
    await settle()
  }
  const grown = process.memoryUsage().rss - before
  t.true(grown < 64 * 1024 * 1024, `RSS grew ${(grown / 1048576).toFixed(1)} MiB over 20,000 closures`)
})

test('a closure freed while a C thread is inside a call to it: that call completes', async (t) => {
  let c
  c = callback('int', ['int'], (x) => {
    ffi.Closure.free(c) // the calling thread is waiting on this very call
    return x + 100
  })
  t.is(await fxAsync('call_in_thread', 'int', ['pointer', 'int'])(c, 5), 105)
})
