// Table tests for response heads from targets: status-line (RFC 9112 §4), fields and framing (§5, §6), keep-alive.
import { describe, it, expect } from 'vitest'
import { BodyKind, HttpError } from '../../../core/http1/head.ts'
import { parseResponseHead } from '../../../core/http1/response-head.ts'
import type { ResponseHead } from '../../../core/http1/response-head.ts'

const limits = { maxHeaderCount: 8 }

function head (start: string, ...fields: string[]): string {
  return start + '\r\n' + fields.map(f => f + '\r\n').join('') + '\r\n'
}

function accepted (h: string): ResponseHead {
  const r = parseResponseHead(h, limits)
  if (r instanceof HttpError) throw new Error(`rejected with ${r.status} ${r.reason}: ${JSON.stringify(h)}`)
  return r
}

function rejection (h: string): [number, string] | 'accepted' {
  const r = parseResponseHead(h, limits)
  return r instanceof HttpError ? [r.status, r.reason] : 'accepted'
}

describe('status-line (RFC 9112 §4)', () => {
  it.each([
    { desc: 'a reason phrase', line: 'HTTP/1.1 200 OK', status: 200, reason: 'OK', minor: 1 },
    { desc: 'a reason with spaces, HTAB and obs-text', line: 'HTTP/1.1 404 Not\tFound caf\xe9', status: 404, reason: 'Not\tFound caf\xe9', minor: 1 },
    { desc: 'an empty reason after SP', line: 'HTTP/1.1 200 ', status: 200, reason: '', minor: 1 },
    { desc: 'no SP and no reason', line: 'HTTP/1.1 204', status: 204, reason: '', minor: 1 },
    { desc: 'HTTP/1.0', line: 'HTTP/1.0 200 OK', status: 200, reason: 'OK', minor: 0 },
    { desc: 'status 100', line: 'HTTP/1.1 100 Continue', status: 100, reason: 'Continue', minor: 1 },
    { desc: 'status 599', line: 'HTTP/1.1 599 x', status: 599, reason: 'x', minor: 1 },
  ])('accepts $desc', ({ line, status, reason, minor }) => {
    const r = accepted(head(line))
    expect([r.status, r.reason, r.minor]).toEqual([status, reason, minor])
  })

  it.each([
    { desc: 'HTTP/2.0', line: 'HTTP/2.0 200 OK', reason: 'bad-status-line' },
    { desc: 'HTTP/1.2', line: 'HTTP/1.2 200 OK', reason: 'bad-status-line' },
    { desc: 'a lower-case version', line: 'http/1.1 200 OK', reason: 'bad-status-line' },
    { desc: 'two SPs after the version', line: 'HTTP/1.1  200 OK', reason: 'bad-status' },
    { desc: 'a two-digit status', line: 'HTTP/1.1 20 OK', reason: 'bad-status' },
    { desc: 'a four-digit status', line: 'HTTP/1.1 2000 OK', reason: 'bad-status-line' },
    { desc: 'status 099', line: 'HTTP/1.1 099 x', reason: 'bad-status' },
    { desc: 'status 600', line: 'HTTP/1.1 600 x', reason: 'bad-status' },
    { desc: 'a control char in the reason', line: 'HTTP/1.1 200 O\x01K', reason: 'bad-status-line' },
    { desc: 'a bare CR in the reason', line: 'HTTP/1.1 200 O\rK', reason: 'bare-cr' },
    { desc: 'a bare LF in the reason', line: 'HTTP/1.1 200 O\nK', reason: 'bare-lf' },
  ])('rejects $desc with 502', ({ line, reason }) => {
    expect(rejection(head(line))).toEqual([502, reason])
  })
})

describe('response fields (RFC 9112 §5)', () => {
  it('keeps raw names, lower-cased names and trimmed values in order', () => {
    const r = accepted(head('HTTP/1.1 200 OK', 'Set-Cookie: a=1 ', 'set-cookie:b=2', 'Content-Length: 0'))
    expect([r.rawNames, r.names, r.values]).toEqual([
      ['Set-Cookie', 'set-cookie', 'Content-Length'], ['set-cookie', 'set-cookie', 'content-length'], ['a=1', 'b=2', '0']])
  })

  it.each([
    { desc: 'obs-fold', fields: ['X: a', ' b'], reason: 'obs-fold' },
    { desc: 'SP before the colon', fields: ['X : a'], reason: 'space-before-colon' },
    { desc: 'NUL in a value', fields: ['X: \x00'], reason: 'bad-field-value' },
    { desc: 'a bare CR', fields: ['X: a\rb'], reason: 'bare-cr' },
    { desc: 'a bare LF', fields: ['X: a\nb'], reason: 'bare-lf' },
    { desc: 'too many fields', fields: Array.from({ length: 9 }, (_, i) => `X-${i}: v`), reason: 'too-many-fields' },
  ])('rejects $desc with 502', ({ fields, reason }) => {
    expect(rejection(head('HTTP/1.1 200 OK', ...fields))).toEqual([502, reason])
  })
})

describe('response body length (RFC 9112 §6.3)', () => {
  it.each([
    { desc: 'neither CL nor TE: until close', fields: [], kind: BodyKind.Close, length: 0 },
    { desc: 'Content-Length', fields: ['Content-Length: 12'], kind: BodyKind.Length, length: 12 },
    { desc: 'identical Content-Length values', fields: ['Content-Length: 12, 12', 'Content-Length: 12'], kind: BodyKind.Length, length: 12 },
    { desc: 'chunked', fields: ['Transfer-Encoding: Chunked'], kind: BodyKind.Chunked, length: 0 },
  ])('frames $desc', ({ fields, kind, length }) => {
    const r = accepted(head('HTTP/1.1 200 OK', ...fields))
    expect([r.bodyKind, r.contentLength]).toEqual([kind, length])
  })

  it('leaves HEAD, 1xx, 204 and 304 to the caller: a 204 with Content-Length is framed by its fields', () => {
    expect(accepted(head('HTTP/1.1 204 No Content', 'Content-Length: 5')).bodyKind).toBe(BodyKind.Length)
  })

  it.each([
    { desc: 'TE with CL', fields: ['Transfer-Encoding: chunked', 'Content-Length: 3'], reason: 'te-and-content-length' },
    { desc: 'a coding before chunked', fields: ['Transfer-Encoding: gzip, chunked'], reason: 'unsupported-transfer-coding' },
    { desc: 'a final coding other than chunked', fields: ['Transfer-Encoding: gzip'], reason: 'unsupported-transfer-coding' },
    { desc: 'chunked twice', fields: ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], reason: 'unsupported-transfer-coding' },
    { desc: 'Content-Length values that disagree', fields: ['Content-Length: 3', 'Content-Length: 4'], reason: 'content-length-mismatch' },
    { desc: 'a signed Content-Length', fields: ['Content-Length: +3'], reason: 'bad-content-length' },
    { desc: 'a Content-Length over 15 digits', fields: ['Content-Length: 9007199254740993'], reason: 'bad-content-length' },
  ])('rejects $desc with 502', ({ fields, reason }) => {
    expect(rejection(head('HTTP/1.1 200 OK', ...fields))).toEqual([502, reason])
  })

  it('rejects Transfer-Encoding in an HTTP/1.0 response with 502', () => {
    expect(rejection(head('HTTP/1.0 200 OK', 'Transfer-Encoding: chunked'))).toEqual([502, 'te-on-http10'])
  })
})

describe('response keep-alive (RFC 9112 §9.3)', () => {
  it.each([
    { desc: 'HTTP/1.1 with a length', line: 'HTTP/1.1 200 OK', fields: ['Content-Length: 0'], keepAlive: true },
    { desc: 'HTTP/1.1 chunked', line: 'HTTP/1.1 200 OK', fields: ['Transfer-Encoding: chunked'], keepAlive: true },
    { desc: 'HTTP/1.1 with Connection: close', line: 'HTTP/1.1 200 OK', fields: ['Content-Length: 0', 'Connection: close'], keepAlive: false },
    { desc: 'HTTP/1.1 read until close', line: 'HTTP/1.1 200 OK', fields: [], keepAlive: false },
    { desc: 'HTTP/1.0 without keep-alive', line: 'HTTP/1.0 200 OK', fields: ['Content-Length: 0'], keepAlive: false },
    { desc: 'HTTP/1.0 with keep-alive', line: 'HTTP/1.0 200 OK', fields: ['Content-Length: 0', 'Connection: keep-alive'], keepAlive: true },
    { desc: 'HTTP/1.0 with keep-alive but no length', line: 'HTTP/1.0 200 OK', fields: ['Connection: keep-alive'], keepAlive: false },
  ])('$desc -> keepAlive $keepAlive', ({ line, fields, keepAlive }) => {
    expect(accepted(head(line, ...fields)).keepAlive).toBe(keepAlive)
  })

  it('lists Connection options lower-cased', () => {
    expect(accepted(head('HTTP/1.1 200 OK', 'Connection: Keep-Alive, X-Hop', 'Content-Length: 0')).connection)
      .toEqual(['keep-alive', 'x-hop'])
  })
})
