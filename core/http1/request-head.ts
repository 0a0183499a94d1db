// parseRequestHead: a strict HTTP/1.1 request head (RFC 9112 §3, §5, §6) to a RequestHead, or the HttpError to answer.
//
// Strict in ALB's "defensive" desync sense: whatever two HTTP implementations could frame or route differently
// is refused, never repaired. docs/http1.md has the table of cases and where we differ from Node's llhttp.
import {
  BodyKind, CL_INVALID, CL_MISMATCH, FIELD_LINES, HttpError, REQUEST_FIELD_ERRORS as E, TOKEN,
  addConnectionOptions, chunkedFraming, foldContentLength, hasOption, isChunkedOnly, isHostPort, isTokenChar, isVisibleChar,
  parseFieldLines, splitFieldLines,
} from './head.ts'
import type { Limits } from './head.ts'

export interface RequestHead {
  method: string
  target: string // request-target as received
  path: string // the target's path in origin form: "/" for an absolute-form target without one, "*" for OPTIONS *
  query: string // the target's query without "?", '' when there is none
  authority: string // what the request routes on: an absolute-form target's authority (RFC 9112 §3.2.2), else `host`
  minor: number // 0 or 1 (HTTP/1.0 or HTTP/1.1)
  names: string[] // field names lower-cased, in order received
  rawNames: string[] // field names as received
  values: string[] // field values with leading/trailing OWS removed
  host: string // the Host field value ('' when absent on HTTP/1.0)
  bodyKind: BodyKind // None | Length | Chunked (never Close for requests; CONNECT: None or Length 0)
  contentLength: number // when bodyKind is Length (0 allowed)
  keepAlive: boolean // 1.1: unless Connection has "close"; 1.0: only with Connection: keep-alive
  upgrade: boolean // Upgrade field present AND Connection lists "upgrade" (HTTP/1.1 only)
  expectContinue: boolean // Expect: 100-continue (case-insensitive) on HTTP/1.1
  connection: string[] // lower-cased options of all Connection fields (for hop-by-hop removal)
}

/**
 * Whether body bytes follow the head. `Content-Length: 0` frames a body of no bytes: none will arrive, so the
 * request is complete with its head (waiting for them held the exchange open until the next request's bytes came).
 */
export function hasBody (head: RequestHead): boolean {
  return head.bodyKind === BodyKind.Chunked || (head.bodyKind === BodyKind.Length && head.contentLength > 0)
}

export const E_BAD_METHOD = new HttpError(400, 'bad-method')
export const E_BAD_TARGET = new HttpError(400, 'bad-target')
export const E_BAD_VERSION = new HttpError(400, 'bad-version')
export const E_VERSION_NOT_SUPPORTED = new HttpError(505, 'version-not-supported')
export const E_MISSING_HOST = new HttpError(400, 'missing-host')
export const E_DUPLICATE_HOST = new HttpError(400, 'duplicate-host')
export const E_BAD_HOST = new HttpError(400, 'bad-host')
export const E_CONNECT_WITH_BODY = new HttpError(400, 'connect-with-body')
/** The expression and the char walk disagree: a bug, refused rather than guessed at. */
export const E_MALFORMED_HEAD = new HttpError(400, 'malformed-head')

const SP = 32
const CR = 13
const LF = 10

/** Every head well-formed per RFC 9112 §3 and §5 matches, in one linear pass (see head.ts on FIELD_LINES). */
const REQUEST_HEAD = new RegExp(`^${TOKEN} [\\x21-\\x7e]+ HTTP/1\\.[01]\\r\\n${FIELD_LINES}`)

/** `head` is buf.latin1Slice(start, end) with end from findHeadEnd, so it ends with CRLFCRLF. */
export function parseRequestHead (head: string, limits: Limits): RequestHead | HttpError {
  if (!REQUEST_HEAD.test(head)) return refuse(head, limits)
  const sp1 = head.indexOf(' ')
  const sp2 = head.indexOf(' ', sp1 + 1)
  const method = head.slice(0, sp1)
  const target = head.slice(sp1 + 1, sp2)
  if (!isTargetForm(method, target)) return E_BAD_TARGET
  const rawNames: string[] = []
  const names: string[] = []
  const values: string[] = []
  const err = splitFieldLines(head, sp2 + 11, limits.maxHeaderCount, E, rawNames, names, values)
  if (err !== null) return err
  return interpret(method, target, head.charCodeAt(sp2 + 8) - 0x30, rawNames, names, values)
}

/**
 * Walks a head the expression refused, char by char, to say why. It cannot accept one: should it find nothing
 * wrong, the two grammars disagree, and the head is refused anyway (the fuzz tests look for this).
 */
function refuse (head: string, limits: Limits): HttpError {
  // request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3); exactly one SP each (§3 allows a
  // lenient parser to split on any whitespace; we do not, since a peer that does not would see another target)
  let i = 0
  while (isTokenChar(head.charCodeAt(i))) i++
  if (i === 0 || head.charCodeAt(i) !== SP) return E_BAD_METHOD
  const t0 = ++i
  while (isVisibleChar(head.charCodeAt(i))) i++
  if (i === t0 || head.charCodeAt(i) !== SP) return E_BAD_TARGET
  const minor = parseVersion(head, ++i)
  if (minor < 0) return minor === -2 ? E_VERSION_NOT_SUPPORTED : E_BAD_VERSION
  return parseFieldLines(head, i + 10, limits.maxHeaderCount, E, [], [], []) ?? E_MALFORMED_HEAD
}

/** 1 or 0 for "HTTP/1.1" / "HTTP/1.0" + CRLF; -2 for another HTTP/DIGIT.DIGIT (505, RFC 9110 §15.6.6); -1 otherwise. */
function parseVersion (head: string, i: number): number {
  if (!head.startsWith('HTTP/', i) || head.charCodeAt(i + 8) !== CR || head.charCodeAt(i + 9) !== LF) return -1
  const major = head.charCodeAt(i + 5)
  const dot = head.charCodeAt(i + 6)
  const minor = head.charCodeAt(i + 7)
  if (major < 0x30 || major > 0x39 || dot !== 0x2e || minor < 0x30 || minor > 0x39) return -1
  if (major === 0x31 && (minor === 0x30 || minor === 0x31)) return minor - 0x30
  return -2
}

/**
 * RFC 9112 §3.2: origin-form "/…" (not for CONNECT), absolute-form "scheme://authority…", authority-form
 * "host:port" for CONNECT and only for it (§3.2.3), asterisk-form "*" for OPTIONS and only for it (§3.2.4).
 */
function isTargetForm (method: string, target: string): boolean {
  const c0 = target.charCodeAt(0)
  if (method === 'CONNECT') return isHostPort(target, 0, target.length, true)
  if (c0 === 0x2f) return true
  if (c0 === 0x2a && target.length === 1) return method === 'OPTIONS'
  return isAbsoluteForm(target)
}

/**
 * scheme "://" authority [ path-abempty ] [ "?" query ]: RFC 3986 §3.1 scheme, and an authority that passes the
 * Host check. RFC 9110 §4.2.4: userinfo ("@") in an http(s) URI is to be treated as an error.
 */
function isAbsoluteForm (target: string): boolean {
  let i = 0
  let c = target.charCodeAt(0)
  if (!isAlpha(c)) return false
  do c = target.charCodeAt(++i)
  while (isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)
  if (!target.startsWith('://', i)) return false
  const a0 = i + 3
  let a1 = a0
  while (a1 < target.length && (c = target.charCodeAt(a1)) !== 0x2f && c !== 0x3f && c !== 0x23) a1++
  return a1 > a0 && isHostPort(target, a0, a1, false)
}

function isAlpha (c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
}

/** The Upgrade value offers h2c (RFC 7540 §3.2): a comma-separated list of protocol tokens, case-insensitive. */
function listsH2c (v: string): boolean {
  const parts = v.toLowerCase().split(',')
  for (let i = 0; i < parts.length; i++) if (parts[i]!.trim() === 'h2c') return true
  return false
}

/** The semantics of the fields that frame and route the request: Host, Content-Length, Transfer-Encoding, Connection. */
function interpret (
  method: string, target: string, minor: number, rawNames: string[], names: string[], values: string[],
): RequestHead | HttpError {
  let hosts = 0
  let host = ''
  let cl = '' // Content-Length digits
  let te = 0
  let teChunked = true
  let upgradeField = false
  let h2c = false
  let expectContinue = false
  const connection: string[] = []
  for (let k = 0; k < names.length; k++) {
    const v = values[k]!
    switch (names[k]) {
      case 'host': hosts++; host = v; break
      case 'content-length':
        cl = foldContentLength(v, cl)
        if (cl === CL_INVALID) return E.badContentLength
        if (cl === CL_MISMATCH) return E.contentLengthMismatch
        break
      case 'transfer-encoding': te++; teChunked &&= isChunkedOnly(v); break
      case 'connection': addConnectionOptions(v, connection); break
      case 'upgrade': upgradeField = true; h2c ||= listsH2c(v); break
      // RFC 9110 §10.1.1: a 1.0 request's 100-continue is ignored
      case 'expect': if (minor === 1 && v.length === 12 && v.toLowerCase() === '100-continue') expectContinue = true; break
    }
  }
  // RFC 9112 §3.2: 400 for a 1.1 request without Host, for any request with several, or with an invalid one.
  // An absolute-form target's authority wins over Host (§3.2.2); the engine routes on the target then.
  if (hosts > 1) return E_DUPLICATE_HOST
  if (hosts === 0 && minor === 1) return E_MISSING_HOST
  if (hosts === 1 && !isHostPort(host, 0, host.length, false)) return E_BAD_HOST

  const contentLength = cl === '' ? 0 : Number(cl)
  // RFC 9110 §9.3.6: a CONNECT request has no content; the bytes after its head belong to the tunnel. A length or
  // a coding on one would frame those bytes as a body for us and not for a peer (llhttp hands them to the tunnel).
  if (method === 'CONNECT' && (te > 0 || contentLength > 0)) return E_CONNECT_WITH_BODY
  let bodyKind: BodyKind = cl === '' ? BodyKind.None : BodyKind.Length
  if (te > 0) {
    const bad = chunkedFraming(minor, cl !== '', te, teChunked, E)
    if (bad !== null) return bad
    bodyKind = BodyKind.Chunked
  }
  const close = hasOption(connection, 'close')
  // origin-form "/p?q", asterisk-form "*", authority-form (CONNECT, refused later) or absolute-form "s://a/p?q"
  let authority = host
  let p0 = 0
  let p1 = target.length
  if (target.charCodeAt(0) !== 0x2f && target !== '*' && method !== 'CONNECT') {
    const a0 = target.indexOf('://') + 3
    p0 = a0
    while (p0 < p1 && target.charCodeAt(p0) !== 0x2f && target.charCodeAt(p0) !== 0x3f) p0++
    authority = target.slice(a0, p0)
  }
  const q = target.indexOf('?', p0)
  if (q !== -1) p1 = q
  const path = p0 === p1 ? '/' : p0 === 0 && p1 === target.length ? target : target.slice(p0, p1)
  return {
    method,
    target,
    path,
    query: q === -1 ? '' : target.slice(q + 1),
    authority,
    minor,
    names,
    rawNames,
    values,
    host,
    bodyKind,
    contentLength,
    keepAlive: !close && (minor === 1 || hasOption(connection, 'keep-alive')),
    // RFC 9110 §7.8. Never an h2c upgrade: a target that switched to HTTP/2 would carry streams the proxy
    // cannot see, route or limit (h2c smuggling). Like NGINX, the request goes on as plain HTTP/1.1.
    upgrade: minor === 1 && upgradeField && !h2c && hasOption(connection, 'upgrade'),
    expectContinue,
    connection,
  }
}
