// Table tests for ChunkedScanner (RFC 9112 §7.1): valid and invalid bodies, limits, and split invariance.
import { describe, it, expect } from 'vitest'
import { ChunkedScanner } from '../../../core/http1/chunked.ts'

const b = (s: string) => Buffer.from(s, 'latin1')

/** Result of scanning `body` in one call: the end index, -1 or the error reason. */
function scanAll (body: string, scanner = new ChunkedScanner()): number | string {
  const buf = b(body)
  const r = scanner.scan(buf, 0, buf.length)
  return r === -2 ? scanner.error!.reason : r
}

/** Same, with the input split at `cut` into two calls on separate Buffers, as sockets deliver it. */
function scanSplit (body: string, cut: number): number | string {
  const s = new ChunkedScanner()
  const first = b(body.slice(0, cut))
  const r1 = s.scan(first, 0, first.length)
  if (r1 === -2) return s.error!.reason
  if (r1 >= 0) return r1
  const second = b('..' + body.slice(cut)) // a non-zero start, as in a socket's buffer
  const r2 = s.scan(second, 2, second.length)
  return r2 === -2 ? s.error!.reason : r2 >= 0 ? r2 - 2 + cut : r2
}

const valid = [
  { desc: 'only the last chunk', body: '0\r\n\r\n' },
  { desc: 'one chunk', body: '5\r\nhello\r\n0\r\n\r\n' },
  { desc: 'several chunks, hex sizes in both cases', body: 'a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n' },
  { desc: 'leading zeros in a size', body: '0005\r\nhello\r\n0\r\n\r\n' },
  { desc: '16 hex digits of size', body: '0000000000000001\r\nx\r\n0\r\n\r\n' },
  { desc: 'data holding CRLF and digits', body: '4\r\n\r\n0\r\r\n0\r\n\r\n' },
  { desc: 'an extension without value', body: '5;ext\r\nhello\r\n0\r\n\r\n' },
  { desc: 'extensions with token and quoted values', body: '5;a=b;c="d e\\"f"\r\nhello\r\n0;z=1\r\n\r\n' },
  { desc: 'BWS around ";" and "=" (RFC 9112 §7.1.1)', body: '5 ; a = b\t;\tc\r\nhello\r\n0\r\n\r\n' },
  { desc: 'a trailer field', body: '0\r\nX-Sum: abc\r\n\r\n' },
  { desc: 'trailer fields with OWS and obs-text', body: '5\r\nhello\r\n0\r\nA:1\r\nB:  caf\xe9 \r\n\r\n' },
]

describe('chunked body (RFC 9112 §7.1)', () => {
  it.each(valid)('finds the end of $desc', ({ body }) => {
    expect(scanAll(body + 'GET / HTTP/1.1\r\n')).toBe(body.length)
  })

  it('asks for more while the body is incomplete', () => {
    expect(scanAll('5\r\nhel')).toBe(-1)
    expect(scanAll('5\r\nhello\r\n0\r\n\r')).toBe(-1)
  })

  it.each([
    { desc: 'an empty size', body: '\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-size' },
    { desc: 'a "0x" prefix', body: '0x5\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-size' },
    { desc: 'a sign', body: '+5\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-size' },
    { desc: 'leading whitespace', body: ' 5\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-size' },
    { desc: 'a non-hex digit', body: '5g\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-size' },
    { desc: 'more than 16 hex digits', body: '00000000000000005\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-size' },
    { desc: 'a size above MAX_SAFE_INTEGER', body: '20000000000000\r\n', reason: 'bad-chunk-size' },
    { desc: 'a bare LF after the size', body: '5\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-size' },
    { desc: 'a bare CR after the size', body: '5\rhello\r\n0\r\n\r\n', reason: 'bad-chunk-line-end' },
    { desc: 'trailing whitespace after the size', body: '5 \r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'an empty extension name', body: '5;=b\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'an extension name with a non-token char', body: '5;a@b\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'an empty extension value', body: '5;a=\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'an unterminated quoted value', body: '5;a="b\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'text after a quoted value', body: '5;a="b"c\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'two values', body: '5;a=b c\r\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'a bare LF in an extension', body: '5;a\nhello\r\n0\r\n\r\n', reason: 'bad-chunk-ext' },
    { desc: 'data longer than its size', body: '5\r\nhello!\r\n0\r\n\r\n', reason: 'bad-chunk-data-end' },
    { desc: 'data ended by a bare LF', body: '5\r\nhello\n0\r\n\r\n', reason: 'bad-chunk-data-end' },
    { desc: 'data ended by a bare CR', body: '5\r\nhello\r0\r\n\r\n', reason: 'bad-chunk-data-end' },
    { desc: 'a trailer with obs-fold', body: '0\r\nA: b\r\n c\r\n\r\n', reason: 'bad-trailer' },
    { desc: 'a trailer with SP before the colon', body: '0\r\nA : b\r\n\r\n', reason: 'bad-trailer' },
    { desc: 'a trailer without a colon', body: '0\r\nAB\r\n\r\n', reason: 'bad-trailer' },
    { desc: 'a trailer with a control char', body: '0\r\nA: \x01\r\n\r\n', reason: 'bad-trailer' },
    { desc: 'a trailer ended by a bare LF', body: '0\r\nA: b\n\r\n', reason: 'bad-trailer' },
    { desc: 'a final bare LF', body: '0\r\n\n', reason: 'bad-trailer' },
    { desc: 'a final bare CR', body: '0\r\n\rX', reason: 'bad-trailer' },
  ])('rejects $desc', ({ body, reason }) => {
    expect(scanAll(body)).toBe(reason)
  })

  it('gives every error status 400', () => {
    const s = new ChunkedScanner()
    s.scan(b('x'), 0, 1)
    expect(s.error?.status).toBe(400)
  })
})

describe('ChunkedScanner limits and lifecycle', () => {
  it('rejects a chunk-size line longer than maxLineBytes', () => {
    expect(scanAll('5;' + 'a'.repeat(20) + '\r\nhello\r\n0\r\n\r\n', new ChunkedScanner(16))).toBe('chunk-line-too-long')
    expect(scanAll('5;' + 'a'.repeat(13) + '\r\nhello\r\n0\r\n\r\n', new ChunkedScanner(16))).toBeGreaterThan(0)
  })

  it('rejects trailers larger than maxTrailerBytes', () => {
    expect(scanAll('0\r\nA: ' + 'x'.repeat(40) + '\r\n\r\n', new ChunkedScanner(4096, 32))).toBe('trailer-too-large')
    expect(scanAll('0\r\nA: ' + 'x'.repeat(20) + '\r\n\r\n', new ChunkedScanner(4096, 32))).toBeGreaterThan(0)
  })

  it('keeps an error until reset, then scans a new body', () => {
    const s = new ChunkedScanner()
    expect(s.scan(b('z'), 0, 1)).toBe(-2)
    expect(s.scan(b('0\r\n\r\n'), 0, 5)).toBe(-2)
    s.reset()
    expect(s.error).toBeNull()
    expect(s.scan(b('0\r\n\r\n'), 0, 5)).toBe(5)
  })

  it('claims no bytes once the body has ended', () => {
    const s = new ChunkedScanner()
    expect(s.scan(b('0\r\n\r\nabc'), 0, 8)).toBe(5)
    expect(s.scan(b('abc'), 1, 3)).toBe(1)
  })

  it('scans only buf[start, end)', () => {
    const s = new ChunkedScanner()
    const buf = b('XX0\r\n\r\nYY')
    expect(s.scan(buf, 2, 6)).toBe(-1)
    expect(s.scan(buf, 6, 7)).toBe(7)
  })
})

describe('split invariance', () => {
  const bodies = [
    ...valid.map(v => v.body + 'NEXT'),
    '5;a="x;y"\r\nhello\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n',
    '5\r\nhello!\r\n0\r\n\r\n', // invalid: every split must fail the same way
    '5;a="b\r\nhello\r\n0\r\n\r\n',
    '0\r\nA : b\r\n\r\n',
  ]

  it.each(bodies.map(body => ({ body })))('gives the same result at every split point of $body', ({ body }) => {
    const whole = scanAll(body)
    for (let cut = 0; cut <= body.length; cut++) expect(scanSplit(body, cut), `cut at ${cut}`).toBe(whole)
  })

  it('gives the same result one byte at a time', () => {
    const body = 'a;x=y\r\n0123456789\r\n0\r\nT: v\r\n\r\n'
    const s = new ChunkedScanner()
    const buf = b(body)
    let r = -1
    for (let i = 0; i < buf.length && r === -1; i++) r = s.scan(buf, i, i + 1)
    expect(r).toBe(body.length)
  })
})
