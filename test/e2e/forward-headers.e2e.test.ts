import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { forwardConfig, raw, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'

/** ALB's X-Forwarded-For modes and Host preservation, as the target sees them. */
describe('X-Forwarded-For modes and Host', () => {
  let be: Backend | null = null
  let pf: Running | null = null
  afterEach(async () => { await pf?.stop(); await be?.close(); pf = null; be = null })

  const seenBy = async (listener: Record<string, unknown>, head: string): Promise<Record<string, string | undefined>> => {
    be = await startBackend()
    pf = await startPilotfish(forwardConfig([be.port], listener))
    await raw(pf.port, `GET / HTTP/1.1\r\nHost: site.test\r\n${head}Connection: close\r\n\r\n`)
    return be.seen[0]!.headers as Record<string, string | undefined>
  }

  it('appends the client address to every X-Forwarded-For field received (append, the default)', async () => {
    const h = await seenBy({}, 'X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 198.51.100.2\r\n')
    expect(h['x-forwarded-for']).toBe('198.51.100.1, 198.51.100.2, 127.0.0.1')
  })

  it('adds the client port when xForwardedClientPort is on', async () => {
    const h = await seenBy({ xForwardedClientPort: true }, '')
    expect(h['x-forwarded-for']).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('passes X-Forwarded-For unchanged in preserve mode', async () => {
    expect((await seenBy({ xForwardedFor: 'preserve' }, 'X-Forwarded-For: 198.51.100.1\r\n'))['x-forwarded-for']).toBe('198.51.100.1')
  })

  it('drops X-Forwarded-For in remove mode', async () => {
    expect((await seenBy({ xForwardedFor: 'remove' }, 'X-Forwarded-For: 198.51.100.1\r\n'))['x-forwarded-for']).toBeUndefined()
  })

  it('sends the target address as Host when preserveHost is off', async () => {
    const h = await seenBy({ preserveHost: false }, '')
    expect(h.host).toBe(`127.0.0.1:${be!.port}`)
  })

  it('uses the authority of an absolute-form target as Host and sends origin-form', async () => {
    be = await startBackend()
    pf = await startPilotfish(forwardConfig([be.port]))
    await raw(pf.port, 'GET http://other.test/p?q=1 HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n')
    expect(be.seen[0]!.url).toBe('/p?q=1')
    expect(be.seen[0]!.headers.host).toBe('other.test')
  })
})

describe('shards', () => {
  it('spreads connections over every shard bound to the same port', async () => {
    const be = await startBackend()
    const pf = await startPilotfish(forwardConfig([be.port], { idleTimeoutSeconds: 30 }), 2)
    const sockets = await Promise.all(Array.from({ length: 32 }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect(pf.port, '127.0.0.1', () => resolve(s))
    })))
    try {
      // The kernel completes the handshake before the shard accepts: wait (bounded) until all are accepted.
      let perShard: number[] = []
      for (let i = 0; i < 100; i++) {
        perShard = (await pf.sidecar.controlPlane.shards.stats()).map((s) => s.listeners[0]!.connections)
        if (perShard.reduce((x, y) => x + y, 0) === 32) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(perShard).toHaveLength(2)
      // 32 connections split by the kernel's reuseport hash: each shard gets some (all on one: p = 2^-31).
      expect(Math.min(...perShard)).toBeGreaterThan(0)
      expect(perShard[0]! + perShard[1]!).toBe(32)
    } finally {
      for (const s of sockets) s.destroy()
      await pf.stop()
      await be.close()
    }
  })
})
