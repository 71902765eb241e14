'use strict'

// Real headers of this machine, preprocessed by cc: cdef parses each (and
// again, as a module loaded twice would), and the sizes and alignments of
// a dozen of their types match the compiler's.

const test = require('ava')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { runChild } = require('./helpers/child')

const cc = process.env.CC || 'cc'

/** sizeof and _Alignof of `types` as the C compiler sees them. */
function compilerSizes(headers, defines, types) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffi-c-headers-'))
  const file = path.join(dir, 'sizes.c')
  const lines = [...defines.map((d) => `#define ${d.slice(2).replace('=', ' ')}`), ...headers.map((h) => `#include <${h}>`), '#include <stdio.h>', 'int main(void) {']
  for (const t of types) lines.push(`  printf("%zu %zu\\n", sizeof(${t}), _Alignof(${t}));`)
  lines.push('  return 0;', '}')
  fs.writeFileSync(file, lines.join('\n'))
  execFileSync(cc, ['-w', '-o', path.join(dir, 'sizes'), file])
  const out = execFileSync(path.join(dir, 'sizes'), { encoding: 'utf8' }).trim().split('\n')
  fs.rmSync(dir, { recursive: true, force: true })
  return Object.fromEntries(types.map((t, i) => [t, out[i].split(' ').map(Number)]))
}

function present(header) {
  try {
    execFileSync(cc, ['-E', '-'], { input: `#include <${header}>\n`, stdio: ['pipe', 'ignore', 'ignore'] })
    return true
  } catch {
    return false
  }
}

const glibc = ['stdio.h', 'stdlib.h', 'string.h', 'pthread.h', 'sys/socket.h', 'math.h', 'time.h', 'unistd.h', 'sys/stat.h', 'fcntl.h', 'dirent.h', 'signal.h']
const cases = [
  ['zlib.h', ['zlib.h'], [], ['z_stream', 'gz_header', 'struct internal_state *', 'uLongf', 'z_size_t']],
  ['sqlite3.h', ['sqlite3.h'], [], ['sqlite3_vfs', 'sqlite3_io_methods', 'sqlite3_module', 'sqlite3_index_info', 'sqlite3_int64', 'sqlite3_mem_methods']],
  ['png.h', ['png.h'], [], ['png_color', 'png_color_16', 'png_time', 'png_image', 'png_sPLT_entry', 'png_uint_32']],
  ['glibc', glibc, [], ['struct stat', 'pthread_mutex_t', 'pthread_attr_t', 'struct sockaddr_storage', 'fd_set', 'struct timespec', 'struct tm', 'sigset_t', 'struct sigaction', 'struct dirent', 'fpos_t', 'div_t', 'ldiv_t', 'struct flock', 'FILE', 'pthread_cond_t', 'siginfo_t']],
  ['glibc with _GNU_SOURCE', glibc, ['-D_GNU_SOURCE'], ['struct stat', 'pthread_mutex_t', 'struct sockaddr_storage', 'cpu_set_t', 'struct sigaction', 'struct stat64', 'siginfo_t', 'struct tm']],
]

for (const [name, headers, defines, types] of cases) {
  const available = headers.every(present)
  ;(available ? test : test.skip)(`${name}: cdef parses it (twice), and ${types.length} sizes match the compiler's`, (t) => {
    const r = runChild('c-headers.js', [...headers, '--', ...defines, '--', ...types], { timeout: 60000 })
    t.is(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    t.true(out.lines > 100)
    t.deepEqual(out.sizes, compilerSizes(headers, defines, types))
  })
}
