// ALB wildcard patterns ("*" any run, "?" one character, "\" escapes either), compiled once into the cheapest test.
//
//   pattern        compiled to            test on s[0, end)
//   '*'            AnyMatcher             true
//   '/api'         ExactMatcher           equal (ASCII case folded if ignoreCase)
//   '/api/*'       PrefixMatcher          starts with '/api/'
//   '*.jpg'        SuffixMatcher          ends with '.jpg'
//   '/a?c/*x'      RegexMatcher           /^\/a.c\/.*x$/ (i when ignoreCase)
//
// `end` lets the host condition ignore a ":port" without slicing the string. A regex cannot be bounded, so a
// host-mode regex has its wildcards exclude ":" and tolerates a trailing ":port" instead: the same answer as
// testing the slice, because a host without its port has no ":" and host patterns cannot contain one
// (bracketed IPv6 literals only ever match '*').
// Case folding is ASCII only: ALB accepts visible ASCII in patterns, and header bytes arrive as latin1.

/** A compiled pattern; `end` is where the compared value stops (s.length unless a port is being ignored). */
export interface StringMatcher {
  test (s: string, end: number): boolean
}

export interface WildcardOptions {
  /** ALB compares host, header and query values case-insensitively (ASCII), paths case-sensitively. */
  readonly ignoreCase: boolean
  /** Host mode: wildcards do not cross ":", and a regex allows a trailing ":port". */
  readonly host?: boolean
}

const STAR = -1
const QMARK = -2

/** Pattern pieces: literal strings, STAR and QMARK, with "\*", "\?" and "\\" unescaped into the literals. */
function tokenize (pattern: string): Array<string | number> {
  const out: Array<string | number> = []
  let lit = ''
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!
    if (ch === '\\' && i + 1 < pattern.length) lit += pattern[++i]
    else if (ch === '*' || ch === '?') {
      if (lit !== '') out.push(lit)
      lit = ''
      // Runs of "*" are one "*".
      if (ch === '?' || out[out.length - 1] !== STAR) out.push(ch === '*' ? STAR : QMARK)
    } else lit += ch
  }
  if (lit !== '') out.push(lit)
  return out
}

/** Compile one ALB pattern. */
export function compileWildcard (pattern: string, options: WildcardOptions): StringMatcher {
  const t = tokenize(pattern)
  const ci = options.ignoreCase
  const fold = (s: string): string => ci ? asciiLower(s) : s
  if (t.length === 0) return new ExactMatcher('', false)
  if (t.length === 1 && t[0] === STAR) return new AnyMatcher()
  if (t.length === 1 && typeof t[0] === 'string') return new ExactMatcher(fold(t[0]), ci)
  if (t.length === 2 && typeof t[0] === 'string' && t[1] === STAR) return new PrefixMatcher(fold(t[0]), ci)
  if (t.length === 2 && t[0] === STAR && typeof t[1] === 'string') return new SuffixMatcher(fold(t[1]), ci)
  return new RegexMatcher(toRegExp(t, ci, options.host === true))
}

function toRegExp (tokens: ReadonlyArray<string | number>, ci: boolean, host: boolean): RegExp {
  let src = '^'
  for (const tok of tokens) {
    if (tok === STAR) src += host ? '[^:]*' : '[^]*'
    else if (tok === QMARK) src += host ? '[^:]' : '[^]'
    else src += (tok as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  src += host ? '(?::[0-9]*)?$' : '$'
  return new RegExp(src, ci ? 'i' : '')
}

class AnyMatcher implements StringMatcher {
  test (_s: string, _end: number): boolean { return true }
}

class ExactMatcher implements StringMatcher {
  readonly #lit: string
  readonly #ci: boolean
  constructor (lit: string, ci: boolean) { this.#lit = lit; this.#ci = ci }
  test (s: string, end: number): boolean {
    return end === this.#lit.length && regionEquals(s, 0, this.#lit, this.#ci)
  }
}

class PrefixMatcher implements StringMatcher {
  readonly #lit: string
  readonly #ci: boolean
  constructor (lit: string, ci: boolean) { this.#lit = lit; this.#ci = ci }
  test (s: string, end: number): boolean {
    return end >= this.#lit.length && regionEquals(s, 0, this.#lit, this.#ci)
  }
}

class SuffixMatcher implements StringMatcher {
  readonly #lit: string
  readonly #ci: boolean
  constructor (lit: string, ci: boolean) { this.#lit = lit; this.#ci = ci }
  test (s: string, end: number): boolean {
    return end >= this.#lit.length && regionEquals(s, end - this.#lit.length, this.#lit, this.#ci)
  }
}

class RegexMatcher implements StringMatcher {
  readonly #re: RegExp
  constructor (re: RegExp) { this.#re = re }
  // Non-host patterns are only ever tested with end === s.length; host patterns handle the port themselves.
  test (s: string, _end: number): boolean { return this.#re.test(s) }
}

function asciiLower (s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32))
}

/** s[at, at + lit.length) equals lit; with ci, ASCII letters of s are folded (lit is already lower-case). */
function regionEquals (s: string, at: number, lit: string, ci: boolean): boolean {
  if (!ci) return s.startsWith(lit, at)
  for (let i = 0; i < lit.length; i++) {
    let c = s.charCodeAt(at + i)
    if (c >= 65 && c <= 90) c += 32
    if (c !== lit.charCodeAt(i)) return false
  }
  return true
}
