// Certificate rotation by replacing the files, in place or by rename: every shard serves the new pair to new
// handshakes within 2 s, kept-alive connections carry on, nothing is rebound; an invalid replacement is refused
// and the running certificate keeps serving.
import https from 'node:https'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestCa, type Leaf } from './certs.ts'
import { forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { sleep } from './load.ts'

/** The fingerprint a new handshake gets. */
function served (port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'a.test' }, () => { resolve(s.getPeerCertificate().fingerprint256); s.destroy() })
    s.once('error', reject)
  })
}

/** Waits until `n` handshakes in a row (new connections: both shards) get `want`; false after `ms`. */
async function allServe (port: number, ca: string, want: string, ms: number, n = 8): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const got = await Promise.all(Array.from({ length: n }, () => served(port, ca)))
    if (got.every((g) => g === want)) return true
    await sleep(50)
  }
  return false
}

describe('certificate rotation by file replacement', () => {
  const ca = new TestCa()
  const leaves: Leaf[] = [0, 1, 2].map(() => ca.issue({ cn: 'a.test', sans: ['DNS:a.test'] }))
  const fp = (l: Leaf): string => new X509Certificate(l.cert).fingerprint256
  const dir = mkdtempSync(join(tmpdir(), 'pilotfish-rotate-'))
  const cert = join(dir, 'a.pem')
  const key = join(dir, 'a.key')
  let be: Backend
  let pf: Running
  beforeAll(async () => {
    writeFileSync(cert, leaves[0]!.cert)
    writeFileSync(key, leaves[0]!.key)
    be = await startBackend('be')
    pf = await startPilotfish(forwardConfig([be.port], { protocol: 'https', tls: { certificates: [{ certFile: cert, keyFile: key }] } }), 2)
  })
  afterAll(async () => {
    await pf.stop()
    await be.close()
    ca.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves a pair replaced in place, then by rename, to new handshakes in every shard within 2 s; a kept-alive connection carries on', async () => {
    expect(await served(pf.port, ca.cert)).toBe(fp(leaves[0]!))
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, servername: 'a.test' })
    const get = (): Promise<{ status: number, port: number }> => new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: pf.port, path: '/', agent }, (res) => {
        const port = res.socket.localPort!
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode!, port }))
      }).on('error', reject)
    })
    const before = await get()

    // In place: the key first, then the certificate (a reader in between sees a mismatch, and waits for quiet).
    writeFileSync(key, leaves[1]!.key)
    writeFileSync(cert, leaves[1]!.cert)
    expect(await allServe(pf.port, ca.cert, fp(leaves[1]!), 2000)).toBe(true)
    // By rename, as cert-manager and Kubernetes secret volumes replace files.
    writeFileSync(`${key}.new`, leaves[2]!.key)
    writeFileSync(`${cert}.new`, leaves[2]!.cert)
    renameSync(`${key}.new`, key)
    renameSync(`${cert}.new`, cert)
    expect(await allServe(pf.port, ca.cert, fp(leaves[2]!), 2000)).toBe(true)

    expect(await get()).toEqual(before) // the same kept-alive socket, still served
    agent.destroy()
  })

  it('refuses an invalid replacement: the running certificate keeps serving, and a valid one after it is taken', async () => {
    const running = await served(pf.port, ca.cert)
    writeFileSync(cert, 'not a certificate')
    await sleep(1000)
    expect(await allServe(pf.port, ca.cert, running, 500)).toBe(true)
    const next = leaves.find((l) => fp(l) !== running)!
    writeFileSync(key, next.key)
    writeFileSync(cert, next.cert)
    expect(await allServe(pf.port, ca.cert, fp(next), 2000)).toBe(true)
  })
})
