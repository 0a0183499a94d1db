// TLS session resumption on an https listener with several shards: the leader's ticket keys are every shard's,
// so a client resumes on whichever shard its next connection lands.
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certificate } from './certs.ts'
import { forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'

/**
 * A connection that sends one request (TLS 1.3 unless `maxVersion` says otherwise); resolves once the response
 * begins, with whether the handshake resumed and the newest ticket (the one given, when no new one came).
 */
function handshake (port: number, ca: string, session?: Buffer, maxVersion: tls.SecureVersion = 'TLSv1.3'): Promise<{ reused: boolean, session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, session, maxVersion })
    let ticket = session
    let reused = false
    s.on('session', (t: Buffer) => { ticket = t })
    s.once('secureConnect', () => { reused = s.isSessionReused(); s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n') })
    s.once('data', () => { s.destroy(); resolve({ reused, session: ticket }) })
    s.once('error', reject)
  })
}

describe('session resumption across shards', () => {
  let be: Backend
  let pf: Running
  const c = certificate()
  beforeAll(async () => {
    be = await startBackend('be')
    pf = await startPilotfish(forwardConfig([be.port], { protocol: 'https', tls: { certificates: [{ cert: c.cert, key: c.key }] } }), 2)
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('resumes every new connection with the ticket of the first, whichever shard each lands on (TLS 1.3 and 1.2)', async () => {
    for (const v of ['TLSv1.3', 'TLSv1.2'] as const) {
      // The leader's keys reach every shard a moment after start: the first ticket is taken once they have.
      let first = await handshake(pf.port, c.cert, undefined, v)
      for (let i = 0; i < 20 && !(await handshake(pf.port, c.cert, first.session, v)).reused; i++) first = await handshake(pf.port, c.cert, undefined, v)
      const results: boolean[] = []
      for (let i = 0; i < 16; i++) results.push((await handshake(pf.port, c.cert, first.session, v)).reused)
      // reusePort spreads 16 new connections over both shards: with keys of its own, a shard would refuse half.
      expect(results, v).toEqual(results.map(() => true))
    }
  })
})
