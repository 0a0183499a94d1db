// The HTTP/1.1 exchange driven from both sides with fakes (test/core/forwarder/fakes.ts): what reaches the
// target, what reaches the client, when connections are reused, and what the access log is told.
import { describe, expect, it } from 'vitest'
import { Exchange } from '../../../core/forwarder/exchange.ts'
import { Outcome } from '../../../core/pipeline.ts'
import { FakeClient, fixture, head } from './fakes.ts'

const GET = 'GET /x?y=1 HTTP/1.1\r\nhost: a.test\r\n\r\n'
const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi'

function start (text: string, f = fixture()) {
  const client = new FakeClient()
  const ex = new Exchange(f.listener, client, head(text))
  ex.start()
  ex.flush()
  return { ex, client, ...f }
}

describe('exchange: forwarding', () => {
  it('writes the rewritten head to the target, relays the response, and returns both connections for reuse', () => {
    const { client, pool, finished, target } = start(GET)
    const conn = pool.last
    expect(conn.written).toBe('GET /x?y=1 HTTP/1.1\r\nhost: a.test\r\nx-forwarded-proto: http\r\nx-forwarded-port: 80\r\n\r\n')
    expect(target.endpoint.inFlight).toBe(1)
    conn.send('HTTP/1.1 200 OK\r\ncontent-', 'length: 2\r\n\r\nh', 'i')
    expect(client.out).toBe(OK)
    expect([conn.released, client.done]).toEqual([true, [true]])
    expect(target.endpoint.inFlight).toBe(0)
    expect(finished.map((r) => [r.status, r.outcome, r.responseBytes, r.ruleName, r.groupName])).toEqual([[200, Outcome.Ok, 2, 'default', 'app']])
  })

  it('relays 1xx interim responses to an HTTP/1.1 client and not to an HTTP/1.0 one', () => {
    const one = start('POST / HTTP/1.1\r\nhost: a\r\nexpect: 100-continue\r\ncontent-length: 1\r\n\r\n')
    one.pool.last.send('HTTP/1.1 100 Continue\r\n\r\n')
    expect(one.client.out).toBe('HTTP/1.1 100 Continue\r\n\r\n')
    expect(one.ex.responseStarted).toBe(false) // an interim response leaves room for the client connection's own 408
    one.ex.sendBody(Buffer.from('x'))
    one.ex.onRequestComplete()
    one.pool.last.send('HTTP/1.1 103 Early Hints\r\nlink: </s>\r\n\r\n' + OK)
    expect(one.client.out).toBe('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </s>\r\n\r\n' + OK)

    const old = start('GET / HTTP/1.0\r\nhost: a\r\n\r\n')
    old.pool.last.send('HTTP/1.1 103 Early Hints\r\n\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')
    expect(old.client.out).toBe('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
  })

  it('turns both connections into a tunnel after a 101 to an upgrade request, bytes after the head included', () => {
    const { ex, client, pool, finished } = start('GET /ws HTTP/1.1\r\nhost: a\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n')
    const conn = pool.last
    expect(conn.written).toContain('connection: upgrade\r\nupgrade: websocket\r\n')
    conn.send('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\nfirst')
    expect(client.tunnel).toBe(true)
    expect(client.out).toBe('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nfirst')
    ex.tunnelWrite(Buffer.from('ping'))
    conn.send('pong')
    expect([conn.written.endsWith('ping'), client.out.endsWith('pong')]).toEqual([true, true])
    expect(conn.timeoutMs).toBe(60000) // the listener's idle timeout, not the response timeout
    conn.close(true)
    expect([conn.released, client.done, finished[0]!.status]).toEqual([false, [false], 101])
  })

  it('refuses a 101 that the request did not ask for', () => {
    const { client, pool, finished } = start(GET)
    pool.last.send('HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\n\r\n')
    expect(client.out).toMatch(/^HTTP\/1.1 502 /)
    expect([pool.last.destroyed, finished[0]!.reason]).toEqual([true, 'target-unrequested-101'])
  })
})

describe('exchange: a reused connection that closes (the stale keep-alive race)', () => {
  function reused (text: string) {
    const f = fixture()
    const stale = f.pool.open() as ReturnType<typeof f.pool.open> & { uses: number }
    ;(stale as unknown as { uses: number }).uses = 1 // it carried a request before
    f.pool.idle.push(f.pool.opened[0]!)
    return { ...start(text, f), stale: f.pool.opened[0]! }
  }

  it('sends a body-less idempotent request once more on a fresh connection', () => {
    const { client, pool, stale } = reused(GET)
    expect(stale.uses).toBe(2)
    stale.close(false)
    expect(pool.opened).toHaveLength(2)
    expect(pool.last.written).toBe(stale.written)
    pool.last.send(OK)
    expect(client.out).toBe(OK)
  })

  it.each([
    { desc: 'a request with a body', text: 'PUT / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\n\r\n' },
    { desc: 'a non-idempotent method', text: 'POST / HTTP/1.1\r\nhost: a\r\n\r\n' },
  ])('does not retry $desc: 502', ({ text }) => {
    const { client, pool, stale, finished } = reused(text)
    stale.close(false)
    expect(pool.opened).toHaveLength(1)
    expect(client.out).toMatch(/^HTTP\/1.1 502 /)
    expect([finished[0]!.outcome, finished[0]!.reason]).toEqual([Outcome.ConnectFailed, 'target-closed-early'])
  })

  it('does not retry after a response byte arrived, nor a second time', () => {
    const a = reused(GET)
    a.stale.close(true)
    expect(a.pool.opened).toHaveLength(1)
    const b = reused(GET)
    b.stale.close(false)
    b.pool.last.uses = 2 // as if the fresh one were reused too: still no third try
    b.pool.last.close(false)
    expect([b.pool.opened.length, b.client.out.startsWith('HTTP/1.1 502 ')]).toEqual([2, true])
  })
})

describe('exchange: endings', () => {
  it('cuts the client off when the response is cut short, never reusing either connection', () => {
    const { client, pool, finished } = start(GET)
    pool.last.send('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf')
    pool.last.close(true)
    expect([client.destroyed, client.done, pool.last.released]).toEqual([true, [false], false])
    expect([finished[0]!.status, finished[0]!.outcome, finished[0]!.reason]).toEqual([200, Outcome.ConnectFailed, 'target-closed-early'])
  })

  it('closes both connections when the response is complete before the request body', () => {
    const { ex, client, pool, finished } = start('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\n')
    ex.sendBody(Buffer.from('abc'))
    pool.last.send('HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\n\r\n')
    expect(client.out).toBe('HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    expect([pool.last.destroyed, client.done]).toEqual([true, []]) // the client connection still owns the body
    ex.onRequestComplete()
    expect([client.done, finished[0]!.requestBytes]).toEqual([[false], 3])
  })

  it('never reuses a target connection that sent bytes after a complete response', () => {
    const { client, pool } = start(GET)
    pool.last.send(OK + 'HTTP/1.1 200 OK\r\n')
    expect([client.out, pool.last.destroyed, pool.last.released, client.done]).toEqual([OK, true, false, [true]])
  })

  it('answers a fixed response itself, reading and dropping the body, and keeps the connection', () => {
    const reply = { name: 'teapot', priority: 1, index: 0, action: { type: 'fixed-response', statusCode: 418, contentType: 'text/plain', body: Buffer.from('tea'), head: 'HTTP/1.1 418 I\'m a Teapot\r\ncontent-length: 3\r\n' } } as const
    const f = fixture({ rules: () => ({ rules: [reply], match: () => reply }) })
    const { ex, client, pool, finished } = start('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\n\r\n', f)
    expect(client.out).toBe('HTTP/1.1 418 I\'m a Teapot\r\ncontent-length: 3\r\n\r\ntea')
    expect(ex.responseStarted).toBe(true)
    expect(ex.sendBody(Buffer.from('zz'))).toBe(true)
    ex.onRequestComplete()
    expect([pool.opened.length, client.done, finished[0]!.status, finished[0]!.ruleName]).toEqual([0, [true], 418, 'teapot'])
  })

  it('answers 503 itself when the group has no eligible target', () => {
    const f = fixture()
    f.target.eligible = false
    const { client, finished } = start(GET, f)
    expect(client.out).toMatch(/^HTTP\/1.1 503 Service Unavailable\r\n/)
    expect([finished[0]!.outcome, finished[0]!.reason, client.done]).toEqual([Outcome.NoTarget, 'no-eligible-target', [true]])
  })

  it('answers 504 when the target does not answer in time, and tells a connect timeout apart', () => {
    const a = start(GET)
    a.pool.last.user!.onTargetTimeout()
    expect([a.client.out.startsWith('HTTP/1.1 504 '), a.finished[0]!.reason, a.pool.last.destroyed]).toEqual([true, 'target-timeout', true])
    const f = fixture()
    const b = start(GET, f)
    b.pool.last.connected = false
    b.pool.last.user!.onTargetTimeout()
    expect(b.finished[0]!.reason).toBe('target-connect-timeout')
  })
})

describe('exchange: a hook that answers with a promise', () => {
  it('parks the decision with the client body held, then sends head and body in order', async () => {
    let release: () => void = () => {}
    const f = fixture({ hooks: { onRequest: () => new Promise<undefined>((resolve) => { release = () => resolve(undefined) }) } })
    const { ex, client, pool } = start('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 6\r\n\r\n', f)
    expect(pool.opened).toHaveLength(0)
    expect(ex.sendBody(Buffer.from('abc'))).toBe(false) // the client connection pauses
    release()
    await new Promise((resolve) => setImmediate(resolve))
    expect(pool.last.written).toMatch(/^POST \/ HTTP\/1.1\r\n[^]*\r\n\r\nabc$/)
    expect(client.paused).toBe(false)
    ex.sendBody(Buffer.from('def'))
    ex.onRequestComplete()
    pool.last.send(OK)
    expect(pool.last.written.endsWith('abcdef')).toBe(true)
    expect(client.out).toBe(OK)
  })

  it('fails the request when the hook outlives its timeout (fail-closed), dropping the held body', async () => {
    const f = fixture({ hooks: { onRequest: () => new Promise<undefined>(() => {}) }, timeoutMs: 5 })
    const { ex, client, pool, finished } = start('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\n', f)
    ex.sendBody(Buffer.from('abc'))
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(client.out).toMatch(/^HTTP\/1.1 500 [^]*connection: close\r\n/)
    expect([pool.opened.length, finished[0]!.reason, client.done]).toEqual([0, 'plugin-failed:test', [false]])
  })

  it('decides nothing when the client went away while the hook was awaited', async () => {
    let release: () => void = () => {}
    const f = fixture({ hooks: { route: undefined, onRequest: () => new Promise<undefined>((resolve) => { release = () => resolve(undefined) }) } })
    const { ex, pool, finished } = start(GET, f)
    ex.abort('client-closed')
    release()
    await new Promise((resolve) => setImmediate(resolve))
    expect([pool.opened.length, finished.length, finished[0]!.outcome]).toEqual([0, 1, Outcome.ClientAborted])
  })
})
