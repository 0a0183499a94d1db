// Pieces shared by the HTTP/1.1 request and response head parsers: errors, body kinds, head framing, field lines.
//
// Parsers here never throw: they return one of the preallocated HttpError constants below, so a flood of bad
// requests costs no Error objects or stack captures (STYLE.md convention 13). Heads arrive as latin1 strings
// (buf.latin1Slice), one char per byte; a char above 0xFF can only come from a caller's test string and is refused.

/** How the body of a message is delimited (RFC 9112 §6.3). */
export const BodyKind = {
  None: 0, // no body (requests without Content-Length or Transfer-Encoding)
  Length: 1, // exactly contentLength bytes
  Chunked: 2, // chunked transfer coding, validated by ChunkedScanner
  Close: 3, // read until the connection closes (responses only)
} as const
export type BodyKind = (typeof BodyKind)[keyof typeof BodyKind]

/** A message we refuse, with the status to answer (or to log, for a target's response) and a short reason. */
export class HttpError {
  readonly status: number
  readonly reason: string // kebab-case, for the access log
  constructor (status: number, reason: string) {
    this.status = status
    this.reason = reason
  }
}

export interface Limits {
  /** More field lines than this is a 431 (request) or 502 (response); the head's byte size is the caller's. */
  maxHeaderCount: number
}

/** The errors a field section can produce; requests and responses answer them with different statuses. */
export interface FieldErrors {
  readonly obsFold: HttpError // RFC 9112 §5.2
  readonly badName: HttpError // RFC 9110 §5.1: field-name = token
  readonly spaceBeforeColon: HttpError // RFC 9112 §5.1
  readonly badValue: HttpError // RFC 9110 §5.5
  readonly bareCr: HttpError // RFC 9112 §2.2
  readonly bareLf: HttpError // RFC 9112 §2.2
  readonly tooMany: HttpError
  readonly trailingBytes: HttpError // bytes after the empty line: the caller sliced the head wrong
  readonly badContentLength: HttpError // RFC 9110 §8.6
  readonly contentLengthMismatch: HttpError // RFC 9110 §8.6
  readonly teAndCl: HttpError // RFC 9112 §6.1
  readonly teOnHttp10: HttpError // RFC 9112 §6.1
  readonly unsupportedTe: HttpError // RFC 9112 §6.1
}

function fieldErrors (status: number, tooManyStatus: number, teStatus: number): FieldErrors {
  return {
    obsFold: new HttpError(status, 'obs-fold'),
    badName: new HttpError(status, 'bad-field-name'),
    spaceBeforeColon: new HttpError(status, 'space-before-colon'),
    badValue: new HttpError(status, 'bad-field-value'),
    bareCr: new HttpError(status, 'bare-cr'),
    bareLf: new HttpError(status, 'bare-lf'),
    tooMany: new HttpError(tooManyStatus, 'too-many-fields'),
    trailingBytes: new HttpError(status, 'bytes-after-head'),
    badContentLength: new HttpError(status, 'bad-content-length'),
    contentLengthMismatch: new HttpError(status, 'content-length-mismatch'),
    teAndCl: new HttpError(status, 'te-and-content-length'),
    teOnHttp10: new HttpError(status, 'te-on-http10'),
    unsupportedTe: new HttpError(teStatus, 'unsupported-transfer-coding'),
  }
}

/** Request fields: 400, too many fields 431 (RFC 6585 §5), a coding we do not decode 501 (RFC 9112 §6.1). */
export const REQUEST_FIELD_ERRORS: FieldErrors = fieldErrors(400, 431, 501)
/** A target's response we cannot read one way only is a 502 for the client (and the target connection is closed). */
export const RESPONSE_FIELD_ERRORS: FieldErrors = fieldErrors(502, 502, 502)

// ---- character classes, one bit each, indexed by latin1 code ----------------------------------------------

const TCHAR = 1 // RFC 9110 §5.6.2: "!#$%&'*+-.^_`|~" DIGIT ALPHA
const FIELD = 2 // RFC 9110 §5.5: field-vchar (VCHAR / obs-text) plus SP and HTAB
const VISIBLE = 4 // VCHAR %x21-7E: request-target chars (RFC 9112 §3.2)
// RFC 3986 §3.2.2 reg-name: unreserved / sub-delims ("%" checked separately), except ",": a proxy that joins
// repeated Host fields makes "a,b", so a comma in a host could be read as two hosts.
const REG_NAME = 8
const HEX = 16

const CLASS = new Uint8Array(256)
for (let c = 0; c < 256; c++) {
  let k = 0
  const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
  if (alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))) k |= TCHAR
  if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c === 0x20 || c === 0x09) k |= FIELD
  if (c >= 0x21 && c <= 0x7e) k |= VISIBLE
  if (alnum || "-._~!$&'()*+;=".includes(String.fromCharCode(c))) k |= REG_NAME
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)) k |= HEX
  CLASS[c] = k
}

/** NaN (past the end) and chars above 0xFF fall outside every class. */
function is (c: number, k: number): boolean {
  return c <= 0xff && (CLASS[c]! & k) !== 0
}
export function isTokenChar (c: number): boolean { return is(c, TCHAR) }
export function isFieldChar (c: number): boolean { return is(c, FIELD) }
export function isVisibleChar (c: number): boolean { return is(c, VISIBLE) }
export function isHexDigit (c: number): boolean { return is(c, HEX) }

/** True when every char of s is allowed in a field value (RFC 9110 §5.5: VCHAR, obs-text, SP, HTAB); '' is. */
export function isFieldValue (s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!is(s.charCodeAt(i), FIELD)) return false
  return true
}

/** True when s[from, to) is a non-empty token. */
export function isToken (s: string, from: number, to: number): boolean {
  if (from >= to) return false
  for (let i = from; i < to; i++) if (!is(s.charCodeAt(i), TCHAR)) return false
  return true
}

const CR = 13
const LF = 10
const SP = 32
const HT = 9
const COLON = 58
const COMMA = 44

// ---- head framing over bytes ------------------------------------------------------------------------------

/**
 * Index just after the CRLFCRLF ending the head that starts at `from`, -1 when buf[from, to) holds no end yet,
 * -2 when a bare LF comes first (RFC 9112 §2.2: we reject rather than treat LF as a line terminator, because a
 * peer that does the opposite would see other field lines). Always search from the head's start: an LF at
 * `from` counts as bare. A bare CR is the parser's to find.
 */
export function findHeadEnd (buf: Buffer, from: number, to: number): number {
  let i = from
  while (i < to) {
    const lf = buf.indexOf(LF, i)
    if (lf === -1 || lf >= to) return -1
    if (lf === from || buf[lf - 1] !== CR) return -2
    if (lf - from >= 3 && buf[lf - 2] === LF && buf[lf - 3] === CR) return lf + 1
    i = lf + 1
  }
  return -1
}

/**
 * First index of buf[from, to) that is not part of a run of CRLFs. RFC 9112 §2.2: a server SHOULD ignore at least
 * one empty line received before the request-line (clients sometimes send one after a POST body).
 */
export function skipLeadingCrlf (buf: Buffer, from: number, to: number): number {
  let i = from
  while (i + 1 < to && buf[i] === CR && buf[i + 1] === LF) i += 2
  return i
}

// ---- field lines (RFC 9112 §5) ------------------------------------------------------------------------------
//
// Two passes of different cost. The common case: one anchored regular expression (built from FIELD_LINES below)
// proves the whole head well-formed, then splitFieldLines cuts it with indexOf. The expression is linear: names
// cannot hold ":", values cannot hold CR, so no line can be matched two ways. Only when it fails does
// parseFieldLines walk every char, to name the error for the access log.

const TCHARS = "!#$%&'*+\\-.^_`|~0-9A-Za-z"
/** Regex source for a token. */
export const TOKEN = `[${TCHARS}]+`
/** Regex source for *field-line CRLF, then the empty line ending the head. */
export const FIELD_LINES = `(?:${TOKEN}:[\\t\\x20-\\x7e\\x80-\\xff]*\\r\\n)*\\r\\n$`

/**
 * Cuts the field lines of a head already matched by FIELD_LINES, from `pos` (just after the start-line's CRLF),
 * into raw names, lower-cased names and values with OWS trimmed (RFC 9112 §5.1).
 */
export function splitFieldLines (
  head: string, pos: number, maxCount: number, errs: FieldErrors,
  rawNames: string[], names: string[], values: string[],
): HttpError | null {
  let count = 0
  while (head.charCodeAt(pos) !== CR) {
    if (++count > maxCount) return errs.tooMany
    const colon = head.indexOf(':', pos)
    const eol = head.indexOf('\r', colon)
    let v0 = colon + 1
    let v1 = eol
    let c = head.charCodeAt(v0)
    while ((c === SP || c === HT) && v0 < v1) c = head.charCodeAt(++v0)
    c = head.charCodeAt(v1 - 1)
    while ((c === SP || c === HT) && v1 > v0) c = head.charCodeAt(--v1 - 1)
    const raw = head.slice(pos, colon)
    rawNames.push(raw)
    names.push(raw.toLowerCase())
    values.push(head.slice(v0, v1))
    pos = eol + 2
  }
  return null
}

/**
 * The same, checking every char: for heads the regular expression refused, to return the precise error. Also a
 * parser in its own right (the tests hold the two to the same verdicts).
 */
export function parseFieldLines (
  head: string, pos: number, maxCount: number, errs: FieldErrors,
  rawNames: string[], names: string[], values: string[],
): HttpError | null {
  const len = head.length
  let count = 0
  for (;;) {
    let c = head.charCodeAt(pos)
    if (c === CR) {
      if (head.charCodeAt(pos + 1) !== LF) return errs.bareCr
      return pos + 2 === len ? null : errs.trailingBytes
    }
    // RFC 9112 §5.2: obs-fold is rejected; this also covers whitespace after the start-line (§2.2)
    if (c === SP || c === HT) return errs.obsFold
    const n0 = pos
    while (is(c, TCHAR)) c = head.charCodeAt(++pos)
    if (c !== COLON) {
      // RFC 9112 §5.1: no whitespace between name and colon; a server MUST reject with 400
      if (c === SP || c === HT) return errs.spaceBeforeColon
      return c === LF ? errs.bareLf : errs.badName
    }
    if (pos === n0) return errs.badName
    if (++count > maxCount) return errs.tooMany
    const raw = head.slice(n0, pos)
    c = head.charCodeAt(++pos)
    while (c === SP || c === HT) c = head.charCodeAt(++pos)
    const v0 = pos
    let v1 = pos
    while (is(c, FIELD)) {
      if (c !== SP && c !== HT) v1 = pos + 1
      c = head.charCodeAt(++pos)
    }
    if (c !== CR) return c === LF ? errs.bareLf : errs.badValue // NUL and other CTLs: RFC 9110 §5.5
    if (head.charCodeAt(pos + 1) !== LF) return errs.bareCr
    rawNames.push(raw)
    names.push(raw.toLowerCase())
    values.push(head.slice(v0, v1))
    pos += 2
  }
}

// ---- framing fields -----------------------------------------------------------------------------------------

/** foldContentLength results for "invalid syntax" and "disagrees with what came before" (never digits). */
export const CL_INVALID = 'invalid'
export const CL_MISMATCH = 'mismatch'
const MAX_CL_DIGITS = 15 // below Number.MAX_SAFE_INTEGER, so no precision games

/**
 * Folds one Content-Length field value into `prev`, the digits seen so far ('' for none), and returns the digits.
 * RFC 9110 §8.6: the value is 1*DIGIT; a list of identical values ("5, 5") or repeated identical fields may be
 * taken as that one value. We ask for identical text ("5" and "05" disagree), no sign, no inner spaces, no empty
 * elements.
 */
export function foldContentLength (value: string, prev: string): string {
  const len = value.length
  let i = 0
  let digits = prev
  for (;;) {
    const d0 = i
    let c = value.charCodeAt(i)
    while (c >= 0x30 && c <= 0x39) c = value.charCodeAt(++i)
    if (i === d0 || i - d0 > MAX_CL_DIGITS) return CL_INVALID
    if (digits === '') digits = value.slice(d0, i)
    else if (i - d0 !== digits.length || !value.startsWith(digits, d0)) return CL_MISMATCH
    while (c === SP || c === HT) c = value.charCodeAt(++i)
    if (i === len) return digits
    if (c !== COMMA) return CL_INVALID
    c = value.charCodeAt(++i)
    while (c === SP || c === HT) c = value.charCodeAt(++i)
  }
}

/** True when a Transfer-Encoding value is exactly the one coding "chunked" (case-insensitive, RFC 9112 §7). */
export function isChunkedOnly (value: string): boolean {
  return value.length === 7 && value.toLowerCase() === 'chunked'
}

/**
 * The framing a message with Transfer-Encoding gets, for requests and responses alike (RFC 9112 §6.1): TE in
 * a 1.0 message is faulty framing; TE with CL is a smuggling attempt until proven otherwise (the RFC allows
 * dropping CL and closing after; defensive mode refuses instead); and we decode no coding, so we forward only
 * what every peer frames the same way: exactly one "chunked" (any other final coding would mean
 * read-until-close, §6.3 rule 4, which we do not trust either).
 */
export function chunkedFraming (minor: number, hasContentLength: boolean, teFields: number, chunkedOnly: boolean, E: FieldErrors): HttpError | null {
  if (minor === 0) return E.teOnHttp10
  if (hasContentLength) return E.teAndCl
  if (teFields > 1 || !chunkedOnly) return E.unsupportedTe
  return null
}

/** Appends the lower-cased connection-options of one Connection field value (RFC 9110 §7.6.1), skipping empty ones. */
export function addConnectionOptions (value: string, out: string[]): void {
  const len = value.length
  let i = 0
  while (i < len) {
    let c = value.charCodeAt(i)
    while (c === SP || c === HT || c === COMMA) c = value.charCodeAt(++i)
    const t0 = i
    let t1 = i
    while (i < len && c !== COMMA) {
      if (c !== SP && c !== HT) t1 = i + 1
      c = value.charCodeAt(++i)
    }
    if (t1 > t0) out.push(value.slice(t0, t1).toLowerCase())
  }
}

/** Whether `list` (lower-cased options) contains `option`. */
export function hasOption (list: readonly string[], option: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === option) return true
  return false
}

// ---- authority (RFC 3986 §3.2) ---------------------------------------------------------------------------------

/**
 * True when s[from, to) is uri-host [":" port] (RFC 9110 §7.2 Host, RFC 3986 §3.2.2-3) with a non-empty host, or
 * is empty and `portRequired` is false. `portRequired` is for CONNECT's authority-form (RFC 9110 §9.3.6: an empty
 * or invalid port is a 400). No userinfo, no whitespace.
 */
export function isHostPort (s: string, from: number, to: number, portRequired: boolean): boolean {
  let i = from
  let c = s.charCodeAt(i)
  if (c === 0x5b) { // "[" IP-literal "]": the chars of IPv6address / IPvFuture, checked loosely
    c = s.charCodeAt(++i)
    while (i < to && (is(c, HEX) || c === COLON || c === 0x2e || c === 0x76 || c === 0x56)) c = s.charCodeAt(++i)
    if (i === from + 1 || i >= to || c !== 0x5d) return false
    c = s.charCodeAt(++i)
  } else {
    while (i < to) {
      if (c === 0x25) { // pct-encoded
        if (i + 2 >= to || !is(s.charCodeAt(i + 1), HEX) || !is(s.charCodeAt(i + 2), HEX)) return false
        i += 2
      } else if (!is(c, REG_NAME)) break
      c = s.charCodeAt(++i)
    }
  }
  // an empty host only as a whole empty Host value (RFC 9112 §3.2: a target URI without authority)
  if (i === from) return from === to && !portRequired
  if (i === to) return !portRequired
  if (c !== COLON) return false
  const p0 = ++i
  let port = 0
  for (; i < to; i++) {
    c = s.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
    port = port * 10 + (c - 0x30)
  }
  if (i - p0 > 5 || port > 65535) return false
  return portRequired ? i > p0 && port > 0 : true
}
