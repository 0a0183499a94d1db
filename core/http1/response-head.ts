// parseResponseHead: a target's HTTP/1.1 response head (RFC 9112 §4, §5, §6) to a ResponseHead, or a 502 HttpError.
//
// A response we cannot frame one way only is a 502 and the target connection is closed, never reused
// (DATA-PLANE.md): a second reading of its body would be read as the next response on that connection.
import {
  BodyKind, CL_INVALID, CL_MISMATCH, FIELD_LINES, HttpError, RESPONSE_FIELD_ERRORS as E,
  addConnectionOptions, chunkedFraming, foldContentLength, hasOption, isChunkedOnly, isFieldChar, parseFieldLines, splitFieldLines,
} from './head.ts'
import type { Limits } from './head.ts'

export interface ResponseHead {
  status: number
  reason: string
  minor: number
  names: string[]
  rawNames: string[]
  values: string[]
  /** From the fields only: Length | Chunked | Close (neither CL nor TE). The caller applies HEAD/1xx/204/304. */
  bodyKind: BodyKind
  contentLength: number
  /** False for 1.0 without keep-alive, for "Connection: close", and whenever bodyKind is Close. */
  keepAlive: boolean
  connection: string[]
}

export const E_BAD_STATUS_LINE = new HttpError(502, 'bad-status-line')
export const E_BAD_STATUS = new HttpError(502, 'bad-status')
export const E_MALFORMED_RESPONSE = new HttpError(502, 'malformed-head') // the two grammars disagree: a bug

const SP = 32
const CR = 13
const LF = 10

/**
 * Every well-formed response head matches, in one linear pass (see head.ts on FIELD_LINES). RFC 9112 §4:
 * status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF, reason-phrase = 1*( HTAB / SP / VCHAR /
 * obs-text ); a missing SP before an empty reason is accepted too, as §4 asks clients to, since it reads one way.
 */
const RESPONSE_HEAD = new RegExp(`^HTTP/1\\.[01] [1-5][0-9][0-9](?: [\\t\\x20-\\x7e\\x80-\\xff]*)?\\r\\n${FIELD_LINES}`)

/** `head` ends with CRLFCRLF (findHeadEnd). */
export function parseResponseHead (head: string, limits: Limits): ResponseHead | HttpError {
  if (!RESPONSE_HEAD.test(head)) return refuse(head, limits)
  const eol = head.indexOf('\r', 12)
  const rawNames: string[] = []
  const names: string[] = []
  const values: string[] = []
  const err = splitFieldLines(head, eol + 2, limits.maxHeaderCount, E, rawNames, names, values)
  if (err !== null) return err
  const status = (head.charCodeAt(9) - 0x30) * 100 + (head.charCodeAt(10) - 0x30) * 10 + head.charCodeAt(11) - 0x30
  const reason = eol > 13 ? head.slice(13, eol) : ''
  return interpret(status, reason, head.charCodeAt(7) - 0x30, rawNames, names, values)
}

/** Walks a head the expression refused to say why; see request-head.ts. */
function refuse (head: string, limits: Limits): HttpError {
  if (!head.startsWith('HTTP/1.', 0)) return E_BAD_STATUS_LINE
  const m = head.charCodeAt(7)
  if ((m !== 0x30 && m !== 0x31) || head.charCodeAt(8) !== SP) return E_BAD_STATUS_LINE
  const status = digit(head, 9) * 100 + digit(head, 10) * 10 + digit(head, 11)
  // RFC 9110 §15: three digits, 100-599 (NaN from a non-digit fails both comparisons)
  if (!(status >= 100 && status <= 599)) return E_BAD_STATUS
  let i = 12
  let c = head.charCodeAt(i)
  if (c === SP) {
    do c = head.charCodeAt(++i)
    while (isFieldChar(c))
  }
  if (c === LF) return E.bareLf
  if (c !== CR) return E_BAD_STATUS_LINE
  if (head.charCodeAt(i + 1) !== LF) return E.bareCr
  return parseFieldLines(head, i + 2, limits.maxHeaderCount, E, [], [], []) ?? E_MALFORMED_RESPONSE
}

function digit (s: string, i: number): number {
  const c = s.charCodeAt(i)
  return c >= 0x30 && c <= 0x39 ? c - 0x30 : NaN
}

function interpret (
  status: number, reason: string, minor: number, rawNames: string[], names: string[], values: string[],
): ResponseHead | HttpError {
  let cl = '' // Content-Length digits
  let te = 0
  let teChunked = true
  const connection: string[] = []
  for (let k = 0; k < names.length; k++) {
    const v = values[k]!
    switch (names[k]) {
      case 'content-length':
        cl = foldContentLength(v, cl)
        if (cl === CL_INVALID) return E.badContentLength
        if (cl === CL_MISMATCH) return E.contentLengthMismatch
        break
      case 'transfer-encoding': te++; teChunked &&= isChunkedOnly(v); break
      case 'connection': addConnectionOptions(v, connection); break
    }
  }
  let bodyKind: BodyKind = cl === '' ? BodyKind.Close : BodyKind.Length // RFC 9112 §6.3 rules 5-8
  if (te > 0) {
    const bad = chunkedFraming(minor, cl !== '', te, teChunked, E)
    if (bad !== null) return bad
    bodyKind = BodyKind.Chunked
  }
  const close = hasOption(connection, 'close')
  return {
    status,
    reason,
    minor,
    names,
    rawNames,
    values,
    bodyKind,
    contentLength: cl === '' ? 0 : Number(cl),
    keepAlive: !close && bodyKind !== BodyKind.Close && (minor === 1 || hasOption(connection, 'keep-alive')),
    connection,
  }
}
