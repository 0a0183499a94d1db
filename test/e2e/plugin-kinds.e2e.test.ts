// Hook kinds beyond the request path, in a running sidecar: target state from work done in the task pool,
// published from the leader shard to every shard.
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadPort, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { sleep } from './load.ts'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/plugins/${name}.ts`, import.meta.url))

/** Statuses and backend names of `n` requests, each on a new connection (so both shards get some). */
async function burst (port: number, n: number): Promise<Array<string | number>> {
  const out: Array<string | number> = []
  for (let i = 0; i < n; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } }).catch(() => null)
    out.push(r === null ? 0 : r.status === 200 ? (JSON.parse(await r.text()) as { name: string }).name : r.status)
  }
  return out
}

async function until (fn: () => Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await fn()) return true
    await sleep(50)
  }
  return false
}

describe('targetState, tasks and published state', () => {
  let live: Backend, pf: Running, revived: http.Server | null = null
  let dead: number
  beforeAll(async () => {
    live = await startBackend('live')
    dead = await deadPort()
    pf = await startPilotfish({
      ...forwardConfig([live.port, dead], {}, { plugins: ['health-lite'] }),
      plugins: [{ name: 'health-lite', from: fixture('health-lite') }],
    }, 2)
  })
  afterAll(async () => {
    await pf.stop()
    await live.close()
    revived?.closeAllConnections()
    revived?.close()
  })

  it('a target the pool task finds down leaves the rotation in every shard', async () => {
    expect(await until(async () => (await burst(pf.port, 12)).every((x) => x === 'live'))).toBe(true)
  })

  it('and comes back once it answers again', async () => {
    revived = http.createServer((_req, res) => res.end(JSON.stringify({ name: 'revived' })))
    await new Promise<void>((resolve) => revived!.listen(dead, '127.0.0.1', resolve))
    expect(await until(async () => new Set(await burst(pf.port, 12)).has('revived'))).toBe(true)
    expect(new Set(await burst(pf.port, 12))).toEqual(new Set(['live', 'revived']))
  })
})
