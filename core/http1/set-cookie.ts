// Set-Cookie: the field we send (RFC 6265 §4.1, strict) and the field we read from targets (§5.2, lenient, as a
// user agent reads it). Both scan characters against one table instead of running regexes.

const SPACE = 0x20
const TAB = 0x09
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const DQUOTE = 0x22
const MINUS = 0x2d
const DIGIT_0 = 0x30
const DIGIT_9 = 0x39
const COLON = 0x3a

// Character classes of the ASCII range, as bits; anything above 0x7f is in none of the sending classes.
const TOKEN = 1 // RFC 9110 §5.6.2 tchar: what a cookie-name is made of (§4.1.1 cites RFC 2616's token, the same set)
const OCTET = 2 // §4.1.1 cookie-octet: visible ASCII except DQUOTE, ",", ";" and "\"
const AV = 4 // §4.1.1 path-value / extension-av: any CHAR except CTLs and ";"
const DATE_DELIMITER = 8 // §5.2.1 delimiter, which splits a cookie-date into tokens

const CLASSES = (() => {
  const t = new Uint8Array(128)
  for (let c = 0x21; c < 0x7f; c++) {
    if (!'()<>@,;:\\"/[]?={}'.includes(String.fromCharCode(c))) t[c]! |= TOKEN
    if (c !== DQUOTE && c !== 0x2c && c !== SEMICOLON && c !== 0x5c) t[c]! |= OCTET
  }
  for (let c = 0x20; c < 0x7f; c++) if (c !== SEMICOLON) t[c]! |= AV
  t[TAB]! |= DATE_DELIMITER
  for (const [lo, hi] of [[0x20, 0x2f], [0x3b, 0x40], [0x5b, 0x60], [0x7b, 0x7e]] as const) {
    for (let c = lo; c <= hi; c++) t[c]! |= DATE_DELIMITER
  }
  return t
})()

function is (c: number, cls: number): boolean {
  return c < 128 && (CLASSES[c]! & cls) !== 0
}

/** What serializeCookie writes after the name and value (RFC 6265 §4.1.1 cookie-av). */
export interface CookieAttributes {
  /** Seconds; an integer ≥ 0 (0 asks the user agent to drop the cookie now, §5.2.2). */
  maxAge?: number
  /** Written as Date.toUTCString(), the IMF-fixdate of §4.1.1's sane-cookie-date; year 1601–9999. */
  expires?: Date
  path?: string
  domain?: string
  httpOnly?: boolean
  secure?: boolean
  /** Browsers drop a SameSite=None cookie that is not also Secure. */
  sameSite?: 'Strict' | 'Lax' | 'None'
}

/**
 * The value of a Set-Cookie field, as RFC 6265 §4.1.1 says servers should send it: `name=value`, then Max-Age,
 * Expires, Domain, Path, Secure, HttpOnly and SameSite when given, each after "; ".
 *
 * Throws a TypeError naming the problem when the name is not a token, the value is neither *cookie-octet nor a
 * double-quoted *cookie-octet, Path or Domain holds ";", a CTL or a non-ASCII character, Max-Age is not an
 * integer ≥ 0, Expires is not a valid date in years 1601–9999, or SameSite is not Strict, Lax or None.
 * (§4.1.1's grammar has Max-Age ≥ 1; 0 is the usual way to delete a cookie, and §5.2.2 reads it as "now".)
 */
export function serializeCookie (name: string, value: string, attrs?: CookieAttributes): string {
  checkName(name)
  checkValue(name, value)
  let out = `${name}=${value}`
  if (attrs === undefined) return out
  const { maxAge, expires, domain, path, sameSite } = attrs
  if (maxAge !== undefined) {
    // Safe integers only: String() writes larger numbers with an exponent ("1e+21"), which is not delta-seconds.
    if (!Number.isSafeInteger(maxAge) || maxAge < 0) throw new TypeError(`cookie ${name}: maxAge must be an integer ≥ 0, not ${maxAge}`)
    out += `; Max-Age=${maxAge}`
  }
  if (expires !== undefined) {
    const year = expires instanceof Date ? expires.getUTCFullYear() : NaN
    // §5.2.1 refuses years before 1601; toUTCString writes years past 9999 with more than four digits.
    if (!(year >= 1601 && year <= 9999)) throw new TypeError(`cookie ${name}: expires must be a valid Date in the years 1601-9999`)
    out += `; Expires=${expires.toUTCString()}`
  }
  if (domain !== undefined) out += `; Domain=${attributeValue(name, 'domain', domain)}`
  if (path !== undefined) out += `; Path=${attributeValue(name, 'path', path)}`
  if (attrs.secure === true) out += '; Secure'
  if (attrs.httpOnly === true) out += '; HttpOnly'
  if (sameSite !== undefined) {
    if (sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') {
      throw new TypeError(`cookie ${name}: sameSite must be Strict, Lax or None, not ${String(sameSite)}`)
    }
    out += `; SameSite=${sameSite}`
  }
  return out
}

function checkName (name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('a cookie name must be a non-empty token')
  for (let i = 0; i < name.length; i++) {
    if (!is(name.charCodeAt(i), TOKEN)) throw new TypeError(`cookie name ${JSON.stringify(name)} is not a token: ${describe(name, i)}`)
  }
}

function checkValue (name: string, value: string): void {
  if (typeof value !== 'string') throw new TypeError(`cookie ${name}: the value must be a string`)
  let start = 0
  let end = value.length
  if (end >= 2 && value.charCodeAt(0) === DQUOTE && value.charCodeAt(end - 1) === DQUOTE) {
    start = 1
    end--
  }
  for (let i = start; i < end; i++) {
    if (!is(value.charCodeAt(i), OCTET)) {
      throw new TypeError(`cookie ${name}: the value has a character outside cookie-octet: ${describe(value, i)}`)
    }
  }
}

function attributeValue (name: string, attr: string, v: string): string {
  if (typeof v !== 'string') throw new TypeError(`cookie ${name}: ${attr} must be a string`)
  for (let i = 0; i < v.length; i++) {
    if (!is(v.charCodeAt(i), AV)) throw new TypeError(`cookie ${name}: ${attr} must not hold ";", CTLs or non-ASCII: ${describe(v, i)}`)
  }
  return v
}

function describe (s: string, i: number): string {
  return `${JSON.stringify(s[i])} at ${i}`
}

/** What parseSetCookie reads out of a Set-Cookie field: the pair and the attributes that decide its lifetime. */
export interface SetCookie {
  name: string
  /** As sent, double quotes included (§5.2 keeps them). */
  value: string
  /** Seconds, 0 meaning "expire now"; capped at 400 days, as RFC 6265bis tells user agents to. */
  maxAge?: number
  expires?: Date
}

// RFC 6265bis ("Cookie Lifetime Limits"): user agents cap Max-Age at 400 days, which also keeps any digits a
// target sends within a safe integer that serializeCookie accepts back.
const MAX_AGE_LIMIT = 400 * 24 * 60 * 60

/**
 * One Set-Cookie field value read as a user agent reads it (RFC 6265 §5.2): null when the name-value pair has
 * no "=" or an empty name. Attribute names are case-insensitive and the last valid one wins; an attribute whose
 * value does not parse is ignored. Max-Age (§5.2.2) is digits with an optional leading "-", ≤ 0 giving 0.
 * Expires is parsed with §5.2.1's cookie-date algorithm (which reads IMF-fixdate, RFC 850 and asctime dates)
 * and is always UTC. When both are present a user agent obeys Max-Age (§5.3 step 3); both are returned.
 * Allocates the name, the value, the result and, with Expires, one Date.
 */
export function parseSetCookie (field: string): SetCookie | null {
  const len = field.length
  let pairEnd = field.indexOf(';')
  if (pairEnd === -1) pairEnd = len
  const eq = field.indexOf('=')
  if (eq === -1 || eq > pairEnd) return null
  let nameStart = 0
  let nameEnd = eq
  while (nameStart < nameEnd && isSpace(field.charCodeAt(nameStart))) nameStart++
  while (nameEnd > nameStart && isSpace(field.charCodeAt(nameEnd - 1))) nameEnd--
  if (nameStart === nameEnd) return null
  let valueStart = eq + 1
  let valueEnd = pairEnd
  while (valueStart < valueEnd && isSpace(field.charCodeAt(valueStart))) valueStart++
  while (valueEnd > valueStart && isSpace(field.charCodeAt(valueEnd - 1))) valueEnd--
  const cookie: SetCookie = { name: field.slice(nameStart, nameEnd), value: field.slice(valueStart, valueEnd) }

  let maxAge: number | undefined
  let expires: number | undefined
  let pos = pairEnd + 1
  while (pos < len) {
    let end = field.indexOf(';', pos)
    if (end === -1) end = len
    // Scanned within the attribute, not with indexOf: a field of many bare attributes stays linear.
    let avEq = pos
    while (avEq < end && field.charCodeAt(avEq) !== EQUALS) avEq++
    let aStart = pos
    let aEnd = avEq
    while (aStart < aEnd && isSpace(field.charCodeAt(aStart))) aStart++
    while (aEnd > aStart && isSpace(field.charCodeAt(aEnd - 1))) aEnd--
    const isMaxAge = namedIgnoreCase(field, aStart, aEnd, 'max-age')
    if (isMaxAge || namedIgnoreCase(field, aStart, aEnd, 'expires')) {
      let vStart = avEq === end ? end : avEq + 1
      let vEnd = end
      while (vStart < vEnd && isSpace(field.charCodeAt(vStart))) vStart++
      while (vEnd > vStart && isSpace(field.charCodeAt(vEnd - 1))) vEnd--
      if (isMaxAge) {
        const seconds = deltaSeconds(field, vStart, vEnd)
        if (seconds !== undefined) maxAge = seconds
      } else {
        const ms = cookieDate(field, vStart, vEnd)
        if (ms !== undefined) expires = ms
      }
    }
    pos = end + 1
  }
  if (maxAge !== undefined) cookie.maxAge = maxAge
  if (expires !== undefined) cookie.expires = new Date(expires)
  return cookie
}

// §5.2 trims WSP (space and horizontal tab) only.
function isSpace (c: number): boolean {
  return c === SPACE || c === TAB
}

/** s[start, end) equals `lower` (lower-case ASCII) with ASCII letters compared regardless of case. */
function namedIgnoreCase (s: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    const c = s.charCodeAt(start + i)
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false
  }
  return true
}

/** §5.2.2: an optional "-" then one or more digits, else undefined (the attribute is ignored). */
function deltaSeconds (s: string, start: number, end: number): number | undefined {
  let i = start
  const negative = i < end && s.charCodeAt(i) === MINUS
  if (negative) i++
  if (i === end) return undefined
  let n = 0
  for (; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c < DIGIT_0 || c > DIGIT_9) return undefined
    n = n * 10 + (c - DIGIT_0) // past 10^308 this is Infinity, which the cap below still caps
  }
  return negative ? 0 : Math.min(n, MAX_AGE_LIMIT)
}

/**
 * §5.2.1's cookie-date algorithm on s[start, end), as milliseconds since the epoch, or undefined when it fails.
 * The date is split into tokens on delimiters; the first token that reads as a time, then a day of the month,
 * a month and a year (in that order of preference per token) supplies each; any time zone is ignored (UTC).
 * Trailing characters after a token's digits are allowed as the grammar's "non-digit *OCTET".
 */
function cookieDate (s: string, start: number, end: number): number | undefined {
  let hour = -1
  let minute = -1
  let second = -1
  let day = -1
  let month = -1
  let year = -1
  let i = start
  while (i < end) {
    while (i < end && is(s.charCodeAt(i), DATE_DELIMITER)) i++
    if (i === end) break
    const tokenStart = i
    while (i < end && !is(s.charCodeAt(i), DATE_DELIMITER)) i++
    const tokenEnd = i
    if (hour === -1) {
      const t = timeOf(s, tokenStart, tokenEnd)
      if (t !== -1) {
        hour = Math.floor(t / 10000)
        minute = Math.floor(t / 100) % 100
        second = t % 100
        continue
      }
    }
    if (day === -1) {
      const d = leadingDigits(s, tokenStart, tokenEnd, 1, 2)
      if (d !== -1) { day = d; continue }
    }
    if (month === -1) {
      const m = monthOf(s, tokenStart, tokenEnd)
      if (m !== -1) { month = m; continue }
    }
    if (year === -1) {
      const y = leadingDigits(s, tokenStart, tokenEnd, 2, 4)
      if (y !== -1) { year = y; continue }
    }
  }
  if (year >= 70 && year <= 99) year += 1900
  else if (year >= 0 && year <= 69) year += 2000
  if (hour === -1 || day === -1 || month === -1 || year === -1) return undefined
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return undefined
  const ms = Date.UTC(year, month, day, hour, minute, second)
  // Date.UTC rolls 31 Feb over into March; §5.2.1 says such a date does not exist.
  return new Date(ms).getUTCDate() === day ? ms : undefined
}

function isDigit (c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9
}

/** min–max digits at the token's start, followed by its end or a non-digit; their value, else -1. */
function leadingDigits (s: string, start: number, end: number, min: number, max: number): number {
  let i = start
  let n = 0
  while (i < end && i - start < max && isDigit(s.charCodeAt(i))) n = n * 10 + (s.charCodeAt(i++) - DIGIT_0)
  if (i - start < min || (i < end && isDigit(s.charCodeAt(i)))) return -1
  return n
}

/** The time production, 1*2DIGIT ":" 1*2DIGIT ":" 1*2DIGIT [ non-digit *OCTET ], as hhmmss, else -1. */
function timeOf (s: string, start: number, end: number): number {
  let i = start
  let t = 0
  for (let field = 0; field < 3; field++) {
    if (field > 0) {
      if (i === end || s.charCodeAt(i) !== COLON) return -1
      i++
    }
    const fieldStart = i
    let n = 0
    while (i < end && i - fieldStart < 2 && isDigit(s.charCodeAt(i))) n = n * 10 + (s.charCodeAt(i++) - DIGIT_0)
    if (i === fieldStart) return -1
    t = t * 100 + n
  }
  return i < end && isDigit(s.charCodeAt(i)) ? -1 : t
}

const MONTHS = 'janfebmaraprmayjunjulaugsepoctnovdec'

/** The month named by the token's first three letters (any case), 0–11, else -1. */
function monthOf (s: string, start: number, end: number): number {
  if (end - start < 3) return -1
  const a = s.charCodeAt(start) | 0x20
  const b = s.charCodeAt(start + 1) | 0x20
  const c = s.charCodeAt(start + 2) | 0x20
  for (let m = 0; m < 12; m++) {
    if (MONTHS.charCodeAt(3 * m) === a && MONTHS.charCodeAt(3 * m + 1) === b && MONTHS.charCodeAt(3 * m + 2) === c) return m
  }
  return -1
}
