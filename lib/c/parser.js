'use strict'

// The parser of cdef and typeof: C declarations (C99 with the GNU and MSVC
// extensions headers use) into CTypes and named declarations, by recursive
// descent over the lexer's tokens. Constant expressions are evaluated as C
// does, with C's integer types (bigint values).

const T = require('./types.js')
const { tokenize, ID, NUM, STR, CHAR, PUNCT, PRAGMA, EOF } = require('./lexer.js')
const { cdefError } = require('./errors.js')

const STORAGE = new Set(['typedef', 'extern', 'static', 'auto', 'register', 'inline', '__inline', '__inline__', '_Noreturn', '__extension__', '_Thread_local', '__thread', 'thread_local'])
const QUALIFIERS = { const: T.CONST, __const: T.CONST, __const__: T.CONST, volatile: T.VOLATILE, __volatile: T.VOLATILE, __volatile__: T.VOLATILE, restrict: 0, __restrict: 0, __restrict__: 0, _Atomic: 0, _Nonnull: 0, _Nullable: 0, __unaligned: 0, __w64: 0, __ptr32: 0, __ptr64: 0 }
const CALLCONV = new Set(['__cdecl', '_cdecl', '__stdcall', '_stdcall', '__fastcall', '_fastcall', '__thiscall', '__vectorcall', '__pascal'])
const BASIC = new Set(['void', 'char', 'short', 'int', 'long', 'float', 'double', 'signed', '__signed', '__signed__', 'unsigned', '_Bool', 'bool', '_Complex', '__complex__', 'complex', '__int128', '__int128_t', '__uint128_t', '_Float128', '__float128', '_Float64', '_Float32', '_Float64x', '_Float32x', '_Float16', '__fp16', '__bf16', '__builtin_va_list', '__int8', '__int16', '__int32', '__int64'])
const ATTRIBUTE = new Set(['__attribute__', '__attribute', '__declspec'])
const ASM = new Set(['asm', '__asm__', '__asm'])
const NO_STORAGE = new Set()

// One lookup per identifier in specifiers: its category.
const K_STORAGE = 1
const K_QUAL = 2
const K_CALLCONV = 3
const K_ATTR = 4
const K_BASIC = 5
const K_RECORD = 6
const K_TYPEOF = 7
const KEYWORDS = new Map()
for (const w of STORAGE) KEYWORDS.set(w, K_STORAGE)
for (const w of Object.keys(QUALIFIERS)) KEYWORDS.set(w, K_QUAL)
for (const w of CALLCONV) KEYWORDS.set(w, K_CALLCONV)
for (const w of ATTRIBUTE) KEYWORDS.set(w, K_ATTR)
for (const w of BASIC) KEYWORDS.set(w, K_BASIC)
for (const w of ['struct', 'union', 'enum']) KEYWORDS.set(w, K_RECORD)
for (const w of ['__typeof__', '__typeof', 'typeof']) KEYWORDS.set(w, K_TYPEOF)
/** basic type keywords (sorted, joined) -> their type */
const BASIC_TYPES = new Map()

/**
 * The declarations of one environment. A cdef works on a transaction
 * (`begin`), merged on success (`commit`) and dropped on failure.
 */
class Scope {
  constructor(parent) {
    this.parent = parent
    this.typedefs = new Map()
    this.tags = new Map()
    this.constants = new Map()
    this.functions = new Map()
    this.variables = new Map()
    /** records completed (or enums) in this transaction, undone on failure */
    this.completed = []
    /** builtin typedefs: a header may redefine them */
    this.weak = new Set()
  }

  lookup(kind, name) {
    for (let s = this; s !== undefined; s = s.parent) {
      const v = s[kind].get(name)
      if (v !== undefined) return v
    }
    return undefined
  }

  isWeak(name) {
    for (let s = this; s !== undefined; s = s.parent) if (s.weak.has(name)) return true
    return false
  }

  begin() {
    return new Scope(this)
  }

  commit(tx) {
    for (const kind of ['typedefs', 'tags', 'constants', 'functions', 'variables']) {
      for (const [k, v] of tx[kind]) this[kind].set(k, v)
    }
    for (const name of tx.weak) this.weak.add(name)
    for (const name of tx.typedefs.keys()) if (!tx.weak.has(name)) this.weak.delete(name)
  }

  rollback(tx) {
    for (const [t, saved] of tx.completed) Object.assign(t, saved)
  }
}

/** An error in a source: a SyntaxError with the token's line and column. */
function at(tok, message) {
  return cdefError(`${tok.line}:${tok.col}: ${message}`)
}

function describe(tok) {
  if (tok.k === EOF) return 'end of input'
  if (tok.k === STR) return `"${tok.v.slice(0, 20)}"`
  return `'${tok.v}'`
}

class Parser {
  constructor(src, scope, params = []) {
    this.toks = tokenize(src)
    this.i = 0
    this.scope = scope
    /** `$` parameters of typeof */
    this.params = params
    this.pack = 0
    this.packStack = []
    this.depth = 0
  }

  peek(n = 0) {
    return this.toks[this.i + n]
  }

  next() {
    return this.toks[this.i++]
  }

  is(v, n = 0) {
    const t = this.toks[this.i + n]
    return (t.k === PUNCT || t.k === ID) && t.v === v
  }

  accept(v) {
    if (this.is(v)) {
      this.i++
      return true
    }
    return false
  }

  expect(v, what) {
    const t = this.peek()
    if ((t.k === PUNCT || t.k === ID) && t.v === v) return this.next()
    throw at(t, `expected '${v}'${what ? ` ${what}` : ''}, got ${describe(t)}`)
  }

  fail(message, tok = this.peek()) {
    throw at(tok, message)
  }

  enter() {
    if (++this.depth > 200) this.fail('declarations nested too deeply')
  }

  leave() {
    this.depth--
  }

  // ---- the translation unit ----

  /** Parses every declaration of the source into the scope. */
  parseAll() {
    while (this.peek().k !== EOF) {
      const t = this.peek()
      if (t.k === PRAGMA) {
        this.next()
        this.pragmaPack(t)
        continue
      }
      if (this.accept(';')) continue
      if (this.is('_Static_assert') || this.is('static_assert')) {
        this.skipStaticAssert()
        continue
      }
      this.declaration()
    }
  }

  pragmaPack(t) {
    const m = /^pack\s*\(\s*(.*?)\s*\)\s*$/.exec(t.v)
    if (m === null) {
      if (/^pack\s*$/.test(t.v)) return void (this.pack = 0)
      throw at(t, `malformed '#pragma ${t.v}'`)
    }
    const args = m[1] === '' ? [] : m[1].split(',').map((s) => s.trim())
    const num = (s) => {
      if (!/^(1|2|4|8|16)$/.test(s)) throw at(t, `'#pragma pack' takes 1, 2, 4, 8 or 16, got '${s}'`)
      return Number(s)
    }
    if (args.length === 0) this.pack = 0
    else if (args[0] === 'push') {
      this.packStack.push(this.pack)
      const n = args.slice(1).find((a) => /^\d+$/.test(a))
      if (n !== undefined) this.pack = num(n)
    } else if (args[0] === 'pop') {
      if (this.packStack.length > 0) this.pack = this.packStack.pop()
      const n = args.slice(1).find((a) => /^\d+$/.test(a))
      if (n !== undefined) this.pack = num(n)
    } else if (args[0] === 'show') {
      // nothing to show
    } else this.pack = num(args[0])
  }

  skipStaticAssert() {
    this.next()
    this.expect('(')
    this.skipBalanced('(', ')')
    this.accept(';')
  }

  /** Skips to the token after the `close` matching an already-consumed `open`. */
  skipBalanced(open, close) {
    let depth = 1
    for (;;) {
      const t = this.next()
      if (t.k === EOF) this.fail(`unbalanced '${open}'`, t)
      if (t.k === PUNCT && t.v === open) depth++
      else if (t.k === PUNCT && t.v === close && --depth === 0) return
    }
  }

  /** One external declaration: specifiers, then declarators. */
  declaration() {
    const start = this.peek()
    const spec = this.specifiers(true)
    if (this.accept(';')) return
    for (;;) {
      const d = this.declarator(spec.type, false, spec.cc)
      this.afterDeclarator(d, spec)
      if (this.is('{')) {
        // A function definition (an inline function in a header): its body
        // is skipped, and the function is declared.
        if (d.type.kind !== 'function') this.fail(`unexpected '{' after '${d.name}'`)
        this.next()
        this.skipBalanced('{', '}')
        this.declare(d, spec, start)
        return
      }
      let init
      if (this.accept('=')) {
        if (this.is('{')) {
          this.next()
          this.skipBalanced('{', '}')
        } else init = this.assignmentExpr()
      }
      this.declare(d, spec, start, init)
      if (this.accept(',')) continue
      this.expect(';', `after the declaration of '${d.name}'`)
      return
    }
  }

  /** Attributes and asm labels after a declarator. */
  afterDeclarator(d, spec) {
    for (;;) {
      const t = this.peek()
      if (t.k !== ID) return
      if (ASM.has(t.v)) {
        this.next()
        this.expect('(')
        const name = this.next()
        if (name.k !== STR) this.fail(`expected a symbol name in ${t.v}(...)`, name)
        d.asm = name.v
        this.expect(')')
      } else if (ATTRIBUTE.has(t.v)) {
        const attrs = this.attributes()
        if (attrs.mode !== undefined) d.type = this.withMode(d.type, attrs.mode, t)
        if (attrs.aligned && spec.storage.has('typedef')) d.align = attrs.aligned
      } else return
    }
  }

  /** Records a declarator's name in the transaction. */
  declare(d, spec, start, init) {
    const scope = this.scope
    const name = d.name
    if (name === undefined) return
    if (spec.storage.has('typedef')) {
      let type = d.type
      if (d.align && type.align !== undefined && d.align > type.align) type = this.overAligned(type, d.align)
      const old = scope.lookup('typedefs', name)
      if (old !== undefined && old !== type && !scope.isWeak(name)) {
        if (!sameType(old, type)) this.redefine(`typedef '${name}'`, T.spell(old), T.spell(type), start)
        return
      }
      scope.typedefs.set(name, type)
      return
    }
    if (d.type.kind === 'function') {
      const old = scope.lookup('functions', name)
      if (old !== undefined) {
        if (!sameType(old.type, d.type)) this.redefine(`function '${name}'`, T.spell(old.type), T.spell(d.type), start)
        if (d.asm !== undefined && old.asm === undefined) scope.functions.set(name, { type: old.type, asm: d.asm, name })
        return
      }
      scope.functions.set(name, { type: d.type, asm: d.asm, name })
      return
    }
    if (spec.storage.has('static') || (init !== undefined && d.type.qual & T.CONST)) {
      if (init === undefined) return
      const t = d.type.base
      if (t.kind !== 'int' && t.kind !== 'enum' && t.kind !== 'bool' && t.kind !== 'float') {
        this.fail(`'${name}': only arithmetic static const values are supported`, start)
      }
      const value = convertConst(init, t)
      const old = scope.lookup('constants', name)
      if (old !== undefined && old.value !== value) this.redefine(`constant '${name}'`, String(old.value), String(value), start)
      scope.constants.set(name, { value, big: typeof value === 'number' ? (Number.isInteger(value) ? BigInt(value) : undefined) : value, type: t, float: t.kind === 'float' })
      return
    }
    const old = scope.lookup('variables', name)
    if (old !== undefined && !sameType(old.type, d.type) && !(old.type.kind === 'array' && d.type.kind === 'array' && old.type.element === d.type.element)) {
      this.redefine(`variable '${name}'`, T.spell(old.type), T.spell(d.type), start)
    }
    scope.variables.set(name, { type: d.type, asm: d.asm, name })
  }

  redefine(what, before, now, tok) {
    const e = at(tok, `${what} redefined: declared as ${before}, now as ${now}`)
    e.code = 'ERR_FFI_CDEF_REDEFINE'
    throw e
  }

  // ---- declaration specifiers ----

  /**
   * Storage classes, qualifiers, attributes and the type specifiers of a
   * declaration: `{ type, storage: Set, attrs }`.
   */
  specifiers(allowStorage) {
    let storage = NO_STORAGE
    let qual = 0
    let words
    let named
    let record
    let packed = false
    let aligned = 0
    let mode
    let cc
    let any = false
    const first = this.peek()
    for (;;) {
      const t = this.peek()
      if (t.k !== ID) break
      const v = t.v
      const kind = KEYWORDS.get(v)
      if (kind === K_BASIC) {
        if (named !== undefined || record !== undefined) break
        if (words === undefined) words = [v]
        else words.push(v)
        any = true
        this.i++
        continue
      }
      if (kind === K_QUAL) {
        qual |= QUALIFIERS[v]
        this.i++
        if (v === '_Atomic' && this.is('(')) {
          // _Atomic(type): the type.
          this.next()
          const inner = this.typeName()
          this.expect(')')
          named = inner
          any = true
        }
        continue
      }
      if (kind === K_STORAGE) {
        if (!allowStorage && v !== '__extension__' && v !== 'register') this.fail(`unexpected '${v}'`)
        if (storage === NO_STORAGE) storage = new Set()
        storage.add(v)
        this.i++
        continue
      }
      if (kind === K_CALLCONV) {
        cc = v.replace(/^_+/, '')
        this.i++
        continue
      }
      if (kind === K_ATTR) {
        const a = this.attributes()
        if (a.packed) packed = true
        if (a.aligned) aligned = Math.max(aligned, a.aligned)
        if (a.mode !== undefined) mode = a.mode
        continue
      }
      if (kind === K_RECORD) {
        if (any) break
        this.i++
        record = v === 'enum' ? this.enumSpecifier(t) : this.recordSpecifier(v, t)
        any = true
        continue
      }
      if (kind === K_TYPEOF) {
        if (any) break
        this.i++
        this.expect('(')
        named = this.typeName()
        this.expect(')')
        any = true
        continue
      }
      if (!any) {
        const td = this.scope.lookup('typedefs', v)
        if (td !== undefined) {
          named = td
          any = true
          this.i++
          continue
        }
      }
      break
    }
    if (this.is('$')) {
      if (any) this.fail("unexpected '$' after a type")
      named = this.param()
      any = true
    }
    let type
    if (record !== undefined) type = record
    else if (named !== undefined) type = named
    else if (words !== undefined) {
      const key = words.length === 1 ? words[0] : words.sort().join(' ')
      type = BASIC_TYPES.get(key)
      if (type === undefined) {
        const counts = Object.create(null)
        for (const w of words) counts[w] = (counts[w] || 0) + 1
        type = this.basicType(counts, first)
        BASIC_TYPES.set(key, type)
      }
    }
    else if (storage.size > 0 || qual) type = T.INT32 // implicit int
    else {
      const t = this.peek()
      if (t.k === ID) throw unknownType(t)
      this.fail(`expected a type, got ${describe(t)}`)
    }
    if (mode !== undefined) type = this.withMode(type, mode, first)
    if (aligned && record === undefined && type.align !== undefined && aligned > type.align) type = this.overAligned(type, aligned)
    if (qual) type = T.qualified(type, qual)
    return { type, storage, packed, aligned, cc }
  }

  /** A `$` parameter of typeof: a ctype (or cdata's type). */
  param() {
    const tok = this.next()
    if (this.params.length === 0) this.fail("'$' without a parameter", tok)
    const t = this.params.shift()
    if (!(t instanceof T.CType)) this.fail(`'$' needs a ctype, got ${typeof t === 'object' ? 'an object' : typeof t}`, tok)
    return t
  }

  basicType(c, tok) {
    const n = (k) => c[k] || 0
    const unsigned = n('unsigned') > 0
    const signed = n('signed') + n('__signed') + n('__signed__') > 0
    if (unsigned && signed) this.fail('both signed and unsigned', tok)
    const complex = n('_Complex') + n('__complex__') + n('complex') > 0
    const long = n('long')
    if (n('void')) return T.VOID
    if (n('_Bool') || n('bool')) return T.BOOL
    if (n('__builtin_va_list')) return vaList()
    if (n('__int128') || n('__int128_t')) return unsigned ? T.UINT128 : T.INT128
    if (n('__uint128_t')) return T.UINT128
    if (n('_Float128') || n('__float128')) return complex ? T.arrayOf(T.FLOAT128, 2) : T.FLOAT128
    if (n('_Float16') || n('__fp16') || n('__bf16')) return T.FLOAT16
    if (n('_Float32')) return complex ? T.COMPLEX_FLOAT : T.FLOAT
    if (n('_Float64') || n('_Float32x')) return complex ? T.COMPLEX_DOUBLE : T.DOUBLE
    if (n('_Float64x')) return complex ? T.COMPLEX_LONGDOUBLE : T.LONGDOUBLE
    if (n('float')) return complex ? T.COMPLEX_FLOAT : T.FLOAT
    if (n('double')) {
      if (long) return complex ? T.COMPLEX_LONGDOUBLE : T.LONGDOUBLE
      return complex ? T.COMPLEX_DOUBLE : T.DOUBLE
    }
    if (complex && !n('char') && !n('short') && !n('int') && !long) return T.COMPLEX_DOUBLE
    if (n('__int8')) return T.intOfSize(1, unsigned)
    if (n('__int16')) return T.intOfSize(2, unsigned)
    if (n('__int32')) return T.intOfSize(4, unsigned)
    if (n('__int64')) return T.intOfSize(8, unsigned)
    if (n('char')) return unsigned ? T.UINT8 : signed ? T.INT8 : T.CHAR
    if (n('short')) return T.intOfSize(2, unsigned)
    if (long >= 2) return T.intOfSize(8, unsigned)
    if (long === 1) return T.intOfSize(T.LONG_SIZE, unsigned)
    return T.intOfSize(4, unsigned)
  }

  /** GCC's `mode` attribute: an integer or float of that machine mode. */
  withMode(type, mode, tok) {
    const m = mode.replace(/^__|__$/g, '')
    const sizes = { QI: 1, HI: 2, SI: 4, DI: 8, TI: 16, word: T.POINTER_SIZE, pointer: T.POINTER_SIZE, byte: 1 }
    if (type.kind === 'float') {
      const f = { SF: T.FLOAT, DF: T.DOUBLE, XF: T.LONGDOUBLE, TF: T.FLOAT128 }[m]
      if (f === undefined) this.fail(`unsupported mode '${mode}'`, tok)
      return f
    }
    const size = sizes[m]
    if (size === undefined) this.fail(`unsupported mode '${mode}'`, tok)
    if (size === 16) return type.unsigned ? T.UINT128 : T.INT128
    return T.intOfSize(size, type.unsigned)
  }

  /** A copy of a scalar or record type with a larger alignment (aligned(n) on a typedef). */
  overAligned(type, align) {
    const t = T.copyOf(type.base)
    t.align = align
    t.base = t
    // GCC keeps the size: only where the type starts changes.
    return type.qual ? T.qualified(t, type.qual) : t
  }

  /** `__attribute__((...))` and `__declspec(...)`: what matters for layout. */
  attributes() {
    const out = { packed: false, aligned: 0, mode: undefined }
    while (this.peek().k === ID && ATTRIBUTE.has(this.peek().v)) {
      const kw = this.next()
      const declspec = kw.v === '__declspec'
      this.expect('(')
      if (!declspec) this.expect('(')
      while (!this.is(')')) {
        const name = this.next()
        if (name.k === PUNCT && name.v === ',') continue
        if (name.k !== ID) this.fail(`unexpected ${describe(name)} in ${kw.v}`, name)
        const a = name.v.replace(/^__(.*)__$/, '$1')
        if (a === 'packed') out.packed = true
        if (this.accept('(')) {
          if (a === 'aligned' || a === 'align') {
            if (this.is(')')) out.aligned = Math.max(out.aligned, 16)
            else out.aligned = Math.max(out.aligned, Number(this.constant().v))
            this.expect(')')
          } else if (a === 'mode') {
            const m = this.next()
            out.mode = m.v
            this.expect(')')
          } else this.skipBalanced('(', ')')
        } else if (a === 'aligned') out.aligned = Math.max(out.aligned, 16)
      }
      this.expect(')')
      if (!declspec) this.expect(')')
    }
    return out
  }

  // ---- struct, union, enum ----

  recordSpecifier(kind, kwTok) {
    const attrs = this.attributes()
    let tag
    if (this.peek().k === ID && !ATTRIBUTE.has(this.peek().v)) tag = this.next().v
    const more = this.attributes()
    const scope = this.scope
    const key = tag !== undefined ? `${kind} ${tag}` : undefined
    if (!this.is('{')) {
      if (tag === undefined) this.fail(`expected a tag or '{' after '${kind}'`)
      let t = scope.lookup('tags', key)
      if (t === undefined) {
        t = T.record(kind, tag)
        scope.tags.set(key, t)
      }
      return t
    }
    this.next()
    this.enter()
    const members = []
    while (!this.accept('}')) {
      if (this.accept(';')) continue
      if (this.peek().k === PRAGMA) {
        this.pragmaPack(this.next())
        continue
      }
      if (this.is('_Static_assert') || this.is('static_assert')) {
        this.skipStaticAssert()
        continue
      }
      const spec = this.specifiers(false)
      if (this.accept(';')) {
        // An anonymous struct or union member (C11), or a lone declaration.
        if ((spec.type.kind === 'struct' || spec.type.kind === 'union') && spec.type.tag === undefined) {
          members.push({ name: undefined, type: spec.type, bits: undefined, align: 0, packed: spec.packed })
        } else if (spec.type.kind === 'struct' || spec.type.kind === 'union') {
          // struct s { struct t; }: MSVC's anonymous tagged member; GCC ignores it.
        }
        continue
      }
      for (;;) {
        let d
        if (this.is(':')) d = { name: undefined, type: spec.type }
        else d = this.declarator(spec.type, false, spec.cc)
        let bits
        if (this.accept(':')) {
          const bt = this.peek()
          bits = Number(this.constant().v)
          const base = d.type.base
          if (base.kind !== 'int' && base.kind !== 'enum' && base.kind !== 'bool') throw at(bt, `bitfield '${d.name}' must have an integer type`)
          if (bits < 0 || bits > base.size * 8) throw at(bt, `bitfield '${d.name}' is ${bits} bits wide, its type has ${base.size * 8}`)
          if (bits === 0 && d.name !== undefined) throw at(bt, `bitfield '${d.name}' has width 0`)
        }
        const a = this.attributes()
        if (d.type.kind === 'function') this.fail(`member '${d.name}' is a function`)
        members.push({ name: d.name, type: d.type, bits, align: a.aligned || spec.aligned, packed: a.packed || spec.packed })
        if (this.accept(',')) continue
        this.expect(';', 'after a member')
        break
      }
    }
    this.leave()
    const tail = this.attributes()
    const packed = attrs.packed || more.packed || tail.packed
    const align = Math.max(attrs.aligned, more.aligned, tail.aligned)
    let t = key !== undefined ? scope.lookup('tags', key) : undefined
    const fresh = T.record(kind, tag)
    try {
      T.layout(fresh, members, { packed, align, pack: this.pack })
    } catch (e) {
      throw at(kwTok, `${kind} ${tag || '(anonymous)'}: ${e.message}`)
    }
    if (t !== undefined && t.complete) {
      if (!sameLayout(t, fresh)) this.redefine(`${kind} ${tag}`, describeLayout(t), describeLayout(fresh), kwTok)
      return t
    }
    if (t === undefined) {
      t = fresh
      if (key !== undefined) scope.tags.set(key, t)
      return t
    }
    // Completes a declared tag in place (pointers to it already exist).
    scope.completed.push([t, { size: t.size, align: t.align, fields: t.fields, complete: t.complete, vla: t.vla }])
    t.size = fresh.size
    t.align = fresh.align
    t.fields = fresh.fields
    t.vla = fresh.vla
    t.complete = true
    return t
  }

  enumSpecifier(kwTok) {
    const attrs = this.attributes()
    let tag
    if (this.peek().k === ID && !ATTRIBUTE.has(this.peek().v)) tag = this.next().v
    const scope = this.scope
    const key = tag !== undefined ? `enum ${tag}` : undefined
    // enum e : type { ... } (C23, MSVC)
    let fixed
    if (this.accept(':')) fixed = this.specifiers(false).type
    if (!this.is('{')) {
      if (tag === undefined) this.fail("expected a tag or '{' after 'enum'")
      let t = scope.lookup('tags', key)
      if (t === undefined) {
        // An enum declared before its values: an int until then.
        t = T.enumType(tag)
        t.size = 4
        t.align = 4
        t.element = T.INT32
        scope.tags.set(key, t)
      }
      return t
    }
    this.next()
    const t = T.enumType(tag)
    let next = 0n
    while (!this.accept('}')) {
      const nameTok = this.next()
      if (nameTok.k !== ID) this.fail(`expected an enumerator name, got ${describe(nameTok)}`, nameTok)
      this.attributes()
      let value = next
      if (this.accept('=')) value = toBig(this.constant())
      t.constants.set(nameTok.v, value)
      const old = scope.lookup('constants', nameTok.v)
      if (old !== undefined && old.big !== value) {
        this.redefine(`constant '${nameTok.v}'`, String(old.value), String(value), nameTok)
      }
      // An enumerator is an int while the enum is being declared (GCC
      // gives a value past int the type that holds it).
      scope.constants.set(nameTok.v, constantOf(value, value >= -0x80000000n && value <= 0x7fffffffn ? T.INT32 : literalType({ value: value < 0n ? -value : value, longs: 0, unsigned: value > 0x7fffffffffffffffn, decimal: false }), t))
      next = value + 1n
      if (!this.accept(',')) {
        this.expect('}', 'after the enumerators')
        break
      }
    }
    const tail = this.attributes()
    if (fixed !== undefined) {
      t.size = fixed.size
      t.align = fixed.align
      t.unsigned = fixed.unsigned
      t.element = fixed
      t.complete = true
    } else T.finishEnum(t, attrs.packed || tail.packed)
    if (key !== undefined) {
      const old = scope.lookup('tags', key)
      if (old !== undefined && old.complete && old.constants.size > 0) {
        if (!sameEnum(old, t)) this.redefine(`enum ${tag}`, 'other values', 'these', kwTok)
        return old
      }
      scope.tags.set(key, t)
    }
    return t
  }

  // ---- declarators ----

  /**
   * A declarator over `base`: `{ name, type }` (name undefined for an
   * abstract one, allowed when `abstract`).
   */
  declarator(base, abstract, specCc) {
    this.enter()
    // A calling convention before the name or a pointer applies to the
    // function type that this declarator (or, for one in parentheses, the
    // one around it) declares: `int __stdcall f(void)`, `int (__stdcall *p)(void)`.
    let cc
    // Pointers, with their qualifiers.
    const ptrs = []
    for (;;) {
      if (this.accept('*') || this.accept('^')) {
        let q = 0
        for (;;) {
          const t = this.peek()
          if (t.k === ID && t.v in QUALIFIERS) {
            q |= QUALIFIERS[t.v]
            this.next()
          } else if (t.k === ID && ATTRIBUTE.has(t.v)) this.attributes()
          else if (t.k === ID && CALLCONV.has(t.v)) this.next()
          else break
        }
        ptrs.push(q)
        continue
      }
      const t = this.peek()
      if (t.k === ID && (CALLCONV.has(t.v) || ATTRIBUTE.has(t.v))) {
        if (CALLCONV.has(t.v)) cc = this.next().v.replace(/^_+/, '')
        else this.attributes()
        continue
      }
      break
    }
    let inner
    let name
    let nameTok
    const t = this.peek()
    if (t.k === PUNCT && t.v === '(' && this.nestedDeclarator()) {
      this.next()
      inner = this.declarator(undefined, abstract)
      this.expect(')')
    } else if (t.k === ID && !(t.v in QUALIFIERS) && !ATTRIBUTE.has(t.v) && !ASM.has(t.v)) {
      nameTok = this.next()
      name = nameTok.v
    } else if (!abstract) {
      this.fail(`expected a name, got ${describe(t)}`)
    }
    // Suffixes: arrays and parameter lists, outermost last.
    const suffixes = []
    for (;;) {
      if (this.accept('[')) {
        while (this.peek().k === ID && (this.peek().v in QUALIFIERS || this.peek().v === 'static')) this.next()
        if (this.accept(']')) suffixes.push({ array: true, n: undefined, vla: false })
        else if (this.is('?') && this.is(']', 1)) {
          this.next()
          this.next()
          suffixes.push({ array: true, n: undefined, vla: true })
        } else if (this.is('$') && this.is(']', 1)) {
          const tok = this.next()
          this.next()
          if (this.params.length === 0) this.fail("'$' without a parameter", tok)
          const p = this.params.shift()
          suffixes.push({ array: true, n: dimension(p, tok), vla: false })
        } else if (this.is('*') && this.is(']', 1)) {
          this.next()
          this.next()
          suffixes.push({ array: true, n: undefined, vla: false })
        } else {
          const tok = this.peek()
          const n = this.constant()
          this.expect(']')
          suffixes.push({ array: true, n: dimension(n.v, tok), vla: false })
        }
        continue
      }
      if (this.is('(')) {
        this.next()
        suffixes.push(this.parameterList())
        continue
      }
      break
    }
    // The function type applied first to the base type takes the
    // calling convention: the inner declarator's, else the specifiers'.
    const fcc = inner !== undefined && inner.cc !== undefined ? inner.cc : specCc
    if (fcc !== undefined) {
      for (let i = suffixes.length - 1; i >= 0; i--) {
        if (!suffixes[i].array) {
          suffixes[i] = { ...suffixes[i], cc: fcc }
          break
        }
      }
    }
    this.leave()
    // The derivations in the order they apply to the base type: this
    // level's pointers, its suffixes from the last, then the inner
    // declarator's.
    const ops = ptrs
    for (let i = suffixes.length - 1; i >= 0; i--) ops.push(suffixes[i])
    if (inner !== undefined) for (let i = 0; i < inner.ops.length; i++) ops.push(inner.ops[i])
    const d = { name: inner !== undefined ? inner.name : name, ops, type: undefined, asm: undefined, align: 0, tok: nameTok || t, cc: suffixes.length === 0 ? cc : undefined }
    if (base !== undefined) d.type = this.applyOps(base, ops, d.tok)
    return d
  }

  /** Applies a declarator's derivations to its base type. */
  applyOps(base, ops, tok) {
    let type = base
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]
      if (typeof op === 'number') {
        type = T.pointerTo(type)
        if (op !== 0) type = T.qualified(type, op)
      } else if (op.array) {
        if (type.kind === 'function') this.fail('an array of functions', tok)
        if (type.kind === 'void') this.fail('an array of void', tok)
        type = T.arrayOf(type, op.n, op.vla)
      } else {
        if (type.kind === 'function' || type.kind === 'array') this.fail(`a function returning ${type.kind === 'array' ? 'an array' : 'a function'}`, tok)
        type = T.functionOf(type, op.params, op.variadic, op.cc)
      }
    }
    return type
  }

  /** After '(' in a declarator: a nested declarator, not a parameter list. */
  nestedDeclarator() {
    const t = this.peek(1)
    if (t.k === PUNCT) return t.v === '*' || t.v === '^' || t.v === '(' || t.v === '['
    if (t.k !== ID) return false
    if (CALLCONV.has(t.v) || ATTRIBUTE.has(t.v)) return true
    if (t.v in QUALIFIERS || BASIC.has(t.v) || STORAGE.has(t.v) || t.v === 'struct' || t.v === 'union' || t.v === 'enum') return false
    return this.scope.lookup('typedefs', t.v) === undefined
  }

  /** A parameter list after '(': `{ params, variadic }`. */
  parameterList() {
    const params = []
    let variadic = false
    if (this.accept(')')) return { array: false, params, variadic, cc: undefined }
    if (this.is('void') && this.is(')', 1)) {
      this.next()
      this.next()
      return { array: false, params, variadic, cc: undefined }
    }
    for (;;) {
      if (this.accept('...')) {
        variadic = true
        break
      }
      const spec = this.specifiers(false)
      const d = this.declarator(spec.type, true, spec.cc)
      this.afterDeclarator(d, spec)
      let type = d.type
      // C's adjustments: arrays and functions are passed as pointers.
      if (type.kind === 'array') type = T.qualified(T.pointerTo(type.element), type.qual)
      else if (type.kind === 'function') type = T.pointerTo(type)
      if (type.kind === 'void') {
        if (d.name !== undefined || params.length > 0) this.fail("'void' must be the only parameter")
      }
      params.push({ name: d.name, type: type.qual ? type.base : type })
      if (!this.accept(',')) break
    }
    this.expect(')', 'after the parameters')
    return { array: false, params, variadic, cc: undefined }
  }

  /** A type name (typeof strings, casts, sizeof). */
  typeName() {
    const spec = this.specifiers(false)
    const d = this.declarator(spec.type, true, spec.cc)
    if (d.name !== undefined) this.fail(`unexpected name '${d.name}' in a type`)
    return d.type
  }

  // ---- constant expressions ----

  /** A constant expression (conditional level): a value `{ v, t }`. */
  constant() {
    return this.conditional()
  }

  assignmentExpr() {
    return this.conditional()
  }

  conditional() {
    const c = this.binary(0)
    if (!this.accept('?')) return c
    const a = this.expression()
    this.expect(':')
    const b = this.conditional()
    const { t } = usual(a, b)
    return truthy(c) ? cast(a, t) : cast(b, t)
  }

  expression() {
    let v = this.conditional()
    while (this.accept(',')) v = this.conditional()
    return v
  }

  binary(minPrec) {
    let left = this.unary()
    for (;;) {
      const tok = this.peek()
      if (tok.k !== PUNCT) return left
      const prec = BINARY[tok.v]
      if (prec === undefined || prec < minPrec) return left
      this.next()
      const right = this.binary(prec + 1)
      left = binop(tok, left, right)
    }
  }

  unary() {
    this.enter()
    try {
      const t = this.peek()
      if (t.k === PUNCT) {
        switch (t.v) {
          case '-':
          case '+':
          case '~':
          case '!': {
            this.next()
            return unop(t, this.unary())
          }
          case '(': {
            if (this.startsType(1)) {
              this.next()
              const type = this.typeName()
              this.expect(')')
              return castTo(this.unary(), type, t)
            }
            this.next()
            const v = this.expression()
            this.expect(')')
            return v
          }
          default:
            break
        }
      }
      if (t.k === ID && (t.v === 'sizeof' || t.v === '_Alignof' || t.v === '__alignof__' || t.v === '__alignof' || t.v === 'alignof')) {
        this.next()
        let type
        if (this.is('(') && this.startsType(1)) {
          this.next()
          type = this.typeName()
          this.expect(')')
        } else type = this.unary().t
        const n = t.v === 'sizeof' ? type.size : type.align
        if (n === undefined) this.fail(`${t.v} of an incomplete type`, t)
        return { v: BigInt(n), t: T.intOfSize(T.POINTER_SIZE, true) }
      }
      if (t.k === ID && t.v === '__extension__') {
        this.next()
        return this.unary()
      }
      if (t.k === ID && (t.v === '__builtin_offsetof' || t.v === 'offsetof')) {
        this.next()
        this.expect('(')
        const type = this.typeName()
        this.expect(',')
        const f = this.next()
        this.expect(')')
        const field = type.fields && type.fields.find((x) => x.name === f.v)
        if (field === undefined) this.fail(`no member '${f.v}'`, f)
        return { v: BigInt(field.offset), t: T.intOfSize(T.POINTER_SIZE, true) }
      }
      return this.primary()
    } finally {
      this.leave()
    }
  }

  /** Whether the token at `n` starts a type name (a cast, sizeof(type)). */
  startsType(n) {
    const t = this.peek(n)
    if (t.k === PUNCT) return t.v === '$'
    if (t.k !== ID) return false
    if (BASIC.has(t.v) || t.v in QUALIFIERS || t.v === 'struct' || t.v === 'union' || t.v === 'enum' || ATTRIBUTE.has(t.v)) return true
    return this.scope.lookup('typedefs', t.v) !== undefined && this.scope.lookup('constants', t.v) === undefined
  }

  primary() {
    const t = this.next()
    if (t.k === NUM) {
      const n = t.num
      if (n.float) return { v: n.value, t: n.single ? T.FLOAT : T.DOUBLE }
      return { v: n.value, t: literalType(n) }
    }
    if (t.k === CHAR) return { v: t.num.value, t: T.INT32 }
    if (t.k === ID) {
      const c = this.scope.lookup('constants', t.v)
      if (c !== undefined) {
        if (c.float) return { v: c.value, t: c.type }
        return { v: c.big, t: c.type.kind === 'enum' ? c.type.element : c.type }
      }
      throw at(t, `'${t.v}' is not a constant`)
    }
    if (t.k === STR) throw at(t, 'a string is not an integer constant')
    throw at(t, `unexpected ${describe(t)}`)
  }
}

function unknownType(tok) {
  const e = at(tok, `unknown type '${tok.v}'`)
  return e
}

function vaList() {
  // The platform's __builtin_va_list: x86-64 System V passes an array of one
  // 24-byte record; AArch64 Linux a 32-byte record; elsewhere a pointer.
  if (vaList.type === undefined) {
    if (process.platform !== 'win32' && process.arch === 'x64') {
      const tag = T.record('struct', '__va_list_tag')
      T.layout(tag, [
        { name: 'gp_offset', type: T.UINT32 },
        { name: 'fp_offset', type: T.UINT32 },
        { name: 'overflow_arg_area', type: T.pointerTo(T.VOID) },
        { name: 'reg_save_area', type: T.pointerTo(T.VOID) },
      ], {})
      vaList.type = T.arrayOf(tag, 1)
    } else if (process.platform === 'linux' && process.arch === 'arm64') {
      const tag = T.record('struct', '__va_list')
      const vp = T.pointerTo(T.VOID)
      T.layout(tag, [
        { name: '__stack', type: vp },
        { name: '__gr_top', type: vp },
        { name: '__vr_top', type: vp },
        { name: '__gr_offs', type: T.INT32 },
        { name: '__vr_offs', type: T.INT32 },
      ], {})
      vaList.type = tag
    } else vaList.type = T.pointerTo(T.VOID)
  }
  return vaList.type
}

// ---- constant arithmetic, with C's types ----

const BINARY = { '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '>': 7, '<=': 7, '>=': 7, '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10 }

/** The type of an integer literal, as C picks it from its value and suffixes. */
function literalType(n) {
  if (n.longs === 0 && !n.unsigned && n.value <= 0x7fffffffn) return T.INT32
  const fits = (size, unsigned) => (unsigned ? n.value < 1n << BigInt(size * 8) : n.value < 1n << BigInt(size * 8 - 1))
  const candidates = []
  if (n.longs === 0) candidates.push([4, false], [4, true], [T.LONG_SIZE, false], [T.LONG_SIZE, true], [8, false], [8, true])
  if (n.longs === 1) candidates.push([T.LONG_SIZE, false], [T.LONG_SIZE, true], [8, false], [8, true])
  if (n.longs === 2) candidates.push([8, false], [8, true])
  for (const [size, unsigned] of candidates) {
    if (n.unsigned && !unsigned) continue
    // A decimal literal without u is never unsigned.
    if (n.decimal && !n.unsigned && unsigned) continue
    if (fits(size, unsigned)) return T.intOfSize(size, unsigned)
  }
  return T.UINT64
}

function isFloatV(a) {
  return a.t.kind === 'float'
}

/** Reduces a bigint to the range of an integer type, as a C conversion. */
function wrap(v, t) {
  if (t.kind === 'bool') return v !== 0n ? 1n : 0n
  const bits = BigInt((t.kind === 'enum' ? t.element.size : t.size) * 8)
  return t.unsigned ? BigInt.asUintN(Number(bits), v) : BigInt.asIntN(Number(bits), v)
}

function toBig(a) {
  if (typeof a.v === 'bigint') return a.v
  if (!Number.isFinite(a.v)) throw cdefError(`a non-finite value in a constant expression`)
  return BigInt(Math.trunc(a.v))
}

function promote(a) {
  if (isFloatV(a)) return a
  const t = a.t.kind === 'enum' ? a.t.element : a.t
  if (t.kind === 'bool' || t.size < 4) return { v: a.v, t: T.INT32 }
  return { v: a.v, t }
}

/** The usual arithmetic conversions: the common type of two operands. */
function usual(a, b) {
  a = promote(a)
  b = promote(b)
  if (isFloatV(a) || isFloatV(b)) {
    const t = a.t === T.LONGDOUBLE || b.t === T.LONGDOUBLE ? T.LONGDOUBLE : a.t === T.DOUBLE || b.t === T.DOUBLE || !isFloatV(a) || !isFloatV(b) ? T.DOUBLE : T.FLOAT
    return { a, b, t }
  }
  let t
  if (a.t === b.t) t = a.t
  else if (a.t.unsigned === b.t.unsigned) t = a.t.size >= b.t.size ? a.t : b.t
  else {
    const [u, s] = a.t.unsigned ? [a.t, b.t] : [b.t, a.t]
    if (u.size >= s.size) t = u
    else t = s // the signed type can hold every value of the unsigned one
  }
  return { a, b, t }
}

function cast(a, t) {
  if (t.kind === 'float') return { v: typeof a.v === 'bigint' ? Number(a.v) : a.v, t }
  return { v: wrap(toBig(a), t), t }
}

function castTo(a, type, tok) {
  const t = type.base
  if (t.kind === 'pointer') return { v: BigInt.asUintN(T.POINTER_SIZE * 8, toBig(a)), t: T.intOfSize(T.POINTER_SIZE, true) }
  if (t.kind === 'void') return { v: 0n, t: T.INT32 }
  if (t.kind !== 'int' && t.kind !== 'enum' && t.kind !== 'bool' && t.kind !== 'float') throw at(tok, `cannot cast a constant to ${T.spell(type)}`)
  return cast(a, t.kind === 'enum' ? t.element : t)
}

function truthy(a) {
  return typeof a.v === 'bigint' ? a.v !== 0n : a.v !== 0
}

function unop(tok, a) {
  if (tok.v === '!') return { v: truthy(a) ? 0n : 1n, t: T.INT32 }
  const p = promote(a)
  if (isFloatV(p)) {
    if (tok.v === '~') throw at(tok, "'~' of a floating value")
    return { v: tok.v === '-' ? -p.v : p.v, t: p.t }
  }
  if (tok.v === '-') return { v: wrap(-p.v, p.t), t: p.t }
  if (tok.v === '~') return { v: wrap(~p.v, p.t), t: p.t }
  return p
}

function binop(tok, x, y) {
  const op = tok.v
  if (op === '&&') return { v: truthy(x) && truthy(y) ? 1n : 0n, t: T.INT32 }
  if (op === '||') return { v: truthy(x) || truthy(y) ? 1n : 0n, t: T.INT32 }
  if (op === '<<' || op === '>>') {
    const a = promote(x)
    const b = promote(y)
    if (isFloatV(a) || isFloatV(b)) throw at(tok, `'${op}' of a floating value`)
    const n = b.v
    if (n < 0n || n >= BigInt(a.t.size * 8)) throw at(tok, `shift by ${n} is out of range for ${T.spell(a.t)}`)
    const v = op === '<<' ? a.v << n : a.v >> n
    return { v: wrap(v, a.t), t: a.t }
  }
  const { a, b, t } = usual(x, y)
  const A = cast(a, t)
  const B = cast(b, t)
  if (t.kind === 'float') {
    const av = A.v
    const bv = B.v
    switch (op) {
      case '+': return { v: av + bv, t }
      case '-': return { v: av - bv, t }
      case '*': return { v: av * bv, t }
      case '/': return { v: av / bv, t }
      case '%': throw at(tok, "'%' of a floating value")
      case '<': return { v: av < bv ? 1n : 0n, t: T.INT32 }
      case '>': return { v: av > bv ? 1n : 0n, t: T.INT32 }
      case '<=': return { v: av <= bv ? 1n : 0n, t: T.INT32 }
      case '>=': return { v: av >= bv ? 1n : 0n, t: T.INT32 }
      case '==': return { v: av === bv ? 1n : 0n, t: T.INT32 }
      case '!=': return { v: av !== bv ? 1n : 0n, t: T.INT32 }
      default: throw at(tok, `'${op}' of a floating value`)
    }
  }
  const av = A.v
  const bv = B.v
  switch (op) {
    case '+': return { v: wrap(av + bv, t), t }
    case '-': return { v: wrap(av - bv, t), t }
    case '*': return { v: wrap(av * bv, t), t }
    case '/':
    case '%':
      if (bv === 0n) throw at(tok, 'division by zero in a constant expression')
      return { v: wrap(op === '/' ? av / bv : av % bv, t), t }
    case '&': return { v: av & bv, t }
    case '|': return { v: av | bv, t }
    case '^': return { v: av ^ bv, t }
    case '<': return { v: av < bv ? 1n : 0n, t: T.INT32 }
    case '>': return { v: av > bv ? 1n : 0n, t: T.INT32 }
    case '<=': return { v: av <= bv ? 1n : 0n, t: T.INT32 }
    case '>=': return { v: av >= bv ? 1n : 0n, t: T.INT32 }
    case '==': return { v: av === bv ? 1n : 0n, t: T.INT32 }
    case '!=': return { v: av !== bv ? 1n : 0n, t: T.INT32 }
    default: throw at(tok, `unexpected '${op}'`)
  }
}

/**
 * An enumerator: its value for JavaScript (a number; a bigint only past
 * 2^53), for expressions (bigint) with the type C gives it, and its enum.
 */
function constantOf(big, type, enumType) {
  const safe = big >= -9007199254740991n && big <= 9007199254740991n
  return { value: safe ? Number(big) : big, big, type, float: false, enumType }
}

/** A static const's value in its declared type: a number, or a bigint for 64-bit integers. */
function convertConst(init, t) {
  if (t.kind === 'float') return typeof init.v === 'bigint' ? Number(init.v) : init.v
  const v = wrap(toBig(init), t.kind === 'enum' ? t.element : t)
  return (t.kind === 'enum' ? t.element.size : t.size) === 8 ? v : Number(v)
}

/** An array dimension: a non-negative whole number (bigint accepted). */
function dimension(v, tok) {
  let n
  if (typeof v === 'bigint') n = v
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v)
  else throw at(tok, `an array dimension must be a whole number, got ${typeof v === 'object' ? 'an object' : String(v)}`)
  if (n < 0n) throw at(tok, `negative array dimension ${n}`)
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw at(tok, `array dimension ${n} is too large`)
  return Number(n)
}

/** Whether two types are the same C type (records and enums by identity). */
function sameType(a, b) {
  if (a === b) return true
  if (a.kind !== b.kind || a.qual !== b.qual) return false
  switch (a.kind) {
    case 'pointer':
      return sameType(a.target, b.target)
    case 'array':
      return a.length === b.length && a.vla === b.vla && sameType(a.element, b.element)
    case 'function':
      return a.variadic === b.variadic && sameType(a.returns, b.returns) && a.params.length === b.params.length && a.params.every((p, i) => sameType(p.type, b.params[i].type))
    case 'int':
    case 'float':
    case 'bool':
    case 'void':
    case 'complex':
      return a.base === b.base || (a.size === b.size && a.unsigned === b.unsigned && a.spelling === b.spelling)
    case 'struct':
    case 'union':
      // Anonymous records declared again (a header read twice) are the
      // same when their members are.
      return a.tag === undefined && b.tag === undefined && a.complete && b.complete && sameLayout(a, b)
    case 'enum':
      return a.tag === undefined && b.tag === undefined && sameEnum(a, b)
    default:
      return false
  }
}

function sameLayout(a, b) {
  if (a.size !== b.size || a.align !== b.align || a.fields.length !== b.fields.length) return false
  return a.fields.every((f, i) => {
    const g = b.fields[i]
    return f.name === g.name && f.offset === g.offset && f.bitOffset === g.bitOffset && f.bitSize === g.bitSize && sameType(f.type, g.type)
  })
}

function sameEnum(a, b) {
  if (a.constants.size !== b.constants.size) return false
  for (const [k, v] of a.constants) if (b.constants.get(k) !== v) return false
  return true
}

function describeLayout(t) {
  return `{ ${t.fields.map((f) => `${T.spell(f.type)} ${f.name}`).join('; ')} }`
}

/** Parses `src` (cdef) into a transaction of `scope`; the caller commits. */
function parseDeclarations(src, tx) {
  const p = new Parser(src, tx)
  p.parseAll()
}

/** Parses a type name (typeof), with `$` parameters. */
function parseTypeName(src, scope, params) {
  const p = new Parser(src, scope, params.slice())
  const type = p.typeName()
  const t = p.peek()
  if (t.k !== EOF) throw at(t, `unexpected ${describe(t)} after the type`)
  if (p.params.length > 0) throw at(t, `${p.params.length} unused '$' parameter(s)`)
  return type
}

module.exports = { Scope, Parser, parseDeclarations, parseTypeName, sameType, vaList }
