// The built-in tls plugin against real sidecars: an https listener from `protocol: https` + `tls:` (no plugins:
// entry), SNI, files relative to the config file and inline PEM, the named policies, the handshake timeout,
// certificate checks and changes through PUT /v1/config, HSTS, and the inline key as a secret. Certificates come
// from a throwaway CA made for the run (certs.ts); nothing is checked in.
import { X509Certificate } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { TestCa, type Leaf } from './certs.ts'
import { callJson, deadPort, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { runCli, startCli } from './process.ts'

const ca = new TestCa()
const dir = mkdtempSync(join(tmpdir(), 'pilotfish-tls-e2e-'))
const certsDir = join(dir, 'certs')
mkdirSync(certsDir)
const day = 86_400_000

const LEAVES = {
  a: ca.issue({ cn: 'a.test', sans: ['DNS:a.test', 'IP:127.0.0.1'] }),
  b: ca.issue({ cn: 'b.test', sans: ['DNS:b.test', 'DNS:*.b.test'] }),
  /** a.test again, another key: what a rotation puts in place. */
  a2: ca.issue({ cn: 'a.test', sans: ['DNS:a.test', 'IP:127.0.0.1'] }),
  expired: ca.issue({ cn: 'expired.test', sans: ['DNS:expired.test'], notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) }),
  future: ca.issue({ cn: 'future.test', sans: ['DNS:future.test'], notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 30 * day) }),
} satisfies Record<string, Leaf>
type Name = keyof typeof LEAVES
for (const [name, leaf] of Object.entries(LEAVES)) {
  writeFileSync(join(certsDir, `${name}.pem`), leaf.cert)
  writeFileSync(join(certsDir, `${name}.key`), leaf.key, { mode: 0o600 })
}
writeFileSync(join(certsDir, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
writeFileSync(join(certsDir, 'garbage.key'), '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n')

/** A certificate entry from files: absolute paths (startPilotfish resolves relative ones from the working directory). */
const files = (cert: Name | 'garbage' | 'missing', key: Name | 'garbage' = cert as Name): Record<string, string> =>
  ({ certFile: join(certsDir, `${cert}.pem`), keyFile: join(certsDir, `${key}.key`) })
const sha256 = (name: Name): string => new X509Certificate(LEAVES[name].cert).fingerprint256

afterAll(() => {
  ca.close()
  rmSync(dir, { recursive: true, force: true })
})

interface Handshake {
  protocol: string | null
  cipher: string
  alpn: string | false | null
  group: string | undefined
  sha256: string
  subject: string
}

/** A TLS handshake with a listener (the chain checked against the test CA; names are what the tests look at). */
function handshake (port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, checkServerIdentity: () => undefined, ...options }, () => {
      const peer = socket.getPeerCertificate()
      resolve({
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        alpn: socket.alpnProtocol,
        group: (socket.getEphemeralKeyInfo() as { name?: string }).name,
        sha256: peer.fingerprint256,
        subject: peer.subject.CN as string,
      })
      socket.destroy()
    })
    socket.on('error', reject)
  })
}

/** The error code of a handshake that must fail. */
async function refusal (port: number, options: tls.ConnectionOptions): Promise<string> {
  try {
    const h = await handshake(port, options)
    return `accepted (${h.protocol} ${h.cipher})`
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err)
  }
}

interface Response { status: number, headers: IncomingHttpHeaders, body: string, sha256: string, localPort: number, reused: boolean }

/** An HTTPS request to 127.0.0.1 (no SNI: an IP), verified against the test CA. */
function get (port: number, path = '/', options: https.RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, ca: ca.cert, agent: false, ...options }, (res) => {
      const socket = res.socket as tls.TLSSocket
      const sha = socket.getPeerCertificate().fingerprint256
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, sha256: sha, localPort: socket.localPort!, reused: req.reusedSocket }))
    })
    req.on('error', reject)
    req.end()
  })
}

const forward = (group: string): Record<string, unknown> => ({ type: 'forward', targetGroups: [{ name: group }] })
const httpsListener = (name: string, tlsSection: Record<string, unknown>, more: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name, host: '127.0.0.1', port: 0, protocol: 'https', tls: tlsSection, defaultAction: forward('a'), ...more })
const problemsOf = (err: unknown): Array<{ path: string, message: string }> => (err as { problems?: Array<{ path: string, message: string }> }).problems ?? []

describe('an https listener', () => {
  let a: Backend
  let b: Backend
  let pf: Running
  beforeAll(async () => {
    a = await startBackend('a')
    b = await startBackend('b')
    pf = await startPilotfish({
      listeners: [
        httpsListener('secure', {
          certificates: [files('a'), files('b')],
          hsts: { maxAgeSeconds: 31536000, includeSubDomains: true },
        }, { rules: [{ priority: 1, name: 'to-b', conditions: { path: ['/b/*'] }, action: forward('b') }] }),
        httpsListener('inline', { certificates: [{ cert: LEAVES.b.cert, key: LEAVES.b.key }] }),
        { name: 'plain', host: '127.0.0.1', port: 0, defaultAction: forward('a') },
      ],
      targetGroups: [
        { name: 'a', targets: [{ host: '127.0.0.1', port: a.port }] },
        { name: 'b', targets: [{ host: '127.0.0.1', port: b.port }] },
      ],
    })
  })
  afterAll(async () => { await pf.stop(); await a.close(); await b.close() })

  it('serves its rules and groups over TLS; the target gets x-forwarded-proto https and x-forwarded-port the listener\'s', async () => {
    const port = pf.portOf('secure')
    const toA = await get(port, '/x')
    const toB = await get(port, '/b/y')
    expect([toA.status, JSON.parse(toA.body).name, toB.status, JSON.parse(toB.body).name]).toEqual([200, 'a', 200, 'b'])
    const seen = b.seen.at(-1)!
    expect([seen.url, seen.headers['x-forwarded-proto'], seen.headers['x-forwarded-port']]).toEqual(['/b/y', 'https', String(port)])
    expect(a.seen.at(-1)!.headers['x-forwarded-proto']).toBe('https')
  })

  it('negotiates http/1.1 by ALPN when the client offers h2 and http/1.1', async () => {
    const h = await handshake(pf.portOf('secure'), { ALPNProtocols: ['h2', 'http/1.1'] })
    expect(h.alpn).toBe('http/1.1')
  })

  it('picks the certificate by SNI, wildcards included; no SNI or an unknown name gets the first', async () => {
    const port = pf.portOf('secure')
    const by = async (servername: string | undefined): Promise<string> => {
      const h = await handshake(port, servername === undefined ? {} : { servername })
      expect(h.sha256).toBe(h.subject === 'a.test' ? sha256('a') : sha256('b'))
      return h.subject
    }
    expect(await by('a.test')).toBe('a.test')
    expect(await by('b.test')).toBe('b.test')
    expect(await by('api.b.test')).toBe('b.test') // *.b.test
    expect(await by('API.B.TEST')).toBe('b.test') // names are case-insensitive
    expect(await by('x.api.b.test')).toBe('a.test') // a wildcard covers one label only
    expect(await by('unknown.test')).toBe('a.test')
    expect(await by(undefined)).toBe('a.test') // host 127.0.0.1: no SNI sent
  })

  it('serves inline PEM (cert and key in the config)', async () => {
    const r = await get(pf.portOf('inline'), '/', { servername: 'b.test' })
    expect([r.status, r.sha256]).toEqual([200, sha256('b')])
  })

  it('adds strict-transport-security to target responses with hsts; none without, nor on http', async () => {
    expect((await get(pf.portOf('secure'))).headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    expect((await get(pf.portOf('inline'), '/', { servername: 'b.test' })).headers['strict-transport-security']).toBeUndefined()
    const plain = await fetch(`http://127.0.0.1:${pf.portOf('plain')}/`)
    expect([plain.status, plain.headers.get('strict-transport-security')]).toEqual([200, null])
  })
})

describe('certificate files relative to the config file (pilotfish run --config), and the inline key as a secret', () => {
  let be: Backend
  let cli: Awaited<ReturnType<typeof startCli>>
  let admin: string
  let filesPort: number
  let inlinePort: number
  /** Every line of key material of the keys used here (b's runs inline; a2's is sent in a refused PUT). */
  const keyLines = [LEAVES.b.key, LEAVES.a2.key].flatMap((k) => k.split('\n').filter((l) => l !== '' && !l.startsWith('-----')))
  const expectNoKey = (text: string): void => {
    expect(text).not.toContain('PRIVATE KEY')
    for (const line of keyLines) expect(text).not.toContain(line)
  }
  const elsewhere = mkdtempSync(join(tmpdir(), 'pilotfish-tls-cwd-'))
  beforeAll(async () => {
    be = await startBackend('a')
    filesPort = await deadPort()
    inlinePort = await deadPort()
    writeFileSync(join(dir, 'pilotfish.yaml'), stringify({
      admin: { host: '127.0.0.1', port: 0 },
      listeners: [
        { ...httpsListener('files', { certificates: [{ certFile: 'certs/a.pem', keyFile: 'certs/a.key' }] }), port: filesPort },
        { ...httpsListener('inline', { certificates: [{ cert: LEAVES.b.cert, key: LEAVES.b.key }] }), port: inlinePort },
      ],
      targetGroups: [{ name: 'a', targets: [{ host: '127.0.0.1', port: be.port }] }],
    }))
    // From another working directory: certs/a.pem exists only beside the config file.
    cli = await startCli(['run', '--config', join(dir, 'pilotfish.yaml'), '--shards', '1'], {}, elsewhere)
    admin = /admin API on (\S+)/.exec(cli.stderr())![1]!
  })
  afterAll(async () => {
    await cli?.stop()
    await be.close()
    rmSync(elsewhere, { recursive: true, force: true })
  })

  it('reads certFile and keyFile relative to the config file\'s directory, not the working directory', async () => {
    const r = await get(filesPort)
    expect([r.status, r.sha256]).toEqual([200, sha256('a')])
  })

  it('shows an inline key as "(redacted)" in GET /v1/config, with no key material', async () => {
    const res = await fetch(`${admin}/v1/config`)
    const text = await res.text()
    expectNoKey(text)
    const config = JSON.parse(text)
    expect(config.listeners[1].tls.certificates[0]).toEqual({ cert: LEAVES.b.cert, key: '(redacted)' })
  })

  it('keeps the inline key when the GET body comes back in a PUT: new handshakes still succeed', async () => {
    const config = (await callJson(`${admin}/v1/config`)).body
    config.listeners[1].tls.hsts = { maxAgeSeconds: 60 } // a visible change, so the PUT is known to apply
    const put = await callJson(`${admin}/v1/config`, 'PUT', config)
    expect(put.status).toBe(200)
    const r = await get(inlinePort, '/', { servername: 'b.test' })
    expect([r.status, r.sha256, r.headers['strict-transport-security']]).toEqual([200, sha256('b'), 'max-age=60'])
  })

  it('never shows a key in a refused PUT\'s reply, a refused start\'s message, or on stderr', async () => {
    const config = (await callJson(`${admin}/v1/config`)).body
    config.listeners[1].tls.certificates[0] = { cert: LEAVES.a.cert, key: LEAVES.a2.key } // a new key, not a's
    const res = await fetch(`${admin}/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) })
    const text = await res.text()
    expect(res.status).toBe(400)
    expect(JSON.parse(text).problems).toEqual([{ path: '/listeners/1/tls/certificates/0/key', message: expect.stringMatching(/^inline: does not match the certificate/) }])
    expectNoKey(text)
    expect((await get(inlinePort, '/', { servername: 'b.test' })).sha256).toBe(sha256('b'))
    // The same refused at start: the message goes to stderr.
    const file = join(dir, 'mismatch.yaml')
    writeFileSync(file, stringify({ listeners: config.listeners.slice(1).map((l: Record<string, unknown>) => ({ ...l, port: 0 })), targetGroups: config.targetGroups }))
    const run = await runCli(['run', '--config', file, '--admin', 'off'])
    expect([run.code, run.stderr]).toEqual([1, expect.stringContaining('/listeners/0/tls/certificates/0/key: inline: does not match')])
    expectNoKey(run.stderr + run.stdout)
    expectNoKey(cli.stderr() + cli.stdout())
  })
})

describe('named policies', () => {
  let be: Backend
  let pf: Running
  /** Accepts TLS 1.0 and up, any suite: shows that the old clients below offer what they say. */
  let permissive: tls.Server
  let permissivePort: number
  const TLS11 = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const
  const TLS10 = { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' } as const
  const TLS12 = { maxVersion: 'TLSv1.2' } as const
  const CBC = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384']
  const AEAD = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']
  beforeAll(async () => {
    be = await startBackend('a')
    const certificates = [files('a')]
    pf = await startPilotfish({
      listeners: [
        httpsListener('tls13', { certificates, policy: 'pilotfish-tls13-2025' }),
        httpsListener('tls12', { certificates }), // the default policy
        httpsListener('compat', { certificates, policy: 'pilotfish-compat-2025' }),
      ],
      targetGroups: [{ name: 'a', targets: [{ host: '127.0.0.1', port: be.port }] }],
    })
    permissive = tls.createServer({ ...LEAVES.a, minVersion: 'TLSv1', ciphers: 'ALL@SECLEVEL=0' }, (s) => s.end())
    await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve))
    permissivePort = (permissive.address() as net.AddressInfo).port
  })
  afterAll(async () => { await pf.stop(); await be.close(); permissive.close() })

  it('refuses TLS 1.1 and TLS 1.0 clients under every policy, with a protocol_version alert', async () => {
    expect((await handshake(permissivePort, TLS11)).protocol).toBe('TLSv1.1')
    expect((await handshake(permissivePort, TLS10)).protocol).toBe('TLSv1')
    for (const name of ['tls13', 'tls12', 'compat']) {
      expect([name, await refusal(pf.portOf(name), TLS11)]).toEqual([name, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'])
      expect([name, await refusal(pf.portOf(name), TLS10)]).toEqual([name, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'])
    }
  })

  it('pilotfish-tls13-2025 refuses a TLS 1.2-max client and negotiates TLS 1.3', async () => {
    expect((await handshake(permissivePort, TLS12)).protocol).toBe('TLSv1.2')
    expect(await refusal(pf.portOf('tls13'), TLS12)).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION')
    expect((await handshake(pf.portOf('tls13'))).protocol).toBe('TLSv1.3')
  })

  it('pilotfish-tls12-2025 (the default) negotiates TLS 1.3, and for TLS 1.2 only AEAD ECDHE suites', async () => {
    const port = pf.portOf('tls12')
    expect((await handshake(port)).protocol).toBe('TLSv1.3')
    // A TLS 1.2 client offering everything gets an AEAD ECDHE suite, the server's choice.
    const broad = await handshake(port, { ...TLS12, ciphers: 'ALL@SECLEVEL=0' })
    expect([broad.protocol, broad.cipher]).toEqual(['TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256'])
    for (const cipher of AEAD) expect((await handshake(port, { ...TLS12, ciphers: cipher })).cipher).toBe(cipher)
    for (const cipher of CBC) {
      expect((await handshake(permissivePort, { ...TLS12, ciphers: cipher })).cipher).toBe(cipher)
      expect([cipher, await refusal(port, { ...TLS12, ciphers: cipher })]).toEqual([cipher, 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE'])
    }
  })

  it('pilotfish-compat-2025 accepts a TLS 1.2 client offering only CBC suites', async () => {
    for (const cipher of CBC) {
      const h = await handshake(pf.portOf('compat'), { ...TLS12, ciphers: cipher })
      expect([h.protocol, h.cipher]).toEqual(['TLSv1.2', cipher])
    }
    expect((await handshake(pf.portOf('compat'))).protocol).toBe('TLSv1.3')
  })

  it('negotiates the post-quantum hybrid X25519MLKEM768 with a default Node client', async () => {
    for (const name of ['tls13', 'tls12', 'compat']) {
      const h = await handshake(pf.portOf(name))
      expect([name, h.group]).toEqual([name, 'X25519MLKEM768'])
    }
  })
})

/** The first bytes a Node client sends: a real ClientHello (SNI a.test), caught by a plain TCP server. */
async function clientHello (): Promise<Buffer> {
  const catcher = net.createServer()
  await new Promise<void>((resolve) => catcher.listen(0, '127.0.0.1', resolve))
  try {
    return await new Promise((resolve) => {
      catcher.once('connection', (s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy() }))
      tls.connect({ host: '127.0.0.1', port: (catcher.address() as net.AddressInfo).port, servername: 'a.test' }).on('error', () => {})
    })
  } finally {
    catcher.close()
  }
}

/**
 * A TCP connection that sends `bytes` (maybe none) at once, or one byte every `dripMs`, and never completes a
 * handshake: `closed` resolves once the listener closes it, with the number of bytes it got back.
 */
function stalled (port: number, bytes: Buffer, dripMs = 0): { closed: Promise<number>, isOpen: () => boolean } {
  let received = 0
  let open = true
  let timer: NodeJS.Timeout | undefined
  const socket = net.connect(port, '127.0.0.1', () => {
    if (dripMs === 0) socket.write(bytes)
    else {
      let i = 0
      timer = setInterval(() => { if (i < bytes.length) socket.write(bytes.subarray(i, ++i)) }, dripMs)
    }
  })
  socket.on('data', (c: Buffer) => { received += c.length })
  socket.on('error', () => {})
  return {
    closed: new Promise((resolve) => socket.on('close', () => { open = false; clearInterval(timer); resolve(received) })),
    isOpen: () => open,
  }
}

/** What `p` settles to, or 'still open' after `ms` (a bound, so a connection never closed fails here, not at the test timeout). */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'still open'> =>
  Promise.race([p, new Promise<'still open'>((resolve) => setTimeout(resolve, ms, 'still open').unref())])

describe('handshake timeout', () => {
  let be: Backend
  let pf: Running
  beforeAll(async () => {
    be = await startBackend('a')
    pf = await startPilotfish({
      listeners: [httpsListener('secure', { certificates: [files('a')] }, { headerTimeoutSeconds: 1 })],
      targetGroups: [{ name: 'a', targets: [{ host: '127.0.0.1', port: be.port }] }],
    })
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('closes a connection that sends nothing, half a ClientHello, or a ClientHello byte by byte after headerTimeoutSeconds; others are served meanwhile', async () => {
    const hello = await clientHello()
    const stalls = [
      stalled(pf.port, Buffer.alloc(0)),
      stalled(pf.port, hello.subarray(0, hello.length >> 1)),
      // Always sending, never done (a ClientHello takes minutes at this pace): the limit is the whole handshake's.
      stalled(pf.port, hello, 100),
    ]
    for (let i = 0; i < 5; i++) expect((await get(pf.port)).status).toBe(200)
    expect(stalls.map((s) => s.isOpen())).toEqual([true, true, true]) // others served while the stalled were waiting
    // Closed by the listener, having got nothing back (no ServerHello to a partial ClientHello).
    expect(await Promise.all(stalls.map((s) => within(s.closed, 10_000)))).toEqual([0, 0, 0])
    expect((await get(pf.port)).status).toBe(200)
  })

  it('serves others while a flood of failed handshakes comes in (not TLS, refused versions), each closed at once', async () => {
    const garbage = Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n') // plain HTTP on the TLS port: not a ClientHello
    const flood = Array.from({ length: 300 }, (_, i) => i % 2 === 0
      ? stalled(pf.port, garbage).closed
      : handshake(pf.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }).then(() => 'handshook', () => 'refused'))
    const served = await Promise.all(Array.from({ length: 10 }, () => get(pf.port).then((r) => r.status)))
    expect(served).toEqual(served.map(() => 200))
    const ends = await Promise.all(flood.map((p) => within(p as Promise<unknown>, 10_000)))
    expect(ends.filter((e) => e === 'still open' || e === 'handshook')).toEqual([])
  })
})

describe('handshake timeout changed by PUT /v1/config', () => {
  it('applies the new headerTimeoutSeconds to the next handshakes of the bound listener', async () => {
    const be = await startBackend('a')
    const config = (headerTimeoutSeconds: number): Record<string, unknown> => ({
      listeners: [httpsListener('secure', { certificates: [files('a')] }, { headerTimeoutSeconds })],
      targetGroups: [{ name: 'a', targets: [{ host: '127.0.0.1', port: be.port }] }],
    })
    const pf = await startPilotfish(config(60))
    try {
      const put = await callJson(`${pf.admin}/v1/config`, 'PUT', { ...config(1), listeners: [{ ...(config(1).listeners as Array<Record<string, unknown>>)[0], port: pf.port }] })
      expect(put.status).toBe(200)
      expect(await within(stalled(pf.port, Buffer.alloc(0)).closed, 10_000)).toBe(0)
      expect((await get(pf.port)).status).toBe(200)
    } finally {
      await pf.stop()
      await be.close()
    }
  })
})

describe('certificate checks and changes', () => {
  let be: Backend
  let pf: Running
  /** Each way a certificate entry can be wrong: the field whose path names it, the file named, what is said of it. */
  const BAD = [
    { cause: 'bad PEM', cert: 'garbage', key: 'a', field: 'certFile', file: 'garbage.pem', says: 'is not a PEM certificate' },
    { cause: 'bad key PEM', cert: 'a', key: 'garbage', field: 'keyFile', file: 'garbage.key', says: 'is not a PEM private key' },
    { cause: 'a key that does not match', cert: 'a', key: 'b', field: 'keyFile', file: 'b.key', says: 'does not match the certificate in \\S*a\\.pem' },
    { cause: 'expired', cert: 'expired', key: 'expired', field: 'certFile', file: 'expired.pem', says: 'expired on ' },
    { cause: 'not yet valid', cert: 'future', key: 'future', field: 'certFile', file: 'future.pem', says: 'is not valid until ' },
    { cause: 'file missing', cert: 'missing', key: 'a', field: 'certFile', file: 'missing.pem', says: 'cannot be read \\(ENOENT\\)' },
  ] as const
  const entry = (bad: typeof BAD[number]): Record<string, string> => files(bad.cert, bad.key)
  /** The problem for BAD entry `bad` at certificates/`n`, its file named as the config gives it (`prefix`: its directory). */
  const problem = (bad: typeof BAD[number], n: number, prefix: string): { path: string, message: unknown } => ({
    path: `/listeners/0/tls/certificates/${n}/${bad.field}`,
    message: expect.stringMatching(new RegExp(`^${(prefix + bad.file).replaceAll('.', '\\.')}: ${bad.says}`)),
  })
  const config = (certificates: unknown[]): Record<string, unknown> => ({
    listeners: [httpsListener('secure', { certificates })],
    targetGroups: [{ name: 'a', targets: [{ host: '127.0.0.1', port: be.port }] }],
  })
  beforeAll(async () => {
    be = await startBackend('a')
    pf = await startPilotfish(config([files('a')]), 2)
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('refuses to start with an invalid certificate, each cause at its path naming the file', async () => {
    const err = await startPilotfish(config([files('a'), ...BAD.map(entry)])).then(async (p) => { await p.stop(); return null }, (e: unknown) => e)
    expect(problemsOf(err)).toEqual(BAD.map((bad, i) => problem(bad, i + 1, `${certsDir}/`)))
  })

  it('fails `pilotfish validate` on an invalid certificate, each cause at its path naming the file as the config does', async () => {
    const relative = (e: Record<string, string>): Record<string, string> =>
      ({ certFile: e.certFile!.replace(`${dir}/`, ''), keyFile: e.keyFile!.replace(`${dir}/`, '') })
    const file = join(dir, 'invalid.yaml')
    writeFileSync(file, stringify(config([relative(files('a')), ...BAD.map((bad) => relative(entry(bad)))])))
    const run = await runCli(['validate', file], 15_000, {}, tmpdir()) // certs/… is found beside the file, not in the working directory
    expect(run.code).toBe(1)
    const lines = [...run.stderr.matchAll(/(\/listeners\/\S+): (.*)/g)].map((m) => ({ path: m[1], message: m[2] }))
    expect(lines).toEqual(BAD.map((bad, i) => problem(bad, i + 1, 'certs/')))
  })

  it('refuses an invalid certificate in PUT /v1/config with 400 at its path naming the file; the running one keeps serving', async () => {
    for (const bad of BAD) {
      const put = await callJson(`${pf.admin}/v1/config`, 'PUT', config([files('a'), entry(bad)]))
      expect([bad.cause, put.status, put.body.problems]).toEqual([bad.cause, 400, [problem(bad, 1, `${certsDir}/`)]])
      expect((await handshake(pf.port, { servername: 'a.test' })).sha256).toBe(sha256('a'))
    }
    expect((await callJson(`${pf.admin}/v1/config`)).body.listeners[0].tls.certificates).toEqual([files('a')])
    expect((await get(pf.port)).status).toBe(200)
  })

  it('serves a certificate changed by PUT /v1/config to new handshakes, while a kept-alive connection carries on', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const first = await get(pf.port, '/one', { agent })
      expect([first.status, first.sha256]).toEqual([200, sha256('a')])
      const put = await callJson(`${pf.admin}/v1/config`, 'PUT', config([files('a2')]))
      expect(put.status).toBe(200)
      // New handshakes, on either shard, get the new certificate.
      for (let i = 0; i < 6; i++) expect((await handshake(pf.port)).sha256).toBe(sha256('a2'))
      // The connection opened before is still up, on the old certificate: no rebind, no close.
      const second = await get(pf.port, '/two', { agent })
      expect([second.status, second.reused, second.localPort, second.sha256]).toEqual([200, true, first.localPort, sha256('a')])
    } finally {
      agent.destroy()
    }
  })
})

describe('https without a tls section', () => {
  it('is refused at /listeners/0/protocol, with a message that mentions the tls section', async () => {
    const be = await startBackend('a')
    try {
      const err = await startPilotfish({
        listeners: [{ name: 'secure', host: '127.0.0.1', port: 0, protocol: 'https', defaultAction: forward('a') }],
        targetGroups: [{ name: 'a', targets: [{ host: '127.0.0.1', port: be.port }] }],
      }).then(async (p) => { await p.stop(); return null }, (e: unknown) => e)
      expect(problemsOf(err)).toEqual([{ path: '/listeners/0/protocol', message: expect.stringMatching(/tls section/) }])
    } finally {
      await be.close()
    }
  })
})
