'use strict'

// The benchmark driver: every workload in workloads/, every contender that
// loads here (this module, koffi, ffi-rs, node:ffi under Node 26), plus the
// floor (a C N-API function doing nothing, and a plain JavaScript function)
// measured inside every workload. Contenders are interleaved round by round;
// each figure is the median ns per operation over the rounds, and its ratio
// to the N-API no-op of the same run.
//
// A contender's loop keeps its running sum an int32 (`(sum + x) | 0`): a sum
// that outgrows a small integer makes V8 box it, and on Node 26 its
// on-stack-replaced loops then allocate a heap number per iteration, which
// measured the harness rather than the call (up to 4 ns per call here).
//
//   node benchmark/run.js [--rounds 7] [--only abs] [--no-node26]   (npm run bench)
//   --only image: the image workload alone (benchmark/image.js)

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const args = process.argv.slice(2)
const flag = (name) => args.includes(name)
const option = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : fallback
}
const rounds = Number(option('--rounds', 7))
const only = option('--only', null)
const child = flag('--child')

const workloads = fs
  .readdirSync(path.join(__dirname, 'workloads'))
  .filter((f) => f.endsWith('.js') && (!only || f.startsWith(only)))
  .map((f) => require(path.join(__dirname, 'workloads', f)))
  .sort((a, b) => order(a.name) - order(b.name))
function order(name) {
  return ['abs', '6 mixed', 'callback', 'qsort', 'div', 'helpers', 'image'].findIndex((p) => name.startsWith(p))
}
// Standalone workloads (the image) measure themselves, in processes of their
// own, once per run of this driver; the others are measured here.
const standalone = workloads.filter((w) => w.standalone)
const measured = workloads.filter((w) => !w.standalone)

function optional(load) {
  try {
    return load()
  } catch {
    return null
  }
}

let sink = 0
function jsFunction(x) {
  sink = (sink + x) | 0
}

function measure(paths) {
  const env = {
    ffi: require('..'),
    C: require('../lib/c/index.js'),
    dl: require('../dlopen'),
    koffi: optional(() => require('koffi')),
    ffiRs: optional(() => require('ffi-rs')),
    nodeFfi: optional(() => require('node:ffi')),
    floor: require(paths.floor),
    fixture: paths.fixture,
  }
  const out = []
  for (const w of measured) {
    const contenders = w.contenders(env)
    contenders['N-API no-op'] = (n) => {
      for (let i = 0; i < n; i++) env.floor.noop()
      return n
    }
    contenders['JS function'] = (n) => {
      for (let i = 0; i < n; i++) jsFunction(i)
      return n
    }
    const names = Object.keys(contenders)
    const batch = {}
    for (const name of names) {
      const fixed = w.fixedOps && !name.startsWith('N-API') && !name.startsWith('JS')
      let n = fixed ? 1 : 1000
      // Warm up, then grow the batch until it takes at least 20 ms.
      for (;;) {
        const t = process.hrtime.bigint()
        contenders[name](n)
        const ms = Number(process.hrtime.bigint() - t) / 1e6
        if (fixed || ms >= 20 || n >= 1 << 26) break
        n *= ms < 2 ? 8 : 2
      }
      batch[name] = n
    }
    const samples = Object.fromEntries(names.map((n) => [n, []]))
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length]
        const fixed = w.fixedOps && !name.startsWith('N-API') && !name.startsWith('JS')
        const t = process.hrtime.bigint()
        const result = contenders[name](batch[name])
        const ns = Number(process.hrtime.bigint() - t)
        sink ^= Number(result) | 0
        samples[name].push(ns / (fixed ? result : batch[name]))
      }
    }
    const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1]
    const floorNs = median(samples['N-API no-op'])
    const refNs = w.reference ? median(samples[w.reference]) : undefined
    out.push({
      workload: w.name,
      reference: w.reference,
      results: names.map((name) => ({
        contender: name,
        ns: median(samples[name]),
        ratio: median(samples[name]) / floorNs,
        ...(refNs ? { toReference: median(samples[name]) / refNs } : {}),
      })),
    })
  }
  return { node: process.version, napi: process.versions.napi, results: out }
}

const showNs = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`)

/** A workload with a reference contender: a row per contender. */
function referenceTable(w) {
  const lines = [`| ${w.workload} | ns | × N-API no-op | × ${w.reference} |`, '| --- | --- | --- | --- |']
  for (const r of w.results) {
    lines.push(`| ${r.contender} | ${showNs(r.ns)} | ${r.ratio.toFixed(1)}× | ${r.toReference.toFixed(1)}× |`)
  }
  return lines.join('\n')
}

function table(run) {
  const referenced = run.results.filter((w) => w.reference)
  const floor = run.results.map((w) => w.results.find((r) => r.contender === 'N-API no-op').ns)
  run = { ...run, results: run.results.filter((w) => !w.reference) }
  const contenders = ['ffi', 'ffi.bind', 'ffi/c', 'ffi, Buffer per argument', 'N-API static binding', 'N-API call into JS', 'N-API call into JS, no values', 'koffi', 'ffi-rs', 'node:ffi', 'JS function']
  const present = contenders.filter((c) => run.results.some((w) => w.results.some((r) => r.contender === c)))
  const lines = [
    `Node ${run.node} (N-API ${run.napi}); N-API no-op floor ${Math.min(...floor).toFixed(1)}-${Math.max(...floor).toFixed(1)} ns`,
    '',
    `| workload | ${present.join(' | ')} |`,
    `| --- | ${present.map(() => '---').join(' | ')} |`,
  ]
  for (const w of run.results) {
    const cell = (c) => {
      const r = w.results.find((x) => x.contender === c)
      if (!r) return '—'
      return `${showNs(r.ns)}, ${r.ratio.toFixed(1)}×`
    }
    lines.push(`| ${w.workload} | ${present.map(cell).join(' | ')} |`)
  }
  if (run.results.length === 0) lines.splice(1)
  for (const w of referenced) lines.push('', referenceTable(w))
  return lines.join('\n')
}

if (child) {
  const paths = JSON.parse(option('--paths'))
  process.stdout.write(JSON.stringify(measure(paths)))
} else {
  const paths = require('./setup').prepare()
  const runs = measured.length > 0 ? [measure(paths)] : []
  if (measured.length > 0 && paths.node26 && !flag('--no-node26') && !process.version.startsWith('v26.')) {
    const r = spawnSync(
      paths.node26,
      ['--experimental-ffi', '--no-warnings', '--expose-gc', __filename, '--child', '--rounds', String(rounds), '--paths', JSON.stringify(paths), ...(only ? ['--only', only] : [])],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    )
    if (r.status === 0) runs.push(JSON.parse(r.stdout))
    else console.error(`Node 26 run failed (${r.status}):\n${r.stderr}`)
  }
  const cpu = os.cpus()[0]
  const header = `${new Date().toISOString().slice(0, 10)}, ${cpu ? cpu.model.trim() : os.arch()} (${os.cpus().length} cores), ${os.platform()} ${os.release()}; median of ${rounds} interleaved rounds; ratio to the N-API no-op of the same run`
  if (runs.length > 0) console.log(header + '\n')
  for (const run of runs) console.log(table(run) + '\n')
  const own = {}
  for (const w of standalone) {
    const r = w.run({ rounds, node26: flag('--no-node26') ? null : paths.node26 })
    console.log(r.text + '\n')
    own[w.name] = r.data
  }
  fs.mkdirSync(path.join(__dirname, 'build'), { recursive: true })
  fs.writeFileSync(path.join(__dirname, 'build', 'results.json'), JSON.stringify({ header, runs, ...own }, null, 2))
}
