'use strict'

// Run with --expose-gc: three cdata with gc finalizers, the second of which
// throws. Its error reaches 'uncaughtException' and the others still run.
// Prints { seen, errors } as JSON.
const c = require('ffi/c')

const seen = []
const errors = []
process.on('uncaughtException', (e) => errors.push(e.message))

;(() => {
  for (let i = 0; i < 3; i++) {
    const a = c.new('int32_t[2]', i)
    c.gc(a, (p) => {
      if (p.get(0) === 1) throw new Error('finalizer 1 threw')
      seen.push(p.get(0))
    })
  }
})()

async function main() {
  for (let i = 0; i < 100 && (seen.length < 2 || errors.length < 1); i++) {
    globalThis.gc()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  console.log(JSON.stringify({ seen: seen.sort(), errors }))
}
main()
