'use strict'

// The layout test of ffi/c: one C source of declarations, compiled by the
// system's C compiler into a program that prints sizeof, _Alignof and
// offsetof of every type and member (and, for each bitfield, the bytes it
// sets when all its bits are 1), and given to cdef: both must agree.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const scalars = [
  'char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned', 'long', 'unsigned long',
  'long long', 'unsigned long long', 'float', 'double', 'long double', '_Bool', 'int8_t', 'uint16_t', 'int32_t',
  'uint64_t', 'size_t', 'ssize_t', 'intptr_t', 'ptrdiff_t', 'wchar_t', 'void *', 'char *', 'int (*)(int)',
  '_Complex double', '_Complex float', 'short int', 'long int', 'long long int', 'unsigned short int', 'signed',
]

// Declarations: each `name` below is a type to measure.
const source = `
struct s1 { char a; int b; char c; };
struct s2 { char a; double b; };
struct s3 { short a; char b[3]; long long c; };
struct s4 { char a; struct s1 inner; char z; };
struct s5 { int a[3][2]; char b; };
struct s6 { char c; long double ld; };
struct s7 { char c; _Complex double z; };
union u1 { char a; int b; double c; };
union u2 { char a[5]; short b; };
struct s8 { char a; union { int i; float f; }; char b; };
struct s9 { int a; struct { char x; double y; }; int b; };
struct s10 { int n; double d[]; };
struct s11 { char n; short d[]; };
struct b1 { int a : 3; int b : 5; int c : 24; };
struct b2 { char a : 3; char b : 6; };
struct b3 { int a : 31; int b : 2; };
struct b4 { unsigned a : 1; unsigned long long b : 63; char c; };
struct b5 { char c; int a : 4; };
struct b6 { short a : 9; short b : 9; short c : 9; };
struct b7 { long long a : 40; int b : 20; };
struct b8 { char a; int : 0; char b; };
struct b9 { char a; long long : 0; char b; };
struct b10 { int a : 7; unsigned char b : 3; short c : 12; _Bool d : 1; };
struct b11 { unsigned a : 4; signed b : 4; unsigned c : 8; signed d : 16; };
struct b12 { char a; int b : 17; int c : 17; };
struct b13 { int : 3; int a : 5; };
struct b14 { long long a : 1; };
struct b15 { uint8_t a : 1; uint16_t b : 15; uint32_t c : 30; uint64_t d : 60; };
union ub1 { int a : 3; char b; };
struct __attribute__((packed)) p1 { char a; int b; short c; };
struct p2 { char a; int b; short c; } __attribute__((packed));
struct p3 { char a; int b __attribute__((packed)); char c; };
struct __attribute__((packed)) p4 { char a; int b : 13; int c : 13; char d; };
struct __attribute__((packed)) p5 { char a; struct s1 b; };
struct a1 { char a; } __attribute__((aligned(16)));
struct a2 { char a; int b __attribute__((aligned(8))); };
struct a3 { char a; struct a1 b; };
struct __attribute__((packed, aligned(4))) a4 { char a; int b; };
typedef int aligned_int __attribute__((aligned(16)));
struct a5 { char a; aligned_int b; };
#pragma pack(1)
struct k1 { char a; int b; double c; };
struct k2 { char a; int b : 20; int c : 20; };
#pragma pack(2)
struct k3 { char a; int b; double c; };
struct k4 { char a; int b : 20; int c : 20; };
#pragma pack(push, 4)
struct k5 { char a; double b; };
#pragma pack(push, 1)
struct k6 { char a; double b; };
#pragma pack(pop)
struct k7 { char a; double b; };
#pragma pack(pop)
struct k8 { char a; double b; };
#pragma pack()
struct k9 { char a; double b; };
#pragma pack(8)
struct k10 { char a; long double b; };
#pragma pack()
enum e1 { E1A, E1B };
enum e2 { E2A = -1, E2B = 1 };
enum e3 { E3A = 0x80000000 };
enum e4 { E4A = -1, E4B = 0x80000000 };
enum e5 { E5A = 0x100000000 };
enum __attribute__((packed)) e6 { E6A = 1, E6B = 200 };
enum __attribute__((packed)) e7 { E7A = -1, E7B = 200 };
struct en1 { char a; enum e5 b; };
typedef struct { char a; double b; } t1;
typedef t1 t2[3];
struct arr1 { t1 x[2]; char y; };
struct arr2 { char a; struct s2 b[2]; };
struct fp1 { int (*f)(int); char c; };
struct deep { struct { struct { char a; long double b; } c; char d; } e; char f; };
union u3 { struct { char a; int b; } s; double d; long double ld; };
struct big { char buf[1000]; int n; };
struct va { char c; va_list ap; };
struct i128 { char c; __int128 x; };
struct sc { char a; signed char b; unsigned char c; short d; };
struct mixed { char a; short b; char c; int d; char e; long long f; char g; float h; char i; double j; };
`
/** The tags of the source (struct, union, enum) and its typedef names. */
function declaredNames() {
  const { tokenize } = require('../../lib/c/lexer.js')
  const toks = tokenize(source)
  const names = []
  for (let i = 0; i < toks.length; i++) {
    const v = toks[i].v
    if (v === 'typedef') {
      let j = i
      let braces = 0
      while (toks[j].v !== ';' || braces > 0) {
        if (toks[j].v === '{') braces++
        if (toks[j].v === '}') braces--
        j++
      }
      let k = j - 1
      while (toks[k].v === ']' || /^\d+$/.test(toks[k].v) || toks[k].v === '[' || toks[k].v === ')' ) {
        if (toks[k].v === ')') {
          // skip an attribute list
          let depth = 0
          do {
            if (toks[k].v === ')') depth++
            if (toks[k].v === '(') depth--
            k--
          } while (depth > 0)
          k--
        } else k--
      }
      names.push(toks[k].v)
    } else if (v === 'struct' || v === 'union' || v === 'enum') {
      let j = i + 1
      if (toks[j].v === '__attribute__') {
        let depth = 0
        j++
        do {
          if (toks[j].v === '(') depth++
          if (toks[j].v === ')') depth--
          j++
        } while (depth > 0)
      }
      if (toks[j].k === 1 && toks[j + 1].v === '{') names.push(`${v} ${toks[j].v}`)
    }
  }
  return names
}

/** Compiles and runs the C side: returns its lines. */
function measure(types, members) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffi-c-layout-'))
  const c = path.join(dir, 'layout.c')
  const lines = []
  lines.push('#include <stdint.h>', '#include <stddef.h>', '#include <stdio.h>', '#include <stdarg.h>', '#include <string.h>', source)
  lines.push('int main(void) {')
  for (const t of types) {
    lines.push(`  printf("T|%s|%zu|%zu\\n", ${JSON.stringify(t)}, sizeof(${t}), _Alignof(${t}));`)
  }
  for (const [t, fields] of members) {
    for (const f of fields) {
      if (f.bits) {
        lines.push(`  { ${t} v; unsigned char *p = (unsigned char *)&v; memset(&v, 0, sizeof v); v.${f.name} = -1; printf("B|%s|%s|", ${JSON.stringify(t)}, ${JSON.stringify(f.name)}); for (size_t i = 0; i < sizeof v; i++) printf("%02x", p[i]); printf("\\n"); }`)
      } else {
        lines.push(`  printf("O|%s|%s|%zu\\n", ${JSON.stringify(t)}, ${JSON.stringify(f.name)}, offsetof(${t}, ${f.name}));`)
      }
    }
  }
  lines.push('  return 0;', '}')
  fs.writeFileSync(c, lines.join('\n'))
  const exe = path.join(dir, 'layout')
  execFileSync(process.env.CC || 'cc', ['-std=gnu11', '-w', '-o', exe, c])
  const out = execFileSync(exe, { encoding: 'utf8' })
  fs.rmSync(dir, { recursive: true, force: true })
  return out.trim().split('\n')
}

module.exports = { source, scalars, declaredNames, measure }
