// Property-based fuzzing of the HTTP/1.1 parsers: no throw, no hang, and no head accepted that could be read two ways.
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { HttpError, REQUEST_FIELD_ERRORS, findHeadEnd, parseFieldLines } from '../../../core/http1/head.ts'
import { parseRequestHead } from '../../../core/http1/request-head.ts'
import { parseResponseHead } from '../../../core/http1/response-head.ts'
import { ChunkedScanner } from '../../../core/http1/chunked.ts'

const limits = { maxHeaderCount: 64 }

// ---- generators ------------------------------------------------------------------------------------------

/** Chars that matter to HTTP framing, weighted well above their share of arbitrary text. */
const nasty = ['\r', '\n', '\r\n', ' ', '\t', ':', ',', ';', '=', '"', '\\', '\x00', '\x01', '\x7f', '\x80', '\xff',
  'a', 'Z', '0', '9', 'f', '/', '?', '#', '@', '[', ']', '*', '%', '-']
const nastyChar = fc.constantFrom(...nasty)
const latin1Char = fc.integer({ min: 0, max: 255 }).map(c => String.fromCharCode(c))
const headText = fc.string({ unit: fc.oneof(nastyChar, latin1Char), maxLength: 200 })

const fieldNames = ['Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'Expect', 'X-A', 'content-length',
  'transfer-encoding', 'Cookie']
const fieldValues = ['a.example', '0', '5', '05', '5, 5', '5, 6', 'chunked', 'Chunked', 'gzip, chunked', 'close',
  'keep-alive', 'upgrade', 'websocket', '100-continue', '', 'x y', '\xe9']
const field = fc.tuple(fc.constantFrom(...fieldNames), fc.constantFrom(...fieldValues), fc.constantFrom(': ', ':', ':\t'))
  .map(([n, v, sep]) => `${n}${sep}${v}\r\n`)
const requestLine = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET /a?b', 'POST /', 'OPTIONS *', 'CONNECT a.example:443', 'PUT http://a.example/x') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('GET', 'CONNECT', 'OPTIONS'), fc.constantFrom('/', '*', 'a.example:443', 'http://a/'))
    .map(([m, t]) => `${m} ${t}`) },
).chain(line => fc.constantFrom('HTTP/1.1', 'HTTP/1.0').map(v => `${line} ${v}\r\n`))
const validishRequest = fc.tuple(requestLine, fc.array(field, { maxLength: 6 }))
  .map(([line, fields]) => line + 'Host: a.example\r\n' + fields.join('') + '\r\n')
const validishResponse = fc.tuple(
  fc.constantFrom('HTTP/1.1 200 OK\r\n', 'HTTP/1.0 204 \r\n', 'HTTP/1.1 404\r\n'), fc.array(field, { maxLength: 6 }),
).map(([line, fields]) => line + fields.join('') + '\r\n')

/** Inserts, deletes or replaces a few chars at random places. */
const mutation = fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.oneof(nastyChar, fc.constantFrom(
  'Content-Length: 1\r\n', 'Transfer-Encoding: chunked\r\n', '\r\n ', 'Host: b\r\n')))
function mutate (s: string, ms: Array<[number, string, string]>): string {
  for (const [at, op, text] of ms) {
    const i = s.length === 0 ? 0 : at % (s.length + 1)
    s = op === 'insert' ? s.slice(0, i) + text + s.slice(i) : op === 'delete' ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + text + s.slice(i + 1)
  }
  return s
}
const mutatedRequest = fc.tuple(validishRequest, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([s, ms]) => mutate(s, ms))
const mutatedResponse = fc.tuple(validishResponse, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([s, ms]) => mutate(s, ms))

// ---- oracles: independent, naive readings of the text -----------------------------------------------------

function hasBareCr (s: string): boolean { return /\r(?!\n)/.test(s) }
function hasBareLf (s: string): boolean { return /(?<!\r)\n/.test(s) }
function hasObsFold (s: string): boolean { return /\r\n[ \t]/.test(s) }
/** Field values by lower-cased name, splitting lines on CRLF and names on the first colon. */
function fieldsNamed (s: string, name: string): string[] {
  const out: string[] = []
  for (const line of s.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) out.push(line.slice(colon + 1).trim())
  }
  return out
}
function clValues (s: string): Set<string> {
  return new Set(fieldsNamed(s, 'content-length').flatMap(v => v.split(',').map(e => e.trim())))
}

/** No reading of an accepted head may differ from ours; the fast expression and the char walk agree. */
function assertUnambiguous (h: string, r: unknown): void {
  if (r instanceof HttpError) {
    expect(r.reason, 'the expression refused a head the char walk accepts').not.toBe('malformed-head')
    return
  }
  expect(parseFieldLines(h, h.indexOf('\r\n') + 2, 1000, REQUEST_FIELD_ERRORS, [], [], []), 'char walk refuses').toBeNull()
  expect(hasBareCr(h), 'bare CR accepted').toBe(false)
  expect(hasBareLf(h), 'bare LF accepted').toBe(false)
  expect(hasObsFold(h), 'obs-fold accepted').toBe(false)
  const te = fieldsNamed(h, 'transfer-encoding')
  expect(te.length > 0 && fieldsNamed(h, 'content-length').length > 0, 'TE with CL accepted').toBe(false)
  expect(te.length <= 1 && te.every(v => v.toLowerCase() === 'chunked'), 'a coding other than chunked accepted').toBe(true)
  expect(clValues(h).size <= 1, 'disagreeing Content-Length accepted').toBe(true)
}

// ---- properties --------------------------------------------------------------------------------------------

describe('request head fuzzing', () => {
  it('never throws on arbitrary text, with or without a head terminator', () => {
    fc.assert(fc.property(headText, fc.boolean(), (s, terminate) => {
      const h = terminate ? s + '\r\n\r\n' : s
      assertUnambiguous(h, parseRequestHead(h, limits))
    }), { numRuns: 2000 })
  })

  it('never accepts a mutated head that could be framed two ways', () => {
    fc.assert(fc.property(mutatedRequest, h => { assertUnambiguous(h, parseRequestHead(h, limits)) }), { numRuns: 2000 })
  })

  it('never accepts TE with CL, disagreeing CLs, obs-fold or bare CR/LF in generated heads', () => {
    fc.assert(fc.property(validishRequest, h => { assertUnambiguous(h, parseRequestHead(h, limits)) }), { numRuns: 1000 })
  })

  it('parses 16 KiB of whitespace, commas and colons in linear time', () => {
    for (const filler of [' ', '\t', ' \t', ',', ', ', ':', '\r', '0']) {
      const v = filler.repeat(16384 / filler.length)
      const heads = [`GET / HTTP/1.1\r\nHost: a\r\nX: ${v}\r\n\r\n`, `GET / HTTP/1.1\r\nHost: a\r\nContent-Length: ${v}\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nConnection: ${v}\r\n\r\n`, `GET / HTTP/1.1\r\nHost: ${v}\r\n\r\n`, `GET /${v} HTTP/1.1\r\n\r\n`, `GET / HTTP/1.1\r\nHost: a\r\nX: a${v}\x01\r\n\r\n`,
        `GET / HTTP/1.1\r\n${`X: a${filler}\r\n`.repeat(1000)}Y: \x01\r\n\r\n`, `GET / HTTP/1.1\r\n${`X: a${filler}\r\n`.repeat(1000)}\r\n`]
      for (const h of heads) {
        const t0 = performance.now()
        parseRequestHead(h, limits)
        parseResponseHead('HTTP/1.1 200 ' + h, limits)
        parseResponseHead('HTTP/1.1 200 OK\r\n' + h.slice(h.indexOf('\n') + 1), limits)
        expect(performance.now() - t0).toBeLessThan(250) // linear is ~0.1 ms; backtracking would be seconds
      }
    }
  })
})

describe('response head fuzzing', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(headText, s => { assertUnambiguous(s + '\r\n\r\n', parseResponseHead(s + '\r\n\r\n', limits)) }),
      { numRuns: 1000 })
  })

  it('never accepts a mutated response head that could be framed two ways', () => {
    fc.assert(fc.property(mutatedResponse, h => { assertUnambiguous(h, parseResponseHead(h, limits)) }), { numRuns: 1500 })
  })
})

describe('findHeadEnd fuzzing', () => {
  it('agrees with a naive reading: end after the first CRLFCRLF unless a bare LF comes first', () => {
    fc.assert(fc.property(headText, s => {
      const buf = Buffer.from(s, 'latin1')
      const text = buf.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const bare = text.search(/(?<!\r)\n/)
      const expected = bare !== -1 && (end === -1 || bare < end + 4) ? -2 : end === -1 ? -1 : end + 4
      expect(findHeadEnd(buf, 0, buf.length)).toBe(expected)
    }), { numRuns: 2000 })
  })
})

// ---- chunked ------------------------------------------------------------------------------------------------

const chunk = fc.tuple(fc.string({ unit: latin1Char, minLength: 1, maxLength: 20 }), fc.constantFrom('', ';a', ';a=b', ';a="q \\" s"', ' ; x = y'))
  .map(([data, ext]) => data.length.toString(16) + ext + '\r\n' + data + '\r\n')
const chunkedBody = fc.tuple(fc.array(chunk, { maxLength: 4 }), fc.constantFrom('', 'T: v\r\n', 'A:1\r\nB: 2\r\n'))
  .map(([chunks, trailers]) => chunks.join('') + '0\r\n' + trailers + '\r\n')
const mutatedChunked = fc.tuple(chunkedBody, fc.array(mutation, { maxLength: 3 })).map(([s, ms]) => mutate(s, ms))
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map(a => Buffer.from(a)),
  fc.oneof(mutatedChunked, headText).map(s => Buffer.from(s, 'latin1')),
)

function scanWhole (buf: Buffer): number | string {
  const s = new ChunkedScanner(64, 64)
  const r = s.scan(buf, 0, buf.length)
  return r === -2 ? s.error!.reason : r
}

/** Scans buf cut at the given points, copying each piece into its own Buffer at an offset. */
function scanPieces (buf: Buffer, cuts: number[]): number | string {
  const s = new ChunkedScanner(64, 64)
  const points = [...new Set(cuts.map(c => c % (buf.length + 1)))].sort((a, b) => a - b)
  let from = 0
  for (const to of [...points, buf.length]) {
    if (to < from) continue
    const piece = Buffer.concat([Buffer.from('xyz'), buf.subarray(from, to)])
    const r = s.scan(piece, 3, piece.length)
    if (r === -2) return s.error!.reason
    if (r >= 0) return r - 3 + from
    from = to
  }
  return -1
}

describe('ChunkedScanner fuzzing', () => {
  it('never throws, and any split of the input gives the same result', () => {
    fc.assert(fc.property(bytes, fc.array(fc.nat(), { maxLength: 6 }), (buf, cuts) => {
      expect(scanPieces(buf, cuts)).toBe(scanWhole(buf))
    }), { numRuns: 2000 })
  })

  it('finds the exact end of every generated valid body', () => {
    fc.assert(fc.property(chunkedBody, body => {
      expect(scanWhole(Buffer.from(body + 'NEXT', 'latin1'))).toBe(Buffer.byteLength(body, 'latin1'))
    }), { numRuns: 500 })
  })

  it('scans a 16 KiB run of extension whitespace without a hang', () => {
    const s = new ChunkedScanner(1 << 20)
    const buf = Buffer.from('5' + ' '.repeat(16384) + ';a\r\nhello\r\n0\r\n\r\n', 'latin1')
    expect(s.scan(buf, 0, buf.length)).toBe(buf.length)
  })
})
