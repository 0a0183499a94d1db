// The probe task against real servers on 127.0.0.1: what passes, and the ALB reason of each way to fail.
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadPort } from '../../e2e/harness.ts'
import probe, { type ProbeRequest } from '../../../plugins/health-check/probe.task.ts'

interface Seen { method: string, url: string, host: string, userAgent: string, remotePort: number }

let server: http.Server
let port: number
const seen: Seen[] = []

async function listen (s: net.Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  return (s.address() as AddressInfo).port
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, host: req.headers.host!, userAgent: req.headers['user-agent']!, remotePort: req.socket.remotePort! })
    const status = Number(/^\/status\/(\d+)/.exec(req.url!)?.[1] ?? 200)
    if (req.url === '/slow') return void setTimeout(() => res.end('late'), 3000)
    if (req.url === '/big') return void res.end(Buffer.alloc(1024 * 1024, 'x'))
    res.writeHead(status, { 'content-type': 'text/plain' }).end('ok')
  })
  port = await listen(server)
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const req = (over: Partial<ProbeRequest>): ProbeRequest => ({
  protocol: 'http', host: '127.0.0.1', port, path: '/', matcher: '200', timeoutMs: 1000, ...over,
})

describe('http probe', () => {
  it('passes on a status the matcher accepts, with a GET of the path, the Host of the target and its user agent', async () => {
    seen.length = 0
    expect(await probe(req({ path: '/health?deep=1' }))).toEqual({ ok: true })
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/health?deep=1', host: `127.0.0.1:${port}`, userAgent: 'Pilotfish-HealthChecker/1.0' })
  })

  it('fails a status outside the matcher with Target.ResponseCodeMismatch naming the code', async () => {
    expect(await probe(req({ path: '/status/503' }))).toEqual({
      ok: false, reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [503]',
    })
  })

  it.each([
    { matcher: '200-299', path: '/status/204', ok: true },
    { matcher: '200,302', path: '/status/302', ok: true },
    { matcher: '200,302', path: '/status/301', ok: false },
    { matcher: '200-299', path: '/status/300', ok: false },
    { matcher: '404', path: '/status/404', ok: true },
  ])('matcher $matcher on $path: ok $ok', async ({ matcher, path, ok }) => {
    expect((await probe(req({ matcher, path }))).ok).toBe(ok)
  })

  it('opens a new connection for every probe', async () => {
    seen.length = 0
    await probe(req({}))
    await probe(req({}))
    expect(seen).toHaveLength(2)
    expect(seen[0]!.remotePort).not.toBe(seen[1]!.remotePort)
  })

  it('reads a large body through and still passes', async () => {
    expect(await probe(req({ path: '/big' }))).toEqual({ ok: true })
  })

  it('fails a response slower than the timeout with Target.Timeout, within about the timeout', async () => {
    const started = Date.now()
    expect(await probe(req({ path: '/slow', timeoutMs: 300 }))).toMatchObject({ ok: false, reason: 'Target.Timeout' })
    expect(Date.now() - started).toBeLessThan(2500) // the server answers at 3000 ms
  })

  it('fails a closed port with Target.ConnectionRefused', async () => {
    expect(await probe(req({ port: await deadPort() }))).toMatchObject({ ok: false, reason: 'Target.ConnectionRefused' })
  })

  it('fails a connection closed without a response with Target.FailedHealthChecks and the error', async () => {
    const rude = net.createServer((s) => s.destroy())
    const p = await listen(rude)
    const r = await probe(req({ port: p }))
    rude.close()
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.reason).toBe('Target.FailedHealthChecks')
      expect(r.description.length).toBeGreaterThan(0)
    }
  })
})

describe('tcp probe', () => {
  it('passes when a connection opens, without sending anything', async () => {
    let got = 0
    const tcp = net.createServer((s) => { s.on('data', (d) => { got += d.length }); s.on('error', () => {}) })
    const p = await listen(tcp)
    expect(await probe(req({ protocol: 'tcp', port: p }))).toEqual({ ok: true })
    await new Promise((resolve) => setTimeout(resolve, 50))
    tcp.close()
    expect(got).toBe(0)
  })

  it('fails a closed port with Target.ConnectionRefused', async () => {
    expect(await probe(req({ protocol: 'tcp', port: await deadPort() }))).toMatchObject({ ok: false, reason: 'Target.ConnectionRefused' })
  })
})
