import net, { type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { forwardConfig, raw, startBackend, startPilotfish, statuses, type Backend, type Running } from './harness.ts'

describe('WebSocket and Upgrade pass-through', () => {
  let be: Backend
  let wss: WebSocketServer
  let pf: Running
  beforeAll(async () => {
    be = await startBackend('ws')
    wss = new WebSocketServer({ server: be.server })
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.headers['x-forwarded-for']}`)
      ws.on('message', (data) => ws.send(`echo ${data.toString()}`))
    })
    pf = await startPilotfish(forwardConfig([be.port]))
  })
  afterAll(async () => { await pf.stop(); wss.close(); await be.close() })

  it('echoes messages through the proxy after the 101', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${pf.port}/chat`)
    const got: string[] = []
    await new Promise<void>((resolve, reject) => {
      ws.onmessage = (e) => {
        got.push(String(e.data))
        if (got.length === 1) ws.send('one')
        else if (got.length === 2) ws.send('two')
        else { ws.close(); resolve() }
      }
      ws.onerror = () => reject(new Error('websocket error'))
    })
    expect(got).toEqual(['hello 127.0.0.1', 'echo one', 'echo two'])
  })

  it('does not upgrade when Connection does not list upgrade', async () => {
    const text = await raw(pf.port, 'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    // The target sees a plain GET (the Upgrade field is hop-by-hop and goes), so it answers it as one.
    expect(statuses(text)).toEqual([200])
    expect(be.seen.at(-1)?.headers.upgrade).toBeUndefined()
  })
})

describe('WebSocket to a sticky group', () => {
  const names = ['ws-a', 'ws-b', 'ws-c']
  let backends: Backend[]
  let pf: Running
  beforeAll(async () => {
    backends = await Promise.all(names.map((n) => startBackend(n)))
    for (const [i, be] of backends.entries()) new WebSocketServer({ server: be.server }).on('connection', (ws) => ws.send(names[i]!))
    pf = await startPilotfish({
      ...forwardConfig(backends.map((b) => b.port), {}, { stickiness: { type: 'lb_cookie' } }),
      stickiness: { keys: ['w'.repeat(32)] },
    })
  })
  afterAll(async () => { await pf.stop(); for (const be of backends) await be.close() })

  const upgrade = (cookie = ''): Promise<string> => raw(pf.port, 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${cookie === '' ? '' : `Cookie: ${cookie}\r\n`}\r\n`)

  it('carries the sticky cookie on the 101, so a reconnect with it reaches the same target', async () => {
    const first = await upgrade()
    expect(first).toMatch(/^HTTP\/1\.1 101 /)
    const cookie = /\r\nset-cookie: (PILOTFISH=[^;\r]+)/i.exec(first)?.[1]
    expect(cookie).toBeDefined()
    const target = names.find((n) => first.includes(n))
    expect(target).toBeDefined()
    for (let i = 0; i < 4; i++) {
      const again = await upgrade(cookie)
      expect(names.filter((n) => again.includes(n))).toEqual([target])
    }
  })
})

/** A target that speaks h2c: it switches protocols whenever a request offers it, as an HTTP/2 server may. */
function startH2cTarget (): Promise<{ server: net.Server, heads: string[] }> {
  const heads: string[] = []
  const server = net.createServer((socket) => {
    let buf = ''
    socket.on('error', () => {})
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1')
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = buf.slice(0, end)
      buf = buf.slice(end + 4)
      heads.push(head)
      if (/^upgrade:.*h2c/im.test(head)) socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00')
      else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nplain')
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, heads })))
}

describe('h2c upgrades (never forwarded: h2c smuggling)', () => {
  let target: Awaited<ReturnType<typeof startH2cTarget>>
  let pf: Running
  beforeAll(async () => {
    target = await startH2cTarget()
    pf = await startPilotfish(forwardConfig([(target.server.address() as AddressInfo).port]))
  })
  afterAll(async () => { await pf.stop(); target.server.close() })

  it.each([
    { desc: 'Upgrade: h2c with HTTP2-Settings', fields: 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n' },
    { desc: 'h2c offered beside websocket', fields: 'Connection: upgrade\r\nUpgrade: websocket, H2C\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n' },
    { desc: 'HTTP2-Settings not named in Connection', fields: 'Connection: upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n' },
  ])('forwards $desc as a plain HTTP/1.1 request, without the upgrade', async ({ fields }) => {
    const text = await raw(pf.port, `GET /h2c HTTP/1.1\r\nHost: x\r\n${fields}\r\n`)
    expect(statuses(text)).toEqual([200])
    expect(text).toContain('plain')
    const seen = target.heads.at(-1)!
    expect(seen).toMatch(/^GET \/h2c HTTP\/1\.1\r\n/)
    expect(seen).not.toMatch(/^(upgrade|http2-settings):/im)
    expect(seen).not.toMatch(/^connection:.*upgrade/im)
  })
})
