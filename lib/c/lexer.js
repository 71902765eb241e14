'use strict'

// The tokenizer of cdef: C source (no preprocessor) into tokens with their
// line and column. Comments are dropped; `#pragma pack(...)` becomes a token
// for the parser; line markers of `cc -E` output are skipped; any other
// preprocessor line is an error that names it.

const { cdefError } = require('./errors.js')

/** Token kinds. */
const ID = 1
const NUM = 2
const STR = 3
const CHAR = 4
const PUNCT = 5
const PRAGMA = 6
const EOF = 7

// Punctuators, longest first within each first character.
const PUNCTS = [
  '...', '<<=', '>>=', '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||',
  '*=', '/=', '%=', '+=', '-=', '&=', '^=', '|=', '##',
  '[', ']', '(', ')', '{', '}', '.', '&', '*', '+', '-', '~', '!', '/', '%', '<', '>', '^', '|',
  '?', ':', ';', '=', ',', '#',
]
const PUNCT_BY_CHAR = new Map()
for (const p of PUNCTS) {
  const list = PUNCT_BY_CHAR.get(p[0]) || []
  list.push(p)
  PUNCT_BY_CHAR.set(p[0], list)
}

// Character classes of ASCII, for loops the interpreter runs cold (the
// first cdef of a process): one table read per character.
const ID_START = 1
const ID_PART = 2
const DIGIT = 4
const CLASS = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36
  const digit = c >= 48 && c <= 57
  CLASS[c] = (letter ? ID_START | ID_PART : 0) | (digit ? ID_PART | DIGIT : 0)
}

function isIdStart(c) {
  return c < 128 && (CLASS[c] & ID_START) !== 0
}
function isIdPart(c) {
  return c < 128 && (CLASS[c] & ID_PART) !== 0
}
function isDigit(c) {
  return c < 128 && (CLASS[c] & DIGIT) !== 0
}

/**
 * Splits `src` into tokens: `{ k: kind, v: text or value, line, col }`.
 * Numbers carry `{ value: bigint | number, float: bool, unsigned: bool,
 * longs: 0..2 }` in `num`.
 */
function tokenize(src) {
  const tokens = []
  const n = src.length
  let i = 0
  let line = 1
  let lineStart = 0
  let atLineStart = true
  const col = () => i - lineStart + 1
  const fail = (message, l = line, c = col()) => {
    throw cdefError(`${l}:${c}: ${message}`)
  }
  while (i < n) {
    const c = src.charCodeAt(i)
    // Newlines and blanks.
    if (c === 10) {
      i++
      line++
      lineStart = i
      atLineStart = true
      continue
    }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
      i++
      continue
    }
    // Comments.
    if (c === 47 && src.charCodeAt(i + 1) === 47) {
      while (i < n && src.charCodeAt(i) !== 10) i++
      continue
    }
    if (c === 47 && src.charCodeAt(i + 1) === 42) {
      const l = line
      const cc = col()
      i += 2
      for (;;) {
        if (i >= n) fail('unterminated comment', l, cc)
        const d = src.charCodeAt(i)
        if (d === 42 && src.charCodeAt(i + 1) === 47) {
          i += 2
          break
        }
        if (d === 10) {
          line++
          lineStart = i + 1
        }
        i++
      }
      continue
    }
    // A preprocessor line.
    if (c === 35 && atLineStart) {
      const l = line
      const cc = col()
      let end = i
      // Backslash-newline continues the line.
      let text = ''
      for (;;) {
        while (end < n && src.charCodeAt(end) !== 10) end++
        if (end > i && src.charCodeAt(end - 1) === 92) {
          text += src.slice(i, end - 1)
          line++
          lineStart = end + 1
          i = end + 1
          end = i
          continue
        }
        text += src.slice(i, end)
        break
      }
      i = end
      directive(text.slice(1).trim(), l, cc, tokens, fail)
      continue
    }
    atLineStart = false
    const startCol = col()
    // Identifiers and keywords.
    if (isIdStart(c)) {
      let j = i + 1
      for (; j < n; j++) {
        const d = src.charCodeAt(j)
        if (d >= 128 || (CLASS[d] & ID_PART) === 0) break
      }
      const v = src.slice(i, j)
      // A wide or UTF-8 string or character prefix.
      const next = src.charCodeAt(j)
      if ((next === 34 || next === 39) && (v === 'L' || v === 'u' || v === 'U' || v === 'u8')) {
        i = j
        const t = next === 34 ? readString() : readChar()
        t.col = startCol
        continue
      }
      tokens.push({ k: ID, v, line, col: startCol, num: undefined })
      i = j
      continue
    }
    // Numbers.
    if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) {
      // A pp-number: digits, letters, dots, and a sign after e, E, p or P.
      let j = i + 1
      while (j < n) {
        const d = src.charCodeAt(j)
        if (isIdPart(d) || d === 46 || d === 39) j++
        else if ((d === 43 || d === 45) && /[eEpP]/.test(src[j - 1])) j++
        else break
      }
      const text = src.slice(i, j)
      tokens.push({ k: NUM, v: text, num: parseNumber(text, fail, line, startCol), line, col: startCol })
      i = j
      continue
    }
    if (c === 34) {
      readString()
      continue
    }
    if (c === 39) {
      readChar()
      continue
    }
    const list = PUNCT_BY_CHAR.get(src[i])
    if (list !== undefined) {
      let p = list[list.length - 1]
      for (let k = 0; k < list.length; k++) {
        if (src.startsWith(list[k], i)) {
          p = list[k]
          break
        }
      }
      tokens.push({ k: PUNCT, v: p, line, col: startCol, num: undefined })
      i += p.length
      continue
    }
    fail(`unexpected character '${src[i]}'`)
  }
  tokens.push({ k: EOF, v: '<eof>', line, col: col() })
  return tokens

  /**
   * The body of a quoted literal from `i` (its opening quote) to the
   * matching `quote` on the same line: `[body, index after the quote]`.
   */
  function quoted(quote, what) {
    const l = line
    const cc = col()
    let j = i + 1
    let value = ''
    for (;;) {
      if (j >= n || src.charCodeAt(j) === 10) fail(`unterminated ${what}`, l, cc)
      const d = src.charCodeAt(j)
      if (d === quote) break
      if (d === 92) {
        value += src.slice(j, j + 2)
        j += 2
        continue
      }
      value += src[j]
      j++
    }
    return [value, j + 1]
  }

  function readString() {
    const [value, end] = quoted(34, 'string')
    const t = { k: STR, v: unescape(value), line, col: col(), num: undefined }
    // Adjacent strings concatenate.
    const last = tokens[tokens.length - 1]
    if (last !== undefined && last.k === STR) last.v += t.v
    else tokens.push(t)
    i = end
    return t
  }

  function readChar() {
    const l = line
    const cc = col()
    const [value, end] = quoted(39, 'character constant')
    i = end
    const s = unescape(value)
    if (s.length === 0) fail('empty character constant', l, cc)
    // As GCC: a multi-character constant packs its bytes into an int.
    let v = 0
    for (const ch of Buffer.from(s, 'latin1')) v = ((v << 8) | ch) >>> 0
    if (s.length === 1) v = s.charCodeAt(0) > 127 && s.charCodeAt(0) < 256 ? s.charCodeAt(0) - 256 : s.charCodeAt(0)
    const t = { k: CHAR, v: s, num: { value: BigInt(v | 0), float: false, unsigned: false, longs: 0 }, line: l, col: cc }
    tokens.push(t)
    return t
  }
}

const ESCAPES = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b', '\\': '\\', "'": "'", '"': '"', '?': '?' }

/** The characters of a C string or character literal's body. */
function unescape(s) {
  if (!s.includes('\\')) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out += s[i]
      continue
    }
    const e = s[++i]
    if (e in ESCAPES) {
      out += ESCAPES[e]
    } else if (e === 'x') {
      let j = i + 1
      while (j < s.length && /[0-9a-fA-F]/.test(s[j])) j++
      out += String.fromCharCode(parseInt(s.slice(i + 1, j), 16) & 0xff)
      i = j - 1
    } else if (e >= '0' && e <= '7') {
      let j = i
      while (j < s.length && j < i + 3 && s[j] >= '0' && s[j] <= '7') j++
      out += String.fromCharCode(parseInt(s.slice(i, j), 8) & 0xff)
      i = j - 1
    } else {
      out += e
    }
  }
  return out
}

/** A C number literal: an integer (bigint) with its suffixes, or a float. */
function parseNumber(text, fail, line, col) {
  const bad = () => fail(`invalid number '${text}'`, line, col)
  const isHex = /^0[xX]/.test(text)
  const isFloat = isHex ? /[.pP]/.test(text) : /[.eE]/.test(text)
  if (isFloat) {
    const m = /^(.*?)([fFlL]?)$/.exec(text)
    const body = m[1]
    let value
    if (isHex) {
      const h = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(body)
      if (h === null) bad()
      const mant = parseInt((h[1] || '0') + (h[2] || ''), 16) / 16 ** (h[2] || '').length
      value = mant * 2 ** Number(h[3])
    } else {
      if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) bad()
      value = Number(body)
    }
    return { value, float: true, unsigned: false, longs: 0, single: /[fF]/.test(m[2]) }
  }
  const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$/.exec(text.replace(/'/g, ''))
  if (m === null) bad()
  const suffix = m[2].toLowerCase()
  if (!/^(u?(l|ll)?|(l|ll)u)$/.test(suffix)) bad()
  const digits = m[1]
  let value
  if (/^0[bB]/.test(digits)) value = BigInt(digits)
  else if (/^0[xX]/.test(digits)) value = BigInt(digits)
  else if (digits.length > 1 && digits[0] === '0') value = BigInt('0o' + digits.slice(1))
  else value = BigInt(digits)
  if (value >= 1n << 64n) fail(`integer constant '${text}' is too large`, line, col)
  return {
    value,
    float: false,
    unsigned: suffix.includes('u'),
    longs: suffix.includes('ll') ? 2 : suffix.includes('l') ? 1 : 0,
    decimal: !/^0/.test(digits) || digits === '0',
  }
}

/** A preprocessor line: kept (pack pragmas), skipped, or an error. */
function directive(text, line, col, tokens, fail) {
  if (text === '' || /^\d/.test(text) || /^line\b/.test(text)) return // null directive, line markers
  const name = /^\w+/.exec(text)
  if (name !== null && name[0] === 'pragma') {
    const body = text.slice(6).trim()
    if (/^pack\b/.test(body)) tokens.push({ k: PRAGMA, v: body, line, col })
    // Other pragmas (GCC visibility, diagnostics, once) change nothing here.
    return
  }
  if (name !== null && (name[0] === 'ident' || name[0] === 'sccs')) return
  const what = name !== null ? `#${name[0]}` : `#${text.slice(0, 20)}`
  const hint = name !== null && name[0] === 'define' ? ' (the preprocessor is not run; use enum or static const)' : ' (the preprocessor is not run)'
  fail(`unexpected '${what}'${hint}`, line, col)
}

module.exports = { tokenize, ID, NUM, STR, CHAR, PUNCT, PRAGMA, EOF }
