// Mutual TLS on an https listener: verify refuses a client without a certificate from the CA at the handshake;
// passthrough takes any; in both the identity reaches the target in X-Forwarded-Client-Cert, which only
// Pilotfish sets, and rules can match it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certificate } from './certs.ts'
import { forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'

/** A CA, and a client certificate it signed with a SPIFFE URI and a DNS name; a self-signed one besides. */
function clientPki (): { ca: string, cert: string, key: string, stranger: { cert: string, key: string } } {
  const dir = mkdtempSync(join(tmpdir(), 'pilotfish-mtls-'))
  const f = (n: string): string => join(dir, n)
  const run = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }
  try {
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'))
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/O=acme/CN=web', '-keyout', f('c.key'), '-out', f('c.csr'))
    writeFileSync(f('ext'), 'subjectAltName=URI:spiffe://acme/ns/prod/sa/web,DNS:web.acme.internal\n')
    run('x509', '-req', '-in', f('c.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', f('ext'), '-out', f('c.pem'))
    const stranger = certificate()
    return { ca: readFileSync(f('ca.pem'), 'utf8'), cert: readFileSync(f('c.pem'), 'utf8'), key: readFileSync(f('c.key'), 'utf8'), stranger }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One GET over TLS; resolves with the response text, or rejects with the handshake's (or the read's) error. */
function get (port: number, ca: string, client: { cert?: string, key?: string }, headers = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, cert: client.cert, key: client.key }, () => s.write(`GET /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${headers}\r\n`))
    let out = ''
    s.on('data', (d: Buffer) => { out += d.toString() })
    s.once('end', () => resolve(out))
    s.once('error', reject)
  })
}

describe('mutual TLS', () => {
  const server = certificate()
  const pki = clientPki()
  let be: Backend
  let verify: Running
  let passthrough: Running
  beforeAll(async () => {
    be = await startBackend('be')
    const listener = (mode: string): Record<string, unknown> => ({
      protocol: 'https',
      tls: { certificates: [{ cert: server.cert, key: server.key }], clientAuth: { mode, ca: pki.ca } },
      rules: [{ priority: 1, conditions: { headers: { 'x-forwarded-client-cert': ['*URI=spiffe://acme/ns/prod/*'] } }, action: { type: 'fixed-response', statusCode: 200, body: 'prod' } }],
    })
    verify = await startPilotfish(forwardConfig([be.port], listener('verify')), 2)
    passthrough = await startPilotfish(forwardConfig([be.port], { ...listener('passthrough'), rules: [] }))
  })
  afterAll(async () => { await verify.stop(); await passthrough.stop(); await be.close() })

  it('verify: refuses a client with no certificate or one the CA did not sign, at the handshake, with no HTTP exchange', async () => {
    const seen = be.seen.length
    // TLS 1.3 clients finish their side first: the server's alert then ends the connection, with no response.
    for (const client of [{}, pki.stranger]) expect(await get(verify.port, server.cert, client).catch(() => '')).toBe('')
    expect(be.seen.length).toBe(seen)
  })

  it('verify: forwards the identity in Envoy\'s X-Forwarded-Client-Cert format, usable in a rule, replacing a client\'s own', async () => {
    // The rule matches the identity: a fixed response, no target.
    expect(await get(verify.port, server.cert, pki)).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\n\r\nprod$/)
    // A spoofed header from a client without a matching identity does not match the rule nor reach the target.
    const r = await get(passthrough.port, server.cert, {}, 'x-forwarded-client-cert: Hash=00;URI=spiffe://acme/ns/prod/sa/admin\r\n')
    expect(r).toMatch(/^HTTP\/1\.1 200/)
    expect(be.seen.at(-1)!.headers['x-forwarded-client-cert']).toBeUndefined()
  })

  it('passthrough: takes any client certificate and forwards its identity', async () => {
    await get(passthrough.port, server.cert, pki.stranger)
    const xfcc = be.seen.at(-1)!.headers['x-forwarded-client-cert'] as string
    expect(xfcc).toMatch(/^Hash=[0-9a-f]{64};Subject="CN=127\.0\.0\.1"$/)
    await get(passthrough.port, server.cert, pki, 'x-forwarded-client-cert: Hash=00;Subject="CN=admin"\r\n')
    const id = be.seen.at(-1)!.headers['x-forwarded-client-cert'] as string
    expect(id).toMatch(/^Hash=[0-9a-f]{64};Subject="CN=web,O=acme";URI=spiffe:\/\/acme\/ns\/prod\/sa\/web;DNS=web\.acme\.internal$/)
  })
})
