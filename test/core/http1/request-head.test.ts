// Table tests for request heads, one describe per RFC 9112 / 9110 clause, plus findHeadEnd and skipLeadingCrlf.
import { describe, it, expect } from 'vitest'
import { BodyKind, HttpError, findHeadEnd, skipLeadingCrlf } from '../../../core/http1/head.ts'
import { parseRequestHead } from '../../../core/http1/request-head.ts'
import type { RequestHead } from '../../../core/http1/request-head.ts'

const limits = { maxHeaderCount: 8 }

/** A request head from its start-line and field lines, CRLF-terminated. */
function head (start: string, ...fields: string[]): string {
  return start + '\r\n' + fields.map(f => f + '\r\n').join('') + '\r\n'
}

function accepted (h: string): RequestHead {
  const r = parseRequestHead(h, limits)
  if (r instanceof HttpError) throw new Error(`rejected with ${r.status} ${r.reason}: ${JSON.stringify(h)}`)
  return r
}

function rejection (h: string): [number, string] | 'accepted' {
  const r = parseRequestHead(h, limits)
  return r instanceof HttpError ? [r.status, r.reason] : 'accepted'
}

describe('request-line (RFC 9112 §3)', () => {
  it.each([
    { desc: 'origin-form', line: 'GET /a/b?c=d&e HTTP/1.1', method: 'GET', target: '/a/b?c=d&e', minor: 1 },
    { desc: 'HTTP/1.0', line: 'GET / HTTP/1.0', method: 'GET', target: '/', minor: 0 },
    { desc: 'absolute-form', line: 'GET http://a.example:8080/x HTTP/1.1', method: 'GET', target: 'http://a.example:8080/x', minor: 1 },
    { desc: 'absolute-form without path', line: 'GET https://a.example HTTP/1.1', method: 'GET', target: 'https://a.example', minor: 1 },
    { desc: 'authority-form with CONNECT', line: 'CONNECT a.example:443 HTTP/1.1', method: 'CONNECT', target: 'a.example:443', minor: 1 },
    { desc: 'asterisk-form with OPTIONS', line: 'OPTIONS * HTTP/1.1', method: 'OPTIONS', target: '*', minor: 1 },
    { desc: 'an extension method that is a token (RFC 9110 §9.1)', line: 'PURGE-ALL! / HTTP/1.1', method: 'PURGE-ALL!', target: '/', minor: 1 },
    { desc: 'visible ASCII in the target, kept as received', line: 'GET /%7e~"{}|^`<>#f HTTP/1.1', method: 'GET', target: '/%7e~"{}|^`<>#f', minor: 1 },
  ])('accepts $desc', ({ line, method, target, minor }) => {
    const r = accepted(head(line, 'Host: a.example'))
    expect([r.method, r.target, r.minor]).toEqual([method, target, minor])
  })

  it.each([
    { desc: 'an empty method', line: ' / HTTP/1.1', status: 400, reason: 'bad-method' },
    { desc: 'a method with a non-token char', line: 'GE(T / HTTP/1.1', status: 400, reason: 'bad-method' },
    { desc: 'HTAB as separator', line: 'GET\t/ HTTP/1.1', status: 400, reason: 'bad-method' },
    { desc: 'two SPs after the method', line: 'GET  / HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'two SPs before the version', line: 'GET /  HTTP/1.1', status: 400, reason: 'bad-version' },
    { desc: 'a trailing SP after the version', line: 'GET / HTTP/1.1 ', status: 400, reason: 'bad-version' },
    { desc: 'no version (HTTP/0.9 simple request)', line: 'GET /', status: 400, reason: 'bad-target' },
    { desc: 'a control char in the target', line: 'GET /a\x01b HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'DEL in the target', line: 'GET /a\x7f HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'obs-text in the target', line: 'GET /caf\xe9 HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'a lower-case version', line: 'GET / http/1.1', status: 400, reason: 'bad-version' },
    { desc: 'a three-digit version', line: 'GET / HTTP/1.10', status: 400, reason: 'bad-version' },
    { desc: 'a version without minor', line: 'GET / HTTP/1', status: 400, reason: 'bad-version' },
    { desc: 'HTTP/2.0', line: 'GET / HTTP/2.0', status: 505, reason: 'version-not-supported' },
    { desc: 'HTTP/0.9', line: 'GET / HTTP/0.9', status: 505, reason: 'version-not-supported' },
    { desc: 'HTTP/1.2', line: 'GET / HTTP/1.2', status: 505, reason: 'version-not-supported' },
    { desc: 'a relative target', line: 'GET a/b HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'authority-form without CONNECT', line: 'GET a.example:80 HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'origin-form with CONNECT', line: 'CONNECT /x HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'CONNECT without a port', line: 'CONNECT a.example HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'CONNECT to port 0', line: 'CONNECT a.example:0 HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'CONNECT to a port above 65535', line: 'CONNECT a.example:65536 HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'asterisk-form without OPTIONS', line: 'GET * HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'absolute-form with an empty authority', line: 'GET http:///x HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'absolute-form with a port but no host', line: 'GET http://:80/x HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'CONNECT with a port but no host', line: 'CONNECT :443 HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'absolute-form with userinfo (RFC 9110 §4.2.4)', line: 'GET http://u:p@a.example/ HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'absolute-form with a scheme starting with a digit', line: 'GET 1http://a/ HTTP/1.1', status: 400, reason: 'bad-target' },
    { desc: 'an empty start-line', line: '', status: 400, reason: 'bad-method' },
  ])('rejects $desc with $status', ({ line, status, reason }) => {
    expect(rejection(head(line, 'Host: a.example'))).toEqual([status, reason])
  })

  it('rejects a bare LF ending the request-line', () => {
    expect(rejection('GET / HTTP/1.1\nHost: a\r\n\r\n')).toEqual([400, 'bad-version'])
  })
})

describe('field lines (RFC 9112 §5, RFC 9110 §5.5)', () => {
  it('keeps raw names, lower-cased names and OWS-trimmed values in order received', () => {
    const r = accepted(head('GET / HTTP/1.1', 'Host: a', 'X-One:  a b \t', 'x-one:1', 'Empty:', 'Tab:\tv\tw\t', 'Latin: caf\xe9'))
    expect(r.rawNames).toEqual(['Host', 'X-One', 'x-one', 'Empty', 'Tab', 'Latin'])
    expect(r.names).toEqual(['host', 'x-one', 'x-one', 'empty', 'tab', 'latin'])
    expect(r.values).toEqual(['a', 'a b', '1', '', 'v\tw', 'caf\xe9'])
  })

  it('accepts exactly maxHeaderCount fields', () => {
    const fields = ['Host: a']
    for (let i = 1; i < limits.maxHeaderCount; i++) fields.push(`X-${i}: ${i}`)
    expect(accepted(head('GET / HTTP/1.1', ...fields)).names).toHaveLength(limits.maxHeaderCount)
  })

  it.each([
    { desc: 'obs-fold', fields: ['Host: a', 'X: a', ' b'], status: 400, reason: 'obs-fold' },
    { desc: 'obs-fold with HTAB', fields: ['Host: a', 'X: a', '\tb'], status: 400, reason: 'obs-fold' },
    { desc: 'whitespace between the start-line and the first field (§2.2)', fields: [' Host: a'], status: 400, reason: 'obs-fold' },
    { desc: 'SP before the colon', fields: ['Host : a'], status: 400, reason: 'space-before-colon' },
    { desc: 'HTAB before the colon', fields: ['Host: a', 'X\t: b'], status: 400, reason: 'space-before-colon' },
    { desc: 'an empty name', fields: ['Host: a', ': b'], status: 400, reason: 'bad-field-name' },
    { desc: 'a name with a non-token char', fields: ['Host: a', 'X@Y: b'], status: 400, reason: 'bad-field-name' },
    { desc: 'a line without a colon', fields: ['Host: a', 'NoColon'], status: 400, reason: 'bad-field-name' },
    { desc: 'NUL in a value', fields: ['Host: a', 'X: a\x00b'], status: 400, reason: 'bad-field-value' },
    { desc: 'a control char in a value', fields: ['Host: a', 'X: a\x1bb'], status: 400, reason: 'bad-field-value' },
    { desc: 'DEL in a value', fields: ['Host: a', 'X: a\x7f'], status: 400, reason: 'bad-field-value' },
    { desc: 'a bare CR inside a value', fields: ['Host: a', 'X: a\rb'], status: 400, reason: 'bare-cr' },
    { desc: 'a bare LF inside a value', fields: ['Host: a', 'X: a\nY: b'], status: 400, reason: 'bare-lf' },
    { desc: 'a bare CR after a name', fields: ['Host: a', 'X\r: b'], status: 400, reason: 'bad-field-name' },
    { desc: 'more than maxHeaderCount fields', fields: ['Host: a', ...Array.from({ length: 8 }, (_, i) => `X-${i}: v`)], status: 431, reason: 'too-many-fields' },
  ])('rejects $desc with $status', ({ fields, status, reason }) => {
    expect(rejection(head('GET / HTTP/1.1', ...fields))).toEqual([status, reason])
  })

  it('rejects bytes after the empty line ending the head', () => {
    expect(rejection('GET / HTTP/1.1\r\nHost: a\r\n\r\nX')).toEqual([400, 'bytes-after-head'])
  })

  it('rejects a head missing its final CRLF', () => {
    expect(rejection('GET / HTTP/1.1\r\nHost: a\r\n')).toEqual([400, 'bad-field-name'])
  })
})

describe('Host (RFC 9112 §3.2, RFC 9110 §7.2)', () => {
  it.each([
    { desc: 'a name', value: 'a.example', minor: 1 },
    { desc: 'a name and port', value: 'a.example:8080', minor: 1 },
    { desc: 'an IPv4 address', value: '10.0.0.1:80', minor: 1 },
    { desc: 'an IPv6 literal and port', value: '[::1]:8080', minor: 1 },
    { desc: 'pct-encoded and sub-delims', value: "a%2Db!$&'()*+;=~_", minor: 1 },
    { desc: 'an empty value (target URI without authority)', value: '', minor: 1 },
    { desc: 'an empty port', value: 'a.example:', minor: 1 },
  ])('accepts $desc', ({ value, minor }) => {
    expect(accepted(head(`GET / HTTP/1.${minor}`, `Host: ${value}`)).host).toBe(value)
  })

  it('accepts an HTTP/1.0 request without Host, with host ""', () => {
    expect(accepted(head('GET / HTTP/1.0')).host).toBe('')
  })

  it('keeps the Host value when an absolute-form target names another authority (the target wins downstream)', () => {
    expect(accepted(head('GET http://b.example/ HTTP/1.1', 'Host: a.example')).host).toBe('a.example')
  })

  it.each([
    { desc: 'no Host on HTTP/1.1', fields: [], reason: 'missing-host' },
    { desc: 'no Host on HTTP/1.1 with an absolute-form target', fields: [], line: 'GET http://a/ HTTP/1.1', reason: 'missing-host' },
    { desc: 'two Host fields', fields: ['Host: a', 'Host: a'], reason: 'duplicate-host' },
    { desc: 'two Host fields on HTTP/1.0', fields: ['Host: a', 'host: b'], line: 'GET / HTTP/1.0', reason: 'duplicate-host' },
    { desc: 'whitespace inside Host', fields: ['Host: a b'], reason: 'bad-host' },
    { desc: 'userinfo in Host', fields: ['Host: u@a'], reason: 'bad-host' },
    { desc: 'a path in Host', fields: ['Host: a/b'], reason: 'bad-host' },
    { desc: 'a comma in Host (a joined list)', fields: ['Host: a,b'], reason: 'bad-host' },
    { desc: 'two ports in Host', fields: ['Host: a:1:2'], reason: 'bad-host' },
    { desc: 'a port above 65535', fields: ['Host: a:65536'], reason: 'bad-host' },
    { desc: 'a port without a host', fields: ['Host: :80'], reason: 'bad-host' },
    { desc: 'an unclosed IPv6 literal', fields: ['Host: [::1'], reason: 'bad-host' },
    { desc: 'a broken pct-encoding', fields: ['Host: a%2'], reason: 'bad-host' },
  ])('rejects $desc with 400', ({ fields, line, reason }) => {
    expect(rejection(head(line ?? 'GET / HTTP/1.1', ...fields))).toEqual([400, reason])
  })
})

describe('message body length (RFC 9112 §6, RFC 9110 §8.6)', () => {
  it.each([
    { desc: 'no framing fields: no body', fields: [], kind: BodyKind.None, length: 0 },
    { desc: 'Content-Length', fields: ['Content-Length: 42'], kind: BodyKind.Length, length: 42 },
    { desc: 'Content-Length 0', fields: ['Content-Length: 0'], kind: BodyKind.Length, length: 0 },
    { desc: 'leading zeros', fields: ['Content-Length: 007'], kind: BodyKind.Length, length: 7 },
    { desc: '15 digits', fields: ['Content-Length: 999999999999999'], kind: BodyKind.Length, length: 999999999999999 },
    { desc: 'a list of identical values', fields: ['Content-Length: 5,5 , 5'], kind: BodyKind.Length, length: 5 },
    { desc: 'repeated identical fields', fields: ['Content-Length: 5', 'content-length: 5'], kind: BodyKind.Length, length: 5 },
    { desc: 'Transfer-Encoding: chunked', fields: ['Transfer-Encoding: chunked'], kind: BodyKind.Chunked, length: 0 },
    { desc: 'chunked in any case', fields: ['transfer-encoding: ChUnKeD'], kind: BodyKind.Chunked, length: 0 },
  ])('frames $desc', ({ fields, kind, length }) => {
    const r = accepted(head('POST / HTTP/1.1', 'Host: a', ...fields))
    expect([r.bodyKind, r.contentLength]).toEqual([kind, length])
  })

  it('frames a GET body like any other', () => {
    expect(accepted(head('GET / HTTP/1.1', 'Host: a', 'Content-Length: 3')).bodyKind).toBe(BodyKind.Length)
  })

  it.each([
    { desc: 'a sign', value: '+5', reason: 'bad-content-length' },
    { desc: 'a negative value', value: '-1', reason: 'bad-content-length' },
    { desc: 'an inner space', value: '1 2', reason: 'bad-content-length' },
    { desc: 'an empty value', value: '', reason: 'bad-content-length' },
    { desc: 'hex', value: '0x5', reason: 'bad-content-length' },
    { desc: 'an exponent', value: '1e3', reason: 'bad-content-length' },
    { desc: '16 digits', value: '1000000000000000', reason: 'bad-content-length' },
    { desc: 'an empty list element', value: '5,,5', reason: 'bad-content-length' },
    { desc: 'a trailing comma', value: '5,', reason: 'bad-content-length' },
    { desc: 'a list that disagrees', value: '5, 6', reason: 'content-length-mismatch' },
    { desc: 'a list of equal numbers written differently', value: '5, 05', reason: 'content-length-mismatch' },
  ])('rejects Content-Length with $desc (400)', ({ value, reason }) => {
    expect(rejection(head('POST / HTTP/1.1', 'Host: a', `Content-Length: ${value}`))).toEqual([400, reason])
  })

  it.each([
    { desc: 'Content-Length fields that disagree', fields: ['Content-Length: 5', 'Content-Length: 6'], status: 400, reason: 'content-length-mismatch' },
    { desc: 'Content-Length fields that differ only in leading zeros', fields: ['Content-Length: 5', 'Content-Length: 005'], status: 400, reason: 'content-length-mismatch' },
    { desc: 'Transfer-Encoding with Content-Length', fields: ['Transfer-Encoding: chunked', 'Content-Length: 5'], status: 400, reason: 'te-and-content-length' },
    { desc: 'Content-Length before Transfer-Encoding', fields: ['Content-Length: 0', 'Transfer-Encoding: chunked'], status: 400, reason: 'te-and-content-length' },
    { desc: 'a coding before chunked', fields: ['Transfer-Encoding: gzip, chunked'], status: 501, reason: 'unsupported-transfer-coding' },
    { desc: 'a final coding that is not chunked', fields: ['Transfer-Encoding: chunked, gzip'], status: 501, reason: 'unsupported-transfer-coding' },
    { desc: 'only another coding', fields: ['Transfer-Encoding: gzip'], status: 501, reason: 'unsupported-transfer-coding' },
    { desc: 'chunked twice in one field', fields: ['Transfer-Encoding: chunked, chunked'], status: 501, reason: 'unsupported-transfer-coding' },
    { desc: 'chunked in two fields', fields: ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], status: 501, reason: 'unsupported-transfer-coding' },
    { desc: 'chunked with a parameter', fields: ['Transfer-Encoding: chunked;q=1'], status: 501, reason: 'unsupported-transfer-coding' },
    { desc: 'an empty Transfer-Encoding', fields: ['Transfer-Encoding:'], status: 501, reason: 'unsupported-transfer-coding' },
    { desc: 'identity', fields: ['Transfer-Encoding: identity'], status: 501, reason: 'unsupported-transfer-coding' },
  ])('rejects $desc with $status', ({ fields, status, reason }) => {
    expect(rejection(head('POST / HTTP/1.1', 'Host: a', ...fields))).toEqual([status, reason])
  })

  it.each([
    { desc: 'Content-Length', fields: ['Content-Length: 5'] },
    { desc: 'Transfer-Encoding', fields: ['Transfer-Encoding: chunked'] },
  ])('rejects a CONNECT request with $desc: what follows its head is the tunnel (RFC 9110 §9.3.6)', ({ fields }) => {
    expect(rejection(head('CONNECT a.example:443 HTTP/1.1', 'Host: a.example', ...fields))).toEqual([400, 'connect-with-body'])
  })

  it('accepts a CONNECT request with Content-Length: 0 as having no body bytes', () => {
    const r = accepted(head('CONNECT a.example:443 HTTP/1.1', 'Host: a.example', 'Content-Length: 0'))
    expect([r.bodyKind, r.contentLength]).toEqual([BodyKind.Length, 0])
  })

  it('rejects Transfer-Encoding on HTTP/1.0 with 400', () => {
    expect(rejection(head('POST / HTTP/1.0', 'Transfer-Encoding: chunked'))).toEqual([400, 'te-on-http10'])
  })
})

describe('connection options (RFC 9112 §9.3, RFC 9110 §7.6.1, §7.8, §10.1.1)', () => {
  it.each([
    { desc: 'HTTP/1.1 by default', line: 'GET / HTTP/1.1', fields: [], keepAlive: true },
    { desc: 'HTTP/1.1 with close', line: 'GET / HTTP/1.1', fields: ['Connection: Close'], keepAlive: false },
    { desc: 'HTTP/1.1 with close in a second Connection field', line: 'GET / HTTP/1.1', fields: ['Connection: x', 'Connection: te, close'], keepAlive: false },
    { desc: 'HTTP/1.0 by default', line: 'GET / HTTP/1.0', fields: [], keepAlive: false },
    { desc: 'HTTP/1.0 with keep-alive', line: 'GET / HTTP/1.0', fields: ['Connection: Keep-Alive'], keepAlive: true },
    { desc: 'HTTP/1.0 with keep-alive and close', line: 'GET / HTTP/1.0', fields: ['Connection: keep-alive, close'], keepAlive: false },
  ])('keeps alive: $desc -> $keepAlive', ({ line, fields, keepAlive }) => {
    expect(accepted(head(line, 'Host: a', ...fields)).keepAlive).toBe(keepAlive)
  })

  it('lists every Connection option lower-cased, skipping empty elements', () => {
    expect(accepted(head('GET / HTTP/1.1', 'Host: a', 'Connection: Keep-Alive, ,X-Foo ', 'Connection: TE')).connection)
      .toEqual(['keep-alive', 'x-foo', 'te'])
  })

  it.each([
    { desc: 'Upgrade listed in Connection', line: 'GET / HTTP/1.1', fields: ['Upgrade: websocket', 'Connection: Upgrade'], upgrade: true },
    { desc: 'Upgrade not listed in Connection', line: 'GET / HTTP/1.1', fields: ['Upgrade: websocket'], upgrade: false },
    { desc: 'Connection: upgrade without Upgrade', line: 'GET / HTTP/1.1', fields: ['Connection: upgrade'], upgrade: false },
    { desc: 'an HTTP/1.0 upgrade', line: 'GET / HTTP/1.0', fields: ['Upgrade: websocket', 'Connection: upgrade'], upgrade: false },
    { desc: 'an h2c upgrade (never honoured)', line: 'GET / HTTP/1.1', fields: ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings', 'HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA'], upgrade: false },
    { desc: 'h2c offered among others, any case', line: 'GET / HTTP/1.1', fields: ['Upgrade: websocket, H2C', 'Connection: upgrade'], upgrade: false },
  ])('upgrade: $desc -> $upgrade', ({ line, fields, upgrade }) => {
    expect(accepted(head(line, 'Host: a', ...fields)).upgrade).toBe(upgrade)
  })

  it.each([
    { desc: '100-continue on HTTP/1.1', line: 'POST / HTTP/1.1', value: '100-Continue', expected: true },
    { desc: 'another expectation', line: 'POST / HTTP/1.1', value: '200-ok', expected: false },
    { desc: '100-continue on HTTP/1.0 (ignored)', line: 'POST / HTTP/1.0', value: '100-continue', expected: false },
  ])('expectContinue: $desc -> $expected', ({ line, value, expected }) => {
    expect(accepted(head(line, 'Host: a', 'Content-Length: 1', `Expect: ${value}`)).expectContinue).toBe(expected)
  })
})

describe('findHeadEnd and skipLeadingCrlf (RFC 9112 §2.2)', () => {
  const b = (s: string) => Buffer.from(s, 'latin1')

  it.each([
    { desc: 'a complete head', input: 'GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY', from: 0, expected: 27 },
    { desc: 'a head starting at an offset', input: 'xxGET / HTTP/1.1\r\n\r\n', from: 2, expected: 20 },
    { desc: 'a head without its terminator yet', input: 'GET / HTTP/1.1\r\nHost: a\r\n\r', from: 0, expected: -1 },
    { desc: 'an empty range', input: '', from: 0, expected: -1 },
    { desc: 'a bare LF in a field line', input: 'GET / HTTP/1.1\r\nHost: a\n\r\n', from: 0, expected: -2 },
    { desc: 'LF LF as terminator', input: 'GET / HTTP/1.1\n\n', from: 0, expected: -2 },
    { desc: 'an LF at the start of the range', input: '\r\nGET', from: 1, expected: -2 },
  ])('returns $expected for $desc', ({ input, from, expected }) => {
    const buf = b(input)
    expect(findHeadEnd(buf, from, buf.length)).toBe(expected)
  })

  it('looks no further than `to`', () => {
    const buf = b('GET / HTTP/1.1\r\n\r\n')
    expect(findHeadEnd(buf, 0, buf.length - 1)).toBe(-1)
  })

  it.each([
    { desc: 'no empty line', input: 'GET', expected: 0 },
    { desc: 'one CRLF', input: '\r\nGET', expected: 2 },
    { desc: 'several CRLFs', input: '\r\n\r\n\r\nGET', expected: 6 },
    { desc: 'a CR waiting for its LF', input: '\r\n\r', expected: 2 },
    { desc: 'a bare LF (left for findHeadEnd to refuse)', input: '\nGET', expected: 0 },
  ])('skips leading empty lines: $desc', ({ input, expected }) => {
    const buf = b(input)
    expect(skipLeadingCrlf(buf, 0, buf.length)).toBe(expected)
  })
})

describe('request target: path, query and the authority to route on', () => {
  it.each([
    { desc: 'origin form', line: 'GET /a/b?x=1&y HTTP/1.1', path: '/a/b', query: 'x=1&y', authority: 'example.com' },
    { desc: 'origin form without a query', line: 'GET /a HTTP/1.1', path: '/a', query: '', authority: 'example.com' },
    { desc: 'an empty query', line: 'GET /a? HTTP/1.1', path: '/a', query: '', authority: 'example.com' },
    { desc: 'absolute form: its authority wins over Host', line: 'GET http://other.test:8080/p?q=2 HTTP/1.1', path: '/p', query: 'q=2', authority: 'other.test:8080' },
    { desc: 'absolute form without a path', line: 'GET http://other.test HTTP/1.1', path: '/', query: '', authority: 'other.test' },
    { desc: 'absolute form with a query and no path', line: 'GET http://other.test?q=1 HTTP/1.1', path: '/', query: 'q=1', authority: 'other.test' },
    { desc: 'absolute form with an IPv6 authority', line: 'GET http://[::1]:81/x HTTP/1.1', path: '/x', query: '', authority: '[::1]:81' },
    { desc: 'a "?" in the query stays in it', line: 'GET /p?a=?b HTTP/1.1', path: '/p', query: 'a=?b', authority: 'example.com' },
    { desc: 'asterisk form', line: 'OPTIONS * HTTP/1.1', path: '*', query: '', authority: 'example.com' },
  ])('$desc', ({ line, path, query, authority }) => {
    const h = accepted(head(line, 'Host: example.com'))
    expect([h.path, h.query, h.authority, h.host]).toEqual([path, query, authority, 'example.com'])
  })
})
