'use strict'

// The seed image workload (benchmark/image.js): C data through at(i) and
// arr[i], plain JavaScript objects and LuaJIT 2.1, in ms per grey pass and
// memory held. It runs processes of its own (a memory figure per variant),
// so run.js calls it once rather than per contender:
// npm run bench -- --only image.
const image = require('../image.js')

module.exports = {
  name: 'image',
  standalone: true,
  run({ rounds, node26 }) {
    const m = image.measure({ rounds: Math.min(rounds, 5), node26 })
    return { data: m, text: image.table(m) }
  },
}
