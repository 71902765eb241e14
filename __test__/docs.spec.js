'use strict'

// The README, docs/ and the platform packages' READMEs stand alone: every
// relative link reaches a file (and a heading) of the repository, none leaves
// it, and a platform package's README links nothing outside its own folder.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const docs = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)
const platforms = fs.readdirSync(path.join(root, 'npm')).map((t) => `npm/${t}/README.md`)
const read = (file) => fs.readFileSync(path.join(root, file), 'utf8')

/** GitHub's anchor for a heading. */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

function anchors(file) {
  const text = read(file).replace(/```[\s\S]*?```/g, '')
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1])))
}

/** [target, line] of every Markdown link outside code. */
function links(file) {
  const out = []
  read(file)
    .replace(/```[\s\S]*?```/g, (block) => block.replace(/[^\n]/g, ' '))
    .split('\n')
    .forEach((line, i) => {
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) out.push([m[1], i + 1])
    })
  return out
}

for (const file of ['README.md', ...docs, ...platforms]) {
  test(`${file}: every relative link resolves inside the repository`, (t) => {
    t.pass()
    const dir = path.dirname(file)
    for (const [target, line] of links(file)) {
      if (/^[a-z]+:/.test(target)) continue
      const [p, anchor] = target.split('#')
      const resolved = p === '' ? file : path.normalize(path.join(dir, p))
      t.false(resolved.startsWith('..'), `${file}:${line}: ${target} leaves the repository`)
      if (file.startsWith('npm/')) t.true(resolved.startsWith(dir), `${file}:${line}: ${target} leaves the package`)
      t.true(fs.existsSync(path.join(root, resolved)), `${file}:${line}: ${target} does not exist`)
      if (anchor !== undefined) {
        t.true(anchors(resolved).has(anchor), `${file}:${line}: no heading #${anchor} in ${resolved}`)
      }
    }
  })
}

test('the README and docs/ refer to nothing a user cannot follow', (t) => {
  for (const file of ['README.md', ...docs]) {
    const text = read(file)
    t.notRegex(text, /\.\.\/shared|\bSPEC\b|\bissues? #?\d+/, file)
    t.notRegex(text, /\bIssue #?\d+/, file)
  }
})
