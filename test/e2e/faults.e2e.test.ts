import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { deadPort, forwardConfig, raw, startBackend, startPilotfish, statuses, type Running } from './harness.ts'

/** A raw TCP target that does whatever `onConnection` says with each connection. */
async function rawTarget (onConnection: (s: net.Socket, data: string) => void): Promise<{ port: number, close: () => void, connections: () => number }> {
  let count = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    count++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => {})
    let buf = ''
    s.on('data', (c) => {
      buf += c.toString('latin1')
      if (buf.includes('\r\n\r\n')) { const b = buf; buf = ''; onConnection(s, b) }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => { for (const s of sockets) s.destroy(); server.close() },
    connections: () => count,
  }
}

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
const ok = (body = 'ok'): string => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`

describe('faults: every failure gets its status, and the proxy keeps serving', () => {
  let pf: Running | null = null
  const closers: Array<() => unknown> = []
  afterEach(async () => {
    await pf?.stop()
    pf = null
    for (const c of closers.splice(0)) await c()
  })

  it('answers 502 when the target refuses the connection', async () => {
    pf = await startPilotfish(forwardConfig([await deadPort()]))
    expect(statuses(await raw(pf.port, GET))).toEqual([502])
  })

  it('answers 502 when the target resets the connection before answering', async () => {
    const t = await rawTarget((s) => s.resetAndDestroy())
    closers.push(t.close)
    pf = await startPilotfish(forwardConfig([t.port]))
    expect(statuses(await raw(pf.port, GET))).toEqual([502])
  })

  it('answers 504 when the target does not answer within the response timeout', async () => {
    const t = await rawTarget(() => {})
    closers.push(t.close)
    pf = await startPilotfish(forwardConfig([t.port], {}, { responseTimeoutSeconds: 0.3 }))
    expect(statuses(await raw(pf.port, GET, 1500))).toEqual([504])
  })

  it('answers 503 when the target group has no targets', async () => {
    pf = await startPilotfish(forwardConfig([]))
    expect(statuses(await raw(pf.port, GET))).toEqual([503])
  })

  it('answers 502 and never reuses a target connection whose response is double-framed', async () => {
    const t = await rawTarget((s, req) => {
      if (req.includes('/bad')) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n')
      else s.write(ok())
    })
    closers.push(t.close)
    pf = await startPilotfish(forwardConfig([t.port]))
    expect(statuses(await raw(pf.port, 'GET /bad HTTP/1.1\r\nHost: x\r\n\r\n'))).toEqual([502])
    expect(statuses(await raw(pf.port, GET))).toEqual([200])
    expect(t.connections()).toBe(2)
  })

  it('answers 502 to a malformed response head', async () => {
    const t = await rawTarget((s) => s.write('HTTP/1.1 200 OK\r\nbad header\r\n\r\n'))
    closers.push(t.close)
    pf = await startPilotfish(forwardConfig([t.port]))
    expect(statuses(await raw(pf.port, GET))).toEqual([502])
  })

  it('drops a target connection that sends bytes after a complete response', async () => {
    const t = await rawTarget((s) => s.write(ok() + 'HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nsmuggled'))
    closers.push(t.close)
    pf = await startPilotfish(forwardConfig([t.port]))
    const text = await raw(pf.port, GET + GET)
    expect(text).not.toContain('smuggled')
    expect(statuses(text)).toEqual([200, 200])
    expect(t.connections()).toBe(2)
  })

  it('retries a body-less GET once on a fresh connection when a reused one was closed by the target', async () => {
    // The target answers, then closes its side after a moment: the next request meets a dead pooled socket.
    let n = 0
    const t = await rawTarget((s) => {
      n++
      s.write(ok(`r${n}`))
      if (n === 1) setTimeout(() => s.destroy(), 50)
    })
    closers.push(t.close)
    pf = await startPilotfish(forwardConfig([t.port], {}, { keepAliveTimeoutSeconds: 60 }))
    expect(await (await fetch(`http://127.0.0.1:${pf.port}/`)).text()).toBe('r1')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await (await fetch(`http://127.0.0.1:${pf.port}/`)).text()).toBe('r2')
  })

  it('rejects an over-large head with 431 and keeps serving', async () => {
    const be = await startBackend()
    closers.push(be.close)
    pf = await startPilotfish(forwardConfig([be.port], { maxHeadBytes: 1024 }))
    expect(statuses(await raw(pf.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`))).toEqual([431])
    expect(statuses(await raw(pf.port, GET))).toEqual([200])
    expect(be.seen.length).toBe(1)
  })

  it('cuts off a client that sends its head too slowly with 408', async () => {
    const be = await startBackend()
    closers.push(be.close)
    pf = await startPilotfish(forwardConfig([be.port], { headerTimeoutSeconds: 0.3 }))
    expect(statuses(await raw(pf.port, 'GET / HTTP/1.1\r\nHost: x\r\n', 2000))).toEqual([408])
    expect(be.seen.length).toBe(0)
  })

  it('cuts off a client that stalls in the middle of its body with 408 and never forwards a partial request as complete', async () => {
    const be = await startBackend()
    closers.push(be.close)
    pf = await startPilotfish(forwardConfig([be.port], { bodyTimeoutSeconds: 0.3 }))
    const text = await raw(pf.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', 2000)
    expect(statuses(text)).toEqual([408])
    expect(be.seen.length).toBe(0)
  })

  it('rejects CONNECT with 405', async () => {
    pf = await startPilotfish(forwardConfig([await deadPort()]))
    expect(statuses(await raw(pf.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'))).toEqual([405])
  })
})

describe('request smuggling: ambiguous framing never reaches a target', () => {
  let pf: Running
  let be: Awaited<ReturnType<typeof startBackend>>
  const cases = [
    { desc: 'Content-Length with Transfer-Encoding', req: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400 },
    { desc: 'two different Content-Lengths', req: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde', status: 400 },
    { desc: 'a signed Content-Length', req: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd', status: 400 },
    { desc: 'Transfer-Encoding other than chunked', req: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', status: 501 },
    { desc: 'Transfer-Encoding on HTTP/1.0', req: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: 400 },
    { desc: 'obs-fold', req: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n', status: 400 },
    { desc: 'bare LF line endings', req: 'GET / HTTP/1.1\nHost: x\n\n', status: 400 },
    { desc: 'whitespace before the colon', req: 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n', status: 400 },
    { desc: 'a missing Host on HTTP/1.1', req: 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', status: 400 },
    { desc: 'two Host fields', req: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', status: 400 },
    { desc: 'a bad chunk size', req: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n', status: 400 },
    { desc: 'a chunk without its CRLF', req: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n', status: 400 },
  ]
  afterAll(async () => { await pf?.stop(); await be?.close() })

  it.each(cases)('rejects $desc with $status and closes', async ({ req, status }) => {
    be ??= await startBackend()
    pf ??= await startPilotfish(forwardConfig([be.port]))
    const before = be.seen.length
    const text = await raw(pf.port, req + GET, 1000)
    expect(statuses(text)).toEqual([status])
    expect(text).toMatch(/connection: close/i)
    // A rejected request, and whatever followed it on the connection, never reach the target.
    expect(be.seen.length).toBe(before)
  })
})
