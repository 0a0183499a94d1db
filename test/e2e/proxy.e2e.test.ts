import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forwardConfig, raw, startBackend, startPilotfish, statuses, type Backend, type Running } from './harness.ts'

describe('forwarding over the HTTP/1.1 engine', () => {
  let a: Backend
  let b: Backend
  let pf: Running
  beforeAll(async () => {
    a = await startBackend('a')
    b = await startBackend('b')
    pf = await startPilotfish(forwardConfig([a.port, b.port]))
  })
  afterAll(async () => {
    await pf.stop()
    await a.close()
    await b.close()
  })

  it('forwards a GET and returns the target response', async () => {
    const res = await fetch(`http://127.0.0.1:${pf.port}/hello?x=1`)
    expect(res.status).toBe(200)
    const body = await res.json() as { url: string, method: string }
    expect(body.url).toBe('/hello?x=1')
    expect(body.method).toBe('GET')
  })

  it('spreads requests round robin across targets', async () => {
    const names: string[] = []
    for (let i = 0; i < 4; i++) names.push(((await (await fetch(`http://127.0.0.1:${pf.port}/`)).json()) as { name: string }).name)
    expect(names.filter((n) => n === 'a').length).toBe(2)
    expect(names.filter((n) => n === 'b').length).toBe(2)
  })

  it('sets X-Forwarded-For, -Proto and -Port and preserves Host', async () => {
    const text = await raw(pf.port, 'GET /h HTTP/1.1\r\nHost: example.test:1234\r\nX-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n')
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> }
    expect(body.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1')
    expect(body.headers['x-forwarded-proto']).toBe('http')
    expect(body.headers['x-forwarded-port']).toBe(String(pf.port))
    expect(body.headers.host).toBe('example.test:1234')
  })

  it('removes hop-by-hop fields, including every field named in Connection', async () => {
    const text = await raw(pf.port, 'GET /h HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n')
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> }
    expect(body.headers['x-secret-hop']).toBeUndefined()
    expect(body.headers['keep-alive']).toBeUndefined()
    expect(body.headers.te).toBeUndefined()
    expect(body.headers['x-kept']).toBe('yes')
  })

  it('forwards a chunked request body re-framed as one chunked body', async () => {
    const text = await raw(pf.port, 'POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { body: string, headers: Record<string, string> }
    expect(body.body).toBe('hello world')
    expect(body.headers['transfer-encoding']).toBe('chunked')
    expect(body.headers['content-length']).toBeUndefined()
  })

  it('answers pipelined requests in order on one connection', async () => {
    const req = (p: string): string => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`
    const text = await raw(pf.port, req('/one') + req('/two') + req('/three'))
    expect(statuses(text)).toEqual([200, 200, 200])
    const urls = [...text.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1])
    expect(urls).toEqual(['/one', '/two', '/three'])
  })

  it('keeps the client connection alive across requests', async () => {
    const text = await raw(pf.port, 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(text).not.toMatch(/connection: close/i)
    expect(statuses(text)).toEqual([200])
  })

  it('closes after a response to an HTTP/1.0 request without keep-alive', async () => {
    const text = await raw(pf.port, 'GET /old HTTP/1.0\r\n\r\n', 2000)
    expect(statuses(text)).toEqual([200])
    expect(text).toMatch(/connection: close/i)
  })
})

describe('messages without bodies and interim responses (RFC 9110 / 9112)', () => {
  let be: Backend
  let pf: Running
  beforeAll(async () => {
    be = await startBackend('s', (req, res) => {
      if (req.url === '/204') { res.writeHead(204); res.end(); return }
      if (req.url === '/304') { res.writeHead(304, { etag: '"x"' }); res.end(); return }
      if (req.url === '/103') { res.writeEarlyHints({ link: '</a.css>; rel=preload' }); res.end('after hints'); return }
      res.setHeader('content-length', '11')
      res.end(req.method === 'HEAD' ? undefined : 'hello world')
    })
    pf = await startPilotfish(forwardConfig([be.port]))
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('passes a HEAD response head without waiting for a body', async () => {
    const text = await raw(pf.port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(statuses(text)).toEqual([200, 200])
    expect(text.match(/hello world/g)?.length).toBe(1)
  })

  it('passes 204 and 304 without bodies and keeps the connection', async () => {
    const text = await raw(pf.port, 'GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(statuses(text)).toEqual([204, 304, 200])
  })

  it('relays 103 Early Hints before the final response', async () => {
    const text = await raw(pf.port, 'GET /103 HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(statuses(text)).toEqual([103, 200])
    expect(text).toMatch(/link: <\/a\.css>; rel=preload/i)
  })

  it('relays 100 Continue so an Expect: 100-continue upload proceeds', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const s = net.connect(pf.port, '127.0.0.1')
      let buf = ''
      s.on('connect', () => s.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n'))
      s.on('data', (c: Buffer) => {
        buf += c.toString('latin1')
        if (buf.startsWith('HTTP/1.1 100') && !buf.includes('HTTP/1.1 200')) s.write('hello')
        if (buf.includes('hello world')) { s.destroy(); resolve(buf) }
      })
      s.on('error', reject)
    })
    expect(statuses(got)).toEqual([100, 200])
  })
})

