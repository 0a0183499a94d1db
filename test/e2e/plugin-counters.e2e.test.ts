// A plugin's counter (env.counter) in /metrics: summed over every shard, and still counting on after a config
// change sets the plugin up again and after a code reload retires the shards that counted.
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CORE_METRICS } from '../../core/plugin/counters.ts'
import { callJson, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'

const NAME = 'pilotfish_test_counted_total'
const counting = fileURLToPath(new URL('./fixtures/plugins/counting.ts', import.meta.url))

describe('a plugin counter in /metrics, with 2 shards', () => {
  let be: Backend, pf: Running
  beforeAll(async () => {
    be = await startBackend('be', (req, res) => { res.statusCode = req.url === '/fail' ? 500 : 200; res.end('x') })
    pf = await startPilotfish({ ...forwardConfig([be.port], {}, { plugins: ['counting'] }), plugins: [{ name: 'counting', from: counting }] }, 2)
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  const metrics = async (): Promise<string> => (await fetch(`${pf.admin}/metrics`)).text()
  /** The counter's series, by their label text. */
  const series = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {}
    for (const m of (await metrics()).matchAll(new RegExp(`^${NAME}\\{([^}]*)\\} (\\S+)$`, 'gm'))) out[m[1]!] = Number(m[2])
    return out
  }
  /** `n` requests, each on a connection of its own so the kernel spreads them over the shards; what answered. */
  const send = async (n: number, path = '/'): Promise<Array<{ shard: string, generation: string, tag: string }>> => {
    const seen = []
    for (let i = 0; i < n; i++) {
      const r = await fetch(`http://127.0.0.1:${pf.port}${path}`, { headers: { connection: 'close' } })
      await r.text()
      seen.push({ shard: r.headers.get('x-shard')!, generation: r.headers.get('x-generation')!, tag: r.headers.get('x-counting-tag')! })
    }
    return seen
  }
  const ok = 'group="app",result="ok"'
  const error = 'group="app",result="error"'

  it('shows the exact sum over both shards, with its HELP and TYPE lines', async () => {
    expect(await series()).toEqual({ [ok]: 0, [error]: 0 }) // children taken in onGroups show from the start
    const seen = [...await send(30), ...await send(6, '/fail')]
    expect(new Set(seen.map((s) => s.shard))).toEqual(new Set(['0', '1'])) // both shards counted some
    const text = await metrics()
    expect(text).toContain(`# HELP ${NAME} Requests the counting test plugin saw end, by group and result\n# TYPE ${NAME} counter\n`)
    expect(await series()).toEqual({ [ok]: 30, [error]: 6 })
  })

  it('counts on when a config change sets the plugin up again', async () => {
    const config = (await callJson(`${pf.admin}/v1/config`)).body
    config.plugins[0].config = { tag: 'two' }
    expect((await callJson(`${pf.admin}/v1/config`, 'PUT', config)).status).toBe(200)
    const seen = await send(10)
    expect(seen.map((s) => s.tag)).toEqual(Array(10).fill('two')) // the new instances answered
    expect(await series()).toEqual({ [ok]: 40, [error]: 6 })
  })

  it('keeps the counts of the shards a code reload retired, and counts on in the new generation', async () => {
    expect((await callJson(`${pf.admin}/v1/plugins/counting/reload`, 'POST')).status).toBe(200)
    for (let i = 0; i < 100 && (await callJson(`${pf.admin}/v1/plugins`)).body.retiringShards > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await callJson(`${pf.admin}/v1/plugins`)).body.retiringShards).toBe(0)
    expect(await series()).toEqual({ [ok]: 40, [error]: 6 }) // the old generation's shards are gone, their counts are not
    const seen = [...await send(12), ...await send(2, '/fail')]
    expect(new Set(seen.map((s) => s.generation))).toEqual(new Set(['2']))
    expect(await series()).toEqual({ [ok]: 52, [error]: 8 })
  })

  it('shows no metric beside the plugin\'s that is not among the core\'s names, which plugins may not take', async () => {
    const names = [...(await metrics()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!)
    expect(names).toContain('pilotfish_requests_total')
    expect(names.filter((n) => n !== NAME && !CORE_METRICS.has(n))).toEqual([])
  })
})
