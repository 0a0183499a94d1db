// Differential test against Node's own llhttp (node:http, strict mode): generated requests go to both parsers; both
// must accept with the same method, target, fields and body, or both reject, unless a named deliberate difference
// (listed in docs/http1.md with its reason) explains the disagreement.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import fc from 'fast-check'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { BodyKind, HttpError, findHeadEnd } from '../../../core/http1/head.ts'
import { parseRequestHead } from '../../../core/http1/request-head.ts'
import { ChunkedScanner } from '../../../core/http1/chunked.ts'

// ---- the generated case -------------------------------------------------------------------------------------

interface ChunkFlags { bws: boolean, emptyExtValue: boolean, longSize: boolean }
interface Framing { label: string, lines: string[], body: string, flags: ChunkFlags }
interface Case { method: string, target: string, version: string, sep: string, sep2: string, hosts: string[], fields: string[], framing: Framing }

const noFlags: ChunkFlags = { bws: false, emptyExtValue: false, longSize: false }

function requestText (c: Case): string {
  const lines = [...c.hosts, ...c.fields, ...c.framing.lines, 'Connection: close']
  return `${c.method}${c.sep}${c.target}${c.sep2}${c.version}\r\n` + lines.map(l => l + '\r\n').join('') + '\r\n' + c.framing.body
}

/** Mostly `common`, sometimes `rare` (weights `weight` to 1). */
const often = <T>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, weight = 6): fc.Arbitrary<T> =>
  fc.oneof({ weight, arbitrary: common }, { weight: 1, arbitrary: rare })

const method = often(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  fc.constantFrom('CONNECT', 'QUERY', 'M-SEARCH', 'FOO', 'get', 'PRI', 'G(T', 'PURGE'))
const target = often(fc.constantFrom('/', '/a/b?c=d', '/%7e/x', '/a#f', '/"{}|^`', "/!$&'()*+,;=:@"),
  fc.constantFrom('*', 'http://a.example/x', 'https://a.example:8443', 'a.example:443', '[::1]:443', 'http://u@a.example/',
    'http:///x', 'h+t://a/', '/a\x7fb', '/caf\xe9', '', 'foo', '/a b'), 3)
const version = often(fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
  fc.constantFrom('HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/3.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1'), 10)
const sep = often(fc.constant(' '), fc.constantFrom('  ', '\t'), 20)
const hosts = often<string[]>(fc.constant(['Host: a.example']), fc.constantFrom<string[]>([], ['Host: a.example', 'Host: a.example'], ['Host: a b'],
  ['Host:'], ['Host: [::1]:8080'], ['Host: u@a'], ['host:  a.example:80  '], ['Host: a.example:99999'], ['Host: a,b'],
  ['Host: :80']), 4)
const fieldLine = often(
  fc.tuple(fc.constantFrom('Accept', 'X-Request-Id', 'x_u', "!#$%&'*+-.^_`|~09"), fc.constantFrom(': ', ':', ':\t', ':  '),
    fc.constantFrom('v', 'a b', ' x \t', 'caf\xe9', '', '"q"', 'a,b')).map(([n, s, v]) => n + s + v),
  fc.constantFrom('X : v', 'X\t: v', ': v', 'X@Y: v', 'X: a\x00b', 'X: a\x01b', 'X: a\x7f', 'X: a\rb', 'X: a\nY: b',
    'X: a\r\n b', ' X: v', 'NoColon'), 8)

// chunked bodies: mostly valid, with the odd pieces that parsers disagree about
const latin1Char = fc.integer({ min: 0, max: 255 }).map(c => String.fromCharCode(c))
const ext = often(fc.constantFrom('', ';a', ';a=b', ';a="x y"', ';a="q\\"s"', ';a=b;c'),
  fc.constantFrom(' ;a', ';a = b', ';a=', ';a="\xe9"', ' ', ';', ';a="b"c'), 4)
const eol = often(fc.constant('\r\n'), fc.constantFrom('\n', '\r', 'X\r\n'), 12)
const sizeStyle = often(fc.constantFrom('hex', 'HEX', 'zeros16'), fc.constantFrom('zeros17', '0x', '+'), 10)
function sizeText (n: number, style: string): string {
  const hex = n.toString(16)
  switch (style) {
    case 'HEX': return hex.toUpperCase()
    case 'zeros16': return hex.padStart(16, '0')
    case 'zeros17': return hex.padStart(17, '0')
    case '0x': return '0x' + hex
    case '+': return '+' + hex
    default: return hex
  }
}
function extFlags (e: string, size: string): Partial<ChunkFlags> {
  return {
    bws: e === ' ;a' || e === ';a = b',
    emptyExtValue: e === ';a=',
    longSize: size.length > 16,
  }
}
const chunk = fc.record({ data: fc.string({ unit: latin1Char, minLength: 1, maxLength: 12 }), style: sizeStyle, ext, lineEnd: eol, dataEnd: eol })
  .map(({ data, style, ext, lineEnd, dataEnd }) => {
    const size = sizeText(data.length, style)
    return { text: size + ext + lineEnd + data + dataEnd, flags: extFlags(ext, size) }
  })
const chunkedBody = fc.record({
  chunks: fc.array(chunk, { maxLength: 3 }),
  lastExt: ext,
  trailers: often(fc.constantFrom('', 'T: v\r\n', 'T:v\r\nU: w\r\n'), fc.constantFrom('T : v\r\n', ' T: v\r\n', 'T: \x01\r\n'), 5),
  end: often(fc.constant('\r\n'), fc.constantFrom('', '\n'), 10),
}).map(({ chunks, lastExt, trailers, end }) => {
  const flags: ChunkFlags = { ...noFlags }
  for (const f of [...chunks.map(c => c.flags), extFlags(lastExt, '0')]) {
    flags.bws ||= f.bws === true
    flags.emptyExtValue ||= f.emptyExtValue === true
    flags.longSize ||= f.longSize === true
  }
  return { body: chunks.map(c => c.text).join('') + '0' + lastExt + '\r\n' + trailers + end, flags }
})

const framing: fc.Arbitrary<Framing> = fc.tuple(
  often(fc.constantFrom('none', 'cl', 'chunked', 'Chunked', 'cl-leading-zero'),
    fc.constantFrom('cl-list-equal', 'cl-repeated-equal', 'cl-disagree', 'cl-sign', 'cl-empty', 'cl-16-digits', 'cl-short-body',
      'te-gzip-chunked', 'te-chunked-twice', 'te-two-fields', 'te-gzip', 'te-and-cl'), 3),
  fc.string({ unit: latin1Char, maxLength: 20 }),
  chunkedBody,
).map(([label, data, chunked]) => {
  const n = data.length
  const cl = (lines: string[], body = data): Framing => ({ label, lines, body, flags: noFlags })
  const te = (lines: string[]): Framing => ({ label, lines, body: chunked.body, flags: chunked.flags })
  switch (label) {
    case 'none': return cl([], '')
    case 'cl': return cl([`Content-Length: ${n}`])
    case 'cl-leading-zero': return cl([`Content-Length: 0${n}`])
    case 'cl-list-equal': return cl([`Content-Length: ${n}, ${n}`])
    case 'cl-repeated-equal': return cl([`Content-Length: ${n}`, `Content-Length: ${n}`])
    case 'cl-disagree': return cl([`Content-Length: ${n}`, `Content-Length: ${n + 1}`])
    case 'cl-sign': return cl([`Content-Length: +${n}`])
    case 'cl-empty': return cl(['Content-Length:'])
    case 'cl-16-digits': return cl(['Content-Length: 1000000000000000'])
    case 'cl-short-body': return cl([`Content-Length: ${n + 3}`])
    case 'chunked': return te(['Transfer-Encoding: chunked'])
    case 'Chunked': return te(['Transfer-Encoding: Chunked'])
    case 'te-gzip-chunked': return te(['Transfer-Encoding: gzip, chunked'])
    case 'te-chunked-twice': return te(['Transfer-Encoding: chunked, chunked'])
    case 'te-two-fields': return te(['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'])
    case 'te-gzip': return te(['Transfer-Encoding: gzip'])
    default: return te(['Transfer-Encoding: chunked', `Content-Length: ${chunked.body.length}`]) // te-and-cl
  }
})

const requestCase: fc.Arbitrary<Case> = fc.record({ method, target, version, sep, sep2: sep, hosts, fields: fc.array(fieldLine, { maxLength: 3 }), framing })

// ---- verdicts -----------------------------------------------------------------------------------------------

type Verdict =
  | { kind: 'accept', method: string, url: string, raw: string[], body: string | null } // body null: head only (CONNECT)
  | { kind: 'reject', status: number }
  | { kind: 'incomplete' }

const limits = { maxHeaderCount: 100 }

/** What Pilotfish's parsers make of the bytes. */
function ours (bytes: Buffer): Verdict {
  const end = findHeadEnd(bytes, 0, bytes.length)
  if (end === -2) return { kind: 'reject', status: 400 }
  if (end === -1) return { kind: 'incomplete' }
  const h = parseRequestHead(bytes.toString('latin1', 0, end), limits)
  if (h instanceof HttpError) return { kind: 'reject', status: h.status }
  const raw: string[] = []
  for (let i = 0; i < h.rawNames.length; i++) raw.push(h.rawNames[i]!, h.values[i]!)
  const accept = (body: string | null): Verdict => ({ kind: 'accept', method: h.method, url: h.target, raw, body })
  if (h.method === 'CONNECT') return accept(null)
  if (h.bodyKind === BodyKind.None) return accept('')
  if (h.bodyKind === BodyKind.Length) {
    if (bytes.length - end < h.contentLength) return { kind: 'incomplete' }
    return accept(bytes.toString('latin1', end, end + h.contentLength))
  }
  const scanner = new ChunkedScanner()
  const r = scanner.scan(bytes, end, bytes.length)
  if (r === -2) return { kind: 'reject', status: scanner.error!.status }
  if (r === -1) return { kind: 'incomplete' }
  return accept(decodeChunked(bytes.toString('latin1', end, r)))
}

/** Data of a chunked body the scanner has already validated. */
function decodeChunked (s: string): string {
  let out = ''
  let i = 0
  for (;;) {
    const eol = s.indexOf('\r\n', i)
    const size = parseInt(/^[0-9a-fA-F]+/.exec(s.slice(i, eol))![0], 16)
    if (size === 0) return out
    out += s.slice(eol + 2, eol + 2 + size)
    i = eol + 4 + size
  }
}

/** What llhttp made of one connection, filled in by the server's events. */
interface NodeState { req: http.IncomingMessage | null, body: Buffer[], headOnly: boolean, error: string | null }

let server: http.Server
let port = 0
let waiting: NodeState | null = null // the state the next accepted connection fills
const states = new WeakMap<net.Socket, NodeState>()

beforeAll(async () => {
  server = http.createServer({ insecureHTTPParser: false })
  server.on('connection', (socket: net.Socket) => {
    if (waiting !== null) states.set(socket, waiting)
    waiting = null
  })
  server.on('request', (req: http.IncomingMessage) => {
    const st = states.get(req.socket)
    if (st === undefined) return
    st.req = req
    req.on('data', (d: Buffer) => st.body.push(d)) // emitted synchronously as the parser runs
    req.on('error', () => {})
  })
  const headOnly = (req: http.IncomingMessage, socket: net.Socket): void => {
    const st = states.get(socket)
    if (st !== undefined) { st.req = req; st.headOnly = true }
    socket.destroy()
  }
  server.on('connect', headOnly)
  server.on('upgrade', headOnly)
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const st = states.get(socket)
    if (st !== undefined && st.error === null) st.error = err.code ?? 'unknown'
    socket.destroy()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise<void>(resolve => server.close(() => resolve()))
})

/** Sends the bytes on a fresh connection, half-closes, and reads llhttp's verdict once the server has closed it. */
async function node (bytes: Buffer): Promise<Verdict> {
  const st: NodeState = { req: null, body: [], headOnly: false, error: null }
  waiting = st
  let received = ''
  await new Promise<void>(resolve => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes))
    const timer = setTimeout(() => socket.destroy(), 5000)
    socket.on('data', (d: Buffer) => { received += d.toString('latin1') })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve() })
  })
  const req = st.req
  if (req !== null && (req.complete || st.headOnly)) {
    const body = st.headOnly ? null : Buffer.concat(st.body).toString('latin1')
    return { kind: 'accept', method: req.method!, url: req.url!, raw: req.rawHeaders, body }
  }
  // HPE_INVALID_EOF_STATE: our half-close came while llhttp still waited for bytes
  if (st.error === 'HPE_INVALID_EOF_STATE' || (req !== null && st.error === null)) return { kind: 'incomplete' }
  if (st.error !== null) return { kind: 'reject', status: 400 }
  const status = /^HTTP\/1\.1 (\d{3})/.exec(received) // node:http's own 400 for a 1.1 request without Host
  if (status !== null) return { kind: 'reject', status: Number(status[1]) }
  throw new Error('no verdict from node:http')
}

// ---- deliberate differences -----------------------------------------------------------------------------------

const KNOWN_METHODS = new Set(http.METHODS)
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
function hostValue (line: string): string { return line.slice(line.indexOf(':') + 1).trim() }
function validHost (value: string): boolean {
  if (value === '') return true
  const port = /:(\d*)$/.exec(value)
  return /^(\[[0-9A-Fa-f:.]+\]|([A-Za-z0-9\-._~!$&'()*+;=]|%[0-9A-Fa-f]{2})+)(:\d{0,5})?$/.test(value) &&
    (port === null || port[1] === '' || Number(port[1]) <= 65535)
}
const isReject = (v: Verdict) => v.kind === 'reject'
const notReject = (v: Verdict) => v.kind !== 'reject'

/** Each names a way we knowingly differ from llhttp: when it holds for the input, and the verdicts differ its way. */
const deliberate: Array<{ name: string, holds: (c: Case) => boolean, ours: (v: Verdict) => boolean, node: (v: Verdict) => boolean }> = [
  { // RFC 9110 §9.1: methods are an open set of tokens; llhttp knows a fixed list
    name: 'extension-method',
    holds: c => TOKEN.test(c.method) && !KNOWN_METHODS.has(c.method),
    ours: notReject,
    node: isReject,
  },
  { // RFC 9112 §3: exactly one SP between the parts; llhttp skips a run of SPs (the leniency §3 allows), and a
    // peer that splits differently would see another target
    name: 'request-line-sp-run',
    holds: c => /^ {2,}$/.test(c.sep) || /^ {2,}$/.test(c.sep2),
    ours: isReject,
    node: notReject,
  },
  { // RFC 9110 §15.6.6: we speak only 1.0 and 1.1; llhttp also parses 0.9, 2.0 and 3.0 request-lines
    name: 'version-not-1.x',
    holds: c => /^HTTP\/\d\.\d$/.test(c.version) && c.version !== 'HTTP/1.0' && c.version !== 'HTTP/1.1',
    ours: v => v.kind === 'reject' && v.status === 505,
    node: notReject,
  },
  { // RFC 9112 §3.2: several Host fields or an invalid one is a 400; node:http only checks one is present
    name: 'host-not-one-valid',
    holds: c => c.hosts.length > 1 || (c.hosts.length === 1 && !validHost(hostValue(c.hosts[0]!))),
    ours: isReject,
    node: notReject,
  },
  { // RFC 9112 §3.2.3-4, RFC 9110 §4.2.4: forms tied to their methods, no userinfo, a non-empty authority
    name: 'target-form',
    holds: c => (c.target === '*' && c.method !== 'OPTIONS') ||
      (c.method === 'CONNECT' && !/^([A-Za-z0-9.\-]+|\[[0-9a-fA-F:.]+\]):\d+$/.test(c.target)) ||
      /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/]*@|\/|:|$)/.test(c.target),
    ours: isReject,
    node: notReject,
  },
  { // node:http hands a CONNECT to its 'connect' event after the head without requiring Host, and llhttp skips the
    // Transfer-Encoding checks; RFC 9112 §3.2 asks Host of every 1.1 request, and RFC 9110 §9.3.6 gives CONNECT no
    // content, so we refuse framing fields that would make the tunnel's first bytes a body
    name: 'connect-checks',
    holds: c => c.method === 'CONNECT' && ((c.hosts.length === 0 && c.version === 'HTTP/1.1') || c.framing.lines.length > 0),
    ours: isReject,
    node: notReject,
  },
  { // RFC 3986 §3.1: a scheme may hold digits, "+", "-" and "."; llhttp allows letters only
    name: 'scheme-chars',
    holds: c => /^[A-Za-z][A-Za-z0-9+.-]*[0-9+.-][A-Za-z0-9+.-]*:\/\//.test(c.target),
    ours: notReject,
    node: isReject,
  },
  { // RFC 9110 §8.6: identical repeated values may be taken as one; llhttp refuses any repetition
    name: 'content-length-repeated-equal',
    holds: c => c.framing.label === 'cl-list-equal' || c.framing.label === 'cl-repeated-equal',
    ours: notReject,
    node: isReject,
  },
  { // we cap Content-Length at 15 digits (below MAX_SAFE_INTEGER); llhttp reads up to 2^64-1
    name: 'content-length-over-15-digits',
    holds: c => c.framing.label === 'cl-16-digits',
    ours: isReject,
    node: notReject,
  },
  { // RFC 9112 §6.1: we decode no coding and forward only what every peer frames one way: exactly "chunked"
    name: 'transfer-coding-before-chunked',
    holds: c => c.framing.label === 'te-gzip-chunked',
    ours: v => v.kind === 'reject' && v.status === 501,
    node: notReject,
  },
  { // RFC 9112 §6.1: TE in a 1.0 message is faulty framing; llhttp frames it as chunked
    name: 'transfer-encoding-on-http10',
    holds: c => c.version === 'HTTP/1.0' && c.framing.lines.some(l => /^transfer-encoding:/i.test(l)),
    ours: isReject,
    node: notReject,
  },
  { // RFC 9112 §7.1.1: BWS around ";" and "=" in chunk-ext must be parsed; llhttp refuses it
    name: 'chunk-ext-bws',
    holds: c => c.framing.flags.bws,
    ours: notReject,
    node: isReject,
  },
  { // RFC 9112 §7.1.1: chunk-ext-val = token / quoted-string, so "a=" is invalid; llhttp accepts it
    name: 'chunk-ext-empty-value',
    holds: c => c.framing.flags.emptyExtValue,
    ours: isReject,
    node: notReject,
  },
  { // more than 16 hex digits of chunk-size is refused outright (a leading-zero run is a smuggling tell); llhttp
    // only checks for overflow
    name: 'chunk-size-over-16-digits',
    holds: c => c.framing.flags.longSize,
    ours: isReject,
    node: notReject,
  },
]

function same (a: Verdict, b: Verdict): boolean {
  if (a.kind !== b.kind) return false
  if (a.kind !== 'accept' || b.kind !== 'accept') return true
  return a.method === b.method && a.url === b.url && a.body === b.body && JSON.stringify(a.raw) === JSON.stringify(b.raw)
}

/** The name of the deliberate difference explaining a disagreement, or null. */
function explain (c: Case, o: Verdict, n: Verdict): string | null {
  for (const d of deliberate) if (d.holds(c) && d.ours(o) && d.node(n)) return d.name
  return null
}

// ---- tests ----------------------------------------------------------------------------------------------------

const base: Case = { method: 'POST', target: '/', version: 'HTTP/1.1', sep: ' ', sep2: ' ', hosts: ['Host: a.example'], fields: [], framing: { label: 'none', lines: [], body: '', flags: noFlags } }
const chunkedFraming = (body: string, flags: Partial<ChunkFlags> = {}): Framing =>
  ({ label: 'chunked', lines: ['Transfer-Encoding: chunked'], body, flags: { ...noFlags, ...flags } })

describe('differential testing against node:http (llhttp, strict)', () => {
  it('agrees with llhttp on valid requests of every framing', async () => {
    for (const c of [
      base,
      { ...base, method: 'GET', target: '/a?b=c', fields: ['Accept: */*', 'X-Y:  v '] },
      { ...base, framing: { label: 'cl', lines: ['Content-Length: 5'], body: 'hello', flags: noFlags } },
      { ...base, framing: chunkedFraming('5;a="x y"\r\nhello\r\n0\r\nT: v\r\n\r\n') },
      { ...base, version: 'HTTP/1.0', hosts: [] },
      { ...base, method: 'CONNECT', target: 'a.example:443' },
    ]) {
      const bytes = Buffer.from(requestText(c), 'latin1')
      const o = ours(bytes)
      expect(o.kind).toBe('accept')
      expect(await node(bytes)).toEqual(o)
    }
  })

  const examples: Array<{ name: string, c: Case }> = [
    { name: 'extension-method', c: { ...base, method: 'FOO' } },
    { name: 'request-line-sp-run', c: { ...base, sep: '  ' } },
    { name: 'version-not-1.x', c: { ...base, version: 'HTTP/2.0' } },
    { name: 'host-not-one-valid', c: { ...base, hosts: ['Host: a', 'Host: b'] } },
    { name: 'target-form', c: { ...base, method: 'GET', target: '*' } },
    { name: 'connect-checks', c: { ...base, method: 'CONNECT', target: 'a.example:443', hosts: [] } },
    { name: 'scheme-chars', c: { ...base, target: 'h+t://a/' } },
    { name: 'content-length-repeated-equal', c: { ...base, framing: { label: 'cl-list-equal', lines: ['Content-Length: 2, 2'], body: 'ab', flags: noFlags } } },
    { name: 'content-length-over-15-digits', c: { ...base, framing: { label: 'cl-16-digits', lines: ['Content-Length: 1000000000000000'], body: 'ab', flags: noFlags } } },
    { name: 'transfer-coding-before-chunked', c: { ...base, framing: { ...chunkedFraming('0\r\n\r\n'), label: 'te-gzip-chunked', lines: ['Transfer-Encoding: gzip, chunked'] } } },
    { name: 'transfer-encoding-on-http10', c: { ...base, version: 'HTTP/1.0', framing: chunkedFraming('0\r\n\r\n') } },
    { name: 'chunk-ext-bws', c: { ...base, framing: chunkedFraming('1 ;a\r\nx\r\n0\r\n\r\n', { bws: true }) } },
    { name: 'chunk-ext-empty-value', c: { ...base, framing: chunkedFraming('1;a=\r\nx\r\n0\r\n\r\n', { emptyExtValue: true }) } },
    { name: 'chunk-size-over-16-digits', c: { ...base, framing: chunkedFraming('00000000000000001\r\nx\r\n0\r\n\r\n', { longSize: true }) } },
  ]

  it('has one example per deliberate difference', () => {
    expect(examples.map(e => e.name)).toEqual(deliberate.map(d => d.name))
  })

  it.each(examples)('differs from llhttp as docs/http1.md says: $name', async ({ name, c }) => {
    const bytes = Buffer.from(requestText(c), 'latin1')
    const o = ours(bytes)
    const n = await node(bytes)
    expect(same(o, n), JSON.stringify({ o, n })).toBe(false)
    expect(explain(c, o, n)).toBe(name)
  })

  it('agrees with llhttp on 300 generated requests, or differs only in a named deliberate way', async () => {
    const seen = { agreeAccept: 0, agreeReject: 0, differences: new Map<string, number>() }
    await fc.assert(fc.asyncProperty(requestCase, async c => {
      const bytes = Buffer.from(requestText(c), 'latin1')
      const o = ours(bytes)
      const n = await node(bytes)
      if (same(o, n)) {
        if (o.kind === 'accept') seen.agreeAccept++
        else seen.agreeReject++
        return
      }
      const why = explain(c, o, n)
      expect(why, `unexplained difference for ${JSON.stringify(requestText(c))}: ours ${JSON.stringify(o)}, llhttp ${JSON.stringify(n)}`).not.toBeNull()
      seen.differences.set(why!, (seen.differences.get(why!) ?? 0) + 1)
    }), { numRuns: Number(process.env.PF_DIFF_RUNS ?? 300) }) // PF_DIFF_RUNS=20000 for a deeper look
    if (process.env.PF_DIFF_STATS !== undefined) console.log(seen)
    // the generator must keep reaching both sides of the comparison, or the test proves nothing
    expect(seen.agreeAccept).toBeGreaterThan(50)
    expect(seen.agreeReject).toBeGreaterThan(50)
    expect(seen.differences.size).toBeGreaterThan(3)
  })
})
