import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callJson, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { sleep, underLoad } from './load.ts'

describe('changes under load fail zero requests', () => {
  let a: Backend
  let b: Backend
  let pf: Running
  beforeAll(async () => {
    a = await startBackend('a')
    b = await startBackend('b')
    pf = await startPilotfish(forwardConfig([a.port]), 2)
  })
  afterAll(async () => { await pf.stop(); await a.close(); await b.close() })

  it('swaps the whole config repeatedly while keep-alive and new-connection clients run', async () => {
    const result = await underLoad(pf.port, async () => {
      for (let i = 0; i < 10; i++) {
        await sleep(100)
        const ports = i % 2 === 0 ? [b.port] : [a.port, b.port]
        const res = await callJson(`${pf.admin}/v1/config`, 'PUT', { ...forwardConfig(ports, {}, { algorithm: i % 3 === 0 ? 'least_outstanding_requests' : 'round_robin' }), admin: { host: '127.0.0.1', port: 0 } })
        expect(res.status).toBe(200)
      }
      await sleep(100)
    })
    expect(result.errors).toEqual([])
    expect(result.failed).toBe(0)
    expect(result.ok).toBeGreaterThan(100)
    // Both configs served: the swap really happened under the load.
    expect(result.byName.get('a')).toBeGreaterThan(0)
    expect(result.byName.get('b')).toBeGreaterThan(0)
  })

  it('deregisters and registers targets while clients run', async () => {
    const result = await underLoad(pf.port, async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(100)
        expect((await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${a.port}`, 'DELETE')).status).toBe(200)
        await sleep(100)
        const res = await callJson(`${pf.admin}/v1/target-groups/app/targets`, 'POST', { host: '127.0.0.1', port: a.port })
        expect(res.status).toBe(201)
      }
    })
    expect(result.errors).toEqual([])
    expect(result.failed).toBe(0)
    expect(result.ok).toBeGreaterThan(50)
  })
})

describe('deregistration delay (ALB connection draining)', () => {
  it('lets an in-flight request to a deregistered target finish, then drops the target once it is idle', async () => {
    let release: () => void = () => {}
    const slow = await startBackend('slow', (_req, res) => {
      release = () => res.end(JSON.stringify({ name: 'slow' }))
    })
    const pf = await startPilotfish(forwardConfig([slow.port]), 1)
    try {
      const pending = fetch(`http://127.0.0.1:${pf.port}/`).then(async (r) => ({ status: r.status, body: await r.text() }))
      while (slow.seen.length === 0) await sleep(10)
      expect((await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${slow.port}`, 'DELETE')).status).toBe(200)
      const draining = await (await fetch(`${pf.admin}/v1/target-groups/app`)).json() as { targets: Array<{ state: string, inFlight: number }> }
      expect(draining.targets).toEqual([expect.objectContaining({ state: 'draining', inFlight: 1 })])
      // New requests do not go to a draining target.
      expect((await fetch(`http://127.0.0.1:${pf.port}/`)).status).toBe(503)
      release()
      expect(await pending).toEqual({ status: 200, body: '{"name":"slow"}' })
      let targets: unknown[] = [1]
      for (let i = 0; i < 100 && targets.length > 0; i++) {
        await sleep(50)
        targets = ((await (await fetch(`${pf.admin}/v1/target-groups/app`)).json()) as { targets: unknown[] }).targets
      }
      expect(targets).toEqual([])
    } finally {
      await pf.stop()
      await slow.close()
    }
  })
})

describe('shard failure', () => {
  it('replaces a shard that dies while the other keeps serving, with no failed request on the survivor', async () => {
    const be = await startBackend('a')
    const pf = await startPilotfish(forwardConfig([be.port]), 2)
    try {
      const result = await underLoad(pf.port, async () => {
        await sleep(100)
        await pf.sidecar.controlPlane.shards.kill(0)
        await sleep(300)
      })
      // Requests in flight on the killed shard may fail (their connections die with it); the rest must not.
      expect(result.ok).toBeGreaterThan(50)
      for (let i = 0; i < 100 && pf.sidecar.controlPlane.shards.restarts === 0; i++) await sleep(20)
      expect(pf.sidecar.controlPlane.shards.restarts).toBe(1)
      // The replacement serves: after it has bound, fresh connections all succeed.
      await sleep(200)
      const after = await underLoad(pf.port, () => sleep(300))
      expect(after.errors).toEqual([])
      const stats = await pf.sidecar.controlPlane.shards.stats()
      expect(stats.map((s) => s.listeners.map((l) => l.port))).toEqual([[pf.port], [pf.port]])
    } finally {
      await pf.stop()
      await be.close()
    }
  })
})
