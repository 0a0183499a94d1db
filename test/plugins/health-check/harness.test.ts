// The health-check plugin in the SDK harness (pilotfish/testing), as a user would test a health plugin without
// a sidecar: its real probe task against real targets on 127.0.0.1, requests through the group's selector,
// passive ejection from responses, and slow start with the harness's clock.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { deadPort } from '../../e2e/harness.ts'
import { pluginHarness, type PluginHarness } from '../../../core/plugin/harness.ts'
import plugin from '../../../plugins/health-check/index.ts'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

async function server (status: number): Promise<number> {
  const s = http.createServer((req, res) => { res.statusCode = req.url === '/health' ? status : 404; res.end() })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => { s.closeAllConnections(); s.close(() => resolve()) }))
  return (s.address() as AddressInfo).port
}

async function until (check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Who the group's selector picks for `n` requests in a row. */
async function picks (h: PluginHarness, n: number, status = 200): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push((await h.request({ forwardTo: 'api', response: { status } })).target?.endpoint.id ?? 'none')
  return out
}

function lastState (h: PluginHarness, target: string): string | undefined {
  const r = h.reports.filter((x) => x.target === target).at(-1)
  return r === undefined ? undefined : r.reason ? `${r.state} ${r.reason}` : r.state
}

describe('health-check in the harness', () => {
  it('serves only the targets that pass, after one probe at start, and a registered one after the healthy threshold', async () => {
    const live = await server(200)
    const sick = await server(503)
    const dead = await deadPort()
    const id = (p: number): string => `127.0.0.1:${p}`
    const targets = [{ host: '127.0.0.1', port: live }, { host: '127.0.0.1', port: sick }, { host: '127.0.0.1', port: dead }]
    const h = await pluginHarness(plugin, {}, {
      targetGroups: { api: targets },
      groupConfig: { api: { healthCheck: { path: '/health', intervalSeconds: 1, timeoutSeconds: 1, healthyThresholdCount: 2 } } },
    })
    closers.push(() => h.close())
    expect(new Set(await picks(h, 3))).toEqual(new Set([id(live), id(sick), id(dead)])) // no verdict yet: fail-open
    await until(() => [live, sick, dead].every((p) => lastState(h, id(p)) !== undefined && lastState(h, id(p)) !== 'initial Elb.InitialHealthChecking'))
    await h.settle()
    expect([lastState(h, id(live)), lastState(h, id(sick)), lastState(h, id(dead))]).toEqual([
      'healthy', 'unhealthy Target.ResponseCodeMismatch', 'unhealthy Target.ConnectionRefused',
    ])
    expect(await picks(h, 4)).toEqual([id(live), id(live), id(live), id(live)])

    const added = await server(200)
    h.setTargets('api', [...targets, { host: '127.0.0.1', port: added }])
    await h.settle()
    expect(lastState(h, id(added))).toBe('initial Elb.InitialHealthChecking')
    expect(new Set(await picks(h, 4))).toEqual(new Set([id(live)]))
    await until(() => lastState(h, id(added)) === 'healthy') // two passes, about a second apart
    await h.settle()
    expect(new Set(await picks(h, 4))).toEqual(new Set([id(live), id(added)]))
  })

  it('ejects a target that answers 5xx consecutiveFailures times, no more of the group than allowed, then brings it back', async () => {
    const targets = [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }, { host: '10.0.0.3', port: 80 }]
    const h = await pluginHarness(plugin, {}, {
      targetGroups: { api: targets },
      groupConfig: { api: { outlierDetection: { consecutiveFailures: 2, baseEjectionSeconds: 0.5 } } },
    })
    closers.push(() => h.close())
    await h.settle()
    expect(h.reports.map((r) => r.state)).toEqual(['healthy', 'healthy', 'healthy'])
    // Round robin: .1 .2 .3 .1 — the fourth is .1's second 500 in a row; at 50 % of 3, one may be out.
    expect(await picks(h, 4, 500)).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.1:80'])
    expect(await picks(h, 4, 500)).toEqual(['10.0.0.2:80', '10.0.0.3:80', '10.0.0.2:80', '10.0.0.3:80'])
    await h.settle()
    expect(lastState(h, '10.0.0.1:80')).toBe('unhealthy Target.OutlierEjected')
    expect(lastState(h, '10.0.0.2:80')).toBe('healthy')
    await until(() => lastState(h, '10.0.0.1:80') === 'healthy') // baseEjectionSeconds
    await h.settle()
    expect(await picks(h, 6)).toContain('10.0.0.1:80')
  })

  it('ramps a registered target\'s weight up over slowStartSeconds of env.now()', async () => {
    const h = await pluginHarness(plugin, {}, {
      targetGroups: { api: [{ host: '10.0.0.1', port: 80, weight: 10 }] },
      groupConfig: { api: { slowStartSeconds: 60 } },
    })
    closers.push(() => h.close())
    await h.settle()
    const weightOf = (id: string): number | undefined => h.groups.get('api')!.targets.find((t) => t.endpoint.id === id)?.weight
    expect(weightOf('10.0.0.1:80')).toBe(10) // serving at start: no ramp
    h.setTargets('api', [{ host: '10.0.0.1', port: 80, weight: 10 }, { host: '10.0.0.2', port: 80, weight: 10 }])
    await h.settle()
    expect(weightOf('10.0.0.2:80')).toBeCloseTo(1, 1) // 10 % of 10
    h.advance(30_000)
    await until(() => weightOf('10.0.0.2:80')! > 5) // the next refresh, within about a second
    expect(weightOf('10.0.0.2:80')).toBeCloseTo(5.5, 0)
    h.advance(30_000)
    await until(() => weightOf('10.0.0.2:80') === 10)
  })
})
