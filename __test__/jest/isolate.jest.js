'use strict'

// Run by __test__/copies.spec.js under Jest: isolateModules evaluates the
// module's JavaScript a second time over the binary already loaded.

const path = require('node:path')
const { exercise, expected } = require('../helpers/two-copies.js')

const root = path.join(__dirname, '..', '..')

test('two copies through isolateModules work interleaved', async () => {
  const a = require(root)
  let b
  jest.isolateModules(() => {
    b = require(root)
  })
  expect(b).not.toBe(a)
  expect(await exercise(a, b, process.env.FFI_FIXTURE)).toEqual(expected)
})

test('a copy after resetModules still calls C', async () => {
  const a = require(root)
  jest.resetModules()
  const b = require(root)
  expect(b).not.toBe(a)
  expect(await exercise(b, a, process.env.FFI_FIXTURE)).toEqual(expected)
})
