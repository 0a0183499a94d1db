// A listener's security group (allowFrom) in a running sidecar: a peer outside it is closed at accept, before a
// byte is read, on the core's http listener and on listener kinds that plugins provide. Only loopback is used:
// 127.0.0.2 is as much loopback as 127.0.0.1, so a client bound to it is "another host".
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { fileURLToPath } from 'node:url'
import { certificate } from './certs.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callJson, forwardConfig, startBackend, type Backend, type Running, startPilotfish } from './harness.ts'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/plugins/${name}.ts`, import.meta.url))
const REQUEST = 'GET /who HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'

/** Connects from `from`, sends `bytes` at once, and returns everything received until the proxy closes. */
function roundTrip (port: number, from: string, bytes = REQUEST, host = from.includes(':') ? '::1' : '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host, localAddress: from })
    const chunks: Buffer[] = []
    socket.on('connect', () => socket.write(bytes))
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => {}) // a refused peer may see ECONNRESET or EPIPE: 'close' follows either way
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
  })
}

const status = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)

/** pilotfish_connections_refused_total for a listener, as /metrics renders it (0 when absent). */
async function refused (pf: Running, listener: string): Promise<number> {
  const text = await (await fetch(`${pf.admin}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('pilotfish_connections_refused_total{') && l.includes(`listener="${listener}"`))
  if (line === undefined) return 0
  expect(line).toContain('reason="allow_from"')
  return Number(line.slice(line.lastIndexOf(' ') + 1))
}

async function setAllowFrom (pf: Running, listener: number, allowFrom: string[] | undefined): Promise<void> {
  const cfg = (await callJson(`${pf.admin}/v1/config`)).body
  if (allowFrom === undefined) delete cfg.listeners[listener].allowFrom
  else cfg.listeners[listener].allowFrom = allowFrom
  const r = await callJson(`${pf.admin}/v1/config`, 'PUT', cfg)
  expect(r.status, JSON.stringify(r.body)).toBe(200)
}

const hasIPv6 = await new Promise<boolean>((resolve) => {
  const s = net.createServer().once('error', () => resolve(false))
  s.listen(0, '::1', () => s.close(() => resolve(true)))
})

describe('allowFrom on an http listener', () => {
  let be: Backend, pf: Running
  beforeAll(async () => {
    be = await startBackend('be')
    const base = forwardConfig([be.port], { allowFrom: ['127.0.0.2/32'] })
    const listener = (base.listeners as Array<Record<string, unknown>>)[0]!
    pf = await startPilotfish({
      ...base,
      listeners: [
        listener,
        // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; they must match the IPv4 blocks.
        { ...listener, name: 'mapped', host: '::ffff:127.0.0.1', allowFrom: ['127.0.0.2'] },
        ...(hasIPv6 ? [{ ...listener, name: 'v6', host: '::1', allowFrom: ['127.0.0.0/8'] }] : []),
      ],
    }, 2)
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('closes a connection from outside at accept: no response, nothing forwarded, counted', async () => {
    for (let i = 0; i < 4; i++) expect(await roundTrip(pf.port, '127.0.0.1')).toBe('')
    expect(be.seen).toEqual([])
    expect(await refused(pf, 'web')).toBe(4) // across both shards
  })

  it('serves a client from an allowed address', async () => {
    const text = await roundTrip(pf.port, '127.0.0.2')
    expect(status(text)).toBe(200)
    expect(be.seen.map((r) => r.url)).toEqual(['/who'])
    expect(await refused(pf, 'web')).toBe(4)
  })

  it('matches IPv4-mapped IPv6 peers of a dual-stack socket against IPv4 blocks', async () => {
    const port = pf.portOf('mapped')
    expect(await roundTrip(port, '127.0.0.1')).toBe('')
    expect(status(await roundTrip(port, '127.0.0.2'))).toBe(200)
    expect(await refused(pf, 'mapped')).toBe(1)
  })

  it('refuses an IPv6 peer that only IPv4 blocks name, and serves it once ::1 is allowed', async (ctx) => {
    if (!hasIPv6) ctx.skip()
    const port = pf.portOf('v6')
    expect(await roundTrip(port, '::1')).toBe('')
    expect(await refused(pf, 'v6')).toBe(1)
    await setAllowFrom(pf, 2, ['::1'])
    expect(status(await roundTrip(port, '::1'))).toBe(200)
  })

  it('applies a reloaded allowFrom to new connections, and leaves open ones open', async () => {
    const kept = net.connect({ port: pf.port, host: '127.0.0.1', localAddress: '127.0.0.2' })
    const replies: string[] = []
    kept.on('data', (c: Buffer) => replies.push(c.toString('latin1')))
    const ask = async (): Promise<void> => {
      const before = replies.join('').length
      kept.write('GET /kept HTTP/1.1\r\nhost: x\r\n\r\n')
      while (!/\r\n\r\n[\s\S]*\}$/.test(replies.join('').slice(before))) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await ask()
    await setAllowFrom(pf, 0, ['127.0.0.1'])
    const before = await refused(pf, 'web')
    expect(status(await roundTrip(pf.port, '127.0.0.1'))).toBe(200)
    expect(await roundTrip(pf.port, '127.0.0.2')).toBe('')
    expect(await refused(pf, 'web')).toBe(before + 1)
    await ask() // the connection accepted before the change still gets answers
    expect(replies.join('').match(/HTTP\/1\.1 200/g)).toHaveLength(2)
    kept.destroy()
    await setAllowFrom(pf, 0, undefined) // absent: everyone
    expect(status(await roundTrip(pf.port, '127.0.0.2'))).toBe(200)
    expect(status(await roundTrip(pf.port, '127.0.0.1'))).toBe(200)
  })
})


describe('allowFrom on listener kinds from plugins', () => {
  let be: Backend, pf: Running, echo: net.Server
  const cert = certificate()
  beforeAll(async () => {
    be = await startBackend('be')
    echo = net.createServer((s) => s.on('data', (d) => s.end(`echo:${d.toString()}`)))
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
    const base = forwardConfig([be.port], { protocol: 'https', plugins: ['tls'], allowFrom: ['127.0.0.2'] })
    pf = await startPilotfish({
      listeners: [
        ...(base.listeners as unknown[]),
        { name: 'tcp', host: '127.0.0.1', port: 0, protocol: 'tcp', plugins: ['tcp'], allowFrom: ['127.0.0.2'], defaultAction: { type: 'fixed-response', statusCode: 404 } },
      ],
      targetGroups: [...(base.targetGroups as unknown[]), { name: 'echo', targets: [{ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port }] }],
      plugins: [
        { name: 'tls', from: fixture('tls-lite'), config: cert },
        { name: 'tcp', from: fixture('tcp-lite'), config: { targetGroup: 'echo' } },
      ],
    }, 2)
  })
  afterAll(async () => { await pf.stop(); await be.close(); echo.close() })

  it('a TLS kind refuses the peer before the handshake: no secure connection, nothing forwarded, counted', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ port: pf.port, host: '127.0.0.1', ca: cert.cert }) // from 127.0.0.1
      s.once('secureConnect', () => { resolve('handshake completed'); s.destroy() })
      s.once('error', () => resolve('closed'))
      s.once('close', () => resolve('closed'))
    })
    expect(outcome).toBe('closed')
    expect(be.seen).toEqual([])
    expect(await refused(pf, 'web')).toBe(1)
  })

  it('a TLS kind serves an allowed peer', async () => {
    const res = await new Promise<{ status: number, body: string }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: pf.port, path: '/secure', localAddress: '127.0.0.2', ca: cert.cert, agent: false }, (r) => {
        let body = ''
        r.on('data', (c: Buffer) => { body += c.toString() })
        r.on('end', () => resolve({ status: r.statusCode!, body }))
      })
      req.on('error', reject)
    })
    expect(res.status).toBe(200)
    expect((JSON.parse(res.body) as { url: string }).url).toBe('/secure')
    expect(await refused(pf, 'web')).toBe(1)
  })

  it('an L4 kind refuses the peer before a target is picked, and passes an allowed one through', async () => {
    const port = pf.portOf('tcp')
    expect(await roundTrip(port, '127.0.0.1', 'ping')).toBe('')
    expect(await roundTrip(port, '127.0.0.2', 'ping')).toBe('echo:ping')
    expect(await refused(pf, 'tcp')).toBe(1)
  })

  it('a reloaded allowFrom reaches the plugin kind\'s next connections', async () => {
    await setAllowFrom(pf, 1, ['127.0.0.1'])
    const port = pf.portOf('tcp')
    expect(await roundTrip(port, '127.0.0.1', 'ping')).toBe('echo:ping')
    expect(await roundTrip(port, '127.0.0.2', 'ping')).toBe('')
    expect(await refused(pf, 'tcp')).toBe(2)
  })
})
