// The group sections' schema (defaults and ranges, compiled by the project's strict Ajv as the core compiles it)
// and the checks onGroups makes beyond it, with their paths.
import { describe, expect, it } from 'vitest'
import type { ConfigProblems, PluginGroup } from '../../../core/plugin-api.ts'
import plugin from '../../../plugins/health-check/index.ts'
import { configSchema, groupSectionSchema, type GroupSection } from '../../../plugins/health-check/schema.ts'
import { ajv } from '../../../schemas/compile.ts'
import { Driver, section } from './driver.ts'

const validate = ajv.compile(groupSectionSchema)

function problemsOf (raw: unknown): string[] {
  const copy = structuredClone(raw)
  return validate(copy) ? [] : validate.errors!.map((e) => e.instancePath)
}

describe('group section schema', () => {
  it('fills ALB defaults for a bare healthCheck, and Envoy defaults for a bare outlierDetection', () => {
    expect(section({ healthCheck: {}, outlierDetection: {} })).toEqual({
      healthCheck: {
        protocol: 'http', path: '/', port: 'traffic-port', intervalSeconds: 30, timeoutSeconds: 5,
        healthyThresholdCount: 5, unhealthyThresholdCount: 2, matcher: '200',
      },
      outlierDetection: { consecutiveFailures: 5, baseEjectionSeconds: 30, maxEjectionSeconds: 300, maxEjectionPercent: 50 },
      failOpen: true,
      slowStartSeconds: 0,
    })
  })

  it('leaves healthCheck and outlierDetection absent when not written: both off', () => {
    expect(section({})).toEqual({ failOpen: true, slowStartSeconds: 0 })
  })

  it.each([
    { raw: { healthCheck: { intervalSeconds: 1 } }, ok: true },
    { raw: { healthCheck: { intervalSeconds: 0 } }, ok: false, at: '/healthCheck/intervalSeconds' },
    { raw: { healthCheck: { intervalSeconds: 301 } }, ok: false, at: '/healthCheck/intervalSeconds' },
    { raw: { healthCheck: { intervalSeconds: 1.5 } }, ok: false, at: '/healthCheck/intervalSeconds' },
    { raw: { healthCheck: { timeoutSeconds: 121 } }, ok: false, at: '/healthCheck/timeoutSeconds' },
    { raw: { healthCheck: { healthyThresholdCount: 1 } }, ok: false, at: '/healthCheck/healthyThresholdCount' },
    { raw: { healthCheck: { unhealthyThresholdCount: 11 } }, ok: false, at: '/healthCheck/unhealthyThresholdCount' },
    { raw: { healthCheck: { protocol: 'https' } }, ok: false, at: '/healthCheck/protocol' },
    { raw: { healthCheck: { port: 8081 } }, ok: true },
    { raw: { healthCheck: { port: 0 } }, ok: false, at: '/healthCheck/port' },
    { raw: { healthCheck: { port: 'other-port' } }, ok: false, at: '/healthCheck/port' },
    { raw: { healthCheck: { path: 'health' } }, ok: false, at: '/healthCheck/path' },
    { raw: { healthCheck: { interval: 5 } }, ok: false, at: '/healthCheck' },
    { raw: { outlierDetection: { consecutiveFailures: 0 } }, ok: false, at: '/outlierDetection/consecutiveFailures' },
    { raw: { outlierDetection: { consecutiveFailures: 1001 } }, ok: false, at: '/outlierDetection/consecutiveFailures' },
    { raw: { outlierDetection: { baseEjectionSeconds: 0.05 } }, ok: true },
    { raw: { outlierDetection: { baseEjectionSeconds: 0 } }, ok: false, at: '/outlierDetection/baseEjectionSeconds' },
    { raw: { outlierDetection: { maxEjectionPercent: 101 } }, ok: false, at: '/outlierDetection/maxEjectionPercent' },
    { raw: { outlierDetection: { maxEjectionPercent: 0 } }, ok: true },
    { raw: { slowStartSeconds: 29 }, ok: false, at: '/slowStartSeconds' },
    { raw: { slowStartSeconds: 30 }, ok: true },
    { raw: { slowStartSeconds: 901 }, ok: false, at: '/slowStartSeconds' },
    { raw: { failOpen: 'yes' }, ok: false, at: '/failOpen' },
    { raw: { stickiness: {} }, ok: false, at: '' },
  ])('$raw: valid $ok', ({ raw, ok, at }) => {
    const problems = problemsOf(raw)
    if (ok) expect(problems).toEqual([])
    else expect(problems).toContain(at)
  })

  it('takes an empty plugin entry config and nothing else', () => {
    const check = ajv.compile(configSchema)
    expect(check({})).toBe(true)
    expect(check({ intervalSeconds: 5 })).toBe(false)
  })
})

describe('checks beyond the schema, in onGroups', () => {
  async function refusal (sections: Array<Record<string, unknown>>): Promise<ConfigProblems['problems'] | null> {
    const hooks = await plugin.setup({}, new Driver({ probe: () => Promise.resolve({ ok: true }) }).shardEnv(0))
    const groups: Array<PluginGroup<GroupSection>> = sections.map((raw, i) => ({ name: `g${i}`, path: `/targetGroups/${i}`, targets: [], config: section(raw) }))
    try {
      hooks.onGroups!(groups)
      return null
    } catch (err) {
      return (err as ConfigProblems).problems
    } finally {
      await hooks.close?.()
    }
  }

  it('refuses a timeout longer than the interval at the group\'s timeoutSeconds', async () => {
    expect(await refusal([{}, { healthCheck: { intervalSeconds: 5, timeoutSeconds: 6 } }])).toEqual([
      { path: '/targetGroups/1/healthCheck/timeoutSeconds', message: 'must not be more than intervalSeconds (5)' },
    ])
  })

  it('accepts a timeout equal to the interval', async () => {
    expect(await refusal([{ healthCheck: { intervalSeconds: 5, timeoutSeconds: 5 } }])).toBeNull()
  })

  it.each([
    { matcher: '200', ok: true },
    { matcher: '200,302', ok: true },
    { matcher: '200-299', ok: true },
    { matcher: '200-299, 404', ok: true },
    { matcher: '499', ok: true },
    { matcher: '199', ok: false },
    { matcher: '500', ok: false },
    { matcher: '200-500', ok: false },
    { matcher: '299-200', ok: false },
    { matcher: '2xx', ok: false },
    { matcher: '200,', ok: false },
  ])('matcher "$matcher": accepted $ok, refused at its path', async ({ matcher, ok }) => {
    const problems = await refusal([{ healthCheck: { matcher } }])
    if (ok) expect(problems).toBeNull()
    else expect(problems?.map((p) => p.path)).toEqual(['/targetGroups/0/healthCheck/matcher'])
  })

  it('reports every problem of every group at once', async () => {
    const problems = await refusal([{ healthCheck: { matcher: '600' } }, { healthCheck: { intervalSeconds: 2, timeoutSeconds: 3, matcher: 'x' } }])
    expect(problems?.map((p) => p.path)).toEqual([
      '/targetGroups/0/healthCheck/matcher', '/targetGroups/1/healthCheck/timeoutSeconds', '/targetGroups/1/healthCheck/matcher',
    ])
  })
})
