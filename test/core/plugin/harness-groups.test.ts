// The harness drives what a health plugin uses: group sections (targetGroupConfig) validated with their paths and
// handed to onGroups, a refusal with paths, messages to the leader, reports, the clock, and the request-end and
// target-failure hooks with their outcomes.
import { describe, expect, it } from 'vitest'
import type { EndedRequest, PluginDefinition, PluginGroup, PluginHooks, Target, TargetFailure } from '../../../core/plugin-api.ts'
import { configProblems, Outcome } from '../../../core/plugin-runtime.ts'
import { pluginHarness } from '../../../core/plugin/harness.ts'
import { PilotfishError } from '../../../core/errors.ts'

const configSchema = { type: 'object' } as const
const targetGroupConfig = {
  type: 'object',
  additionalProperties: false,
  properties: {
    probe: {
      type: 'object',
      additionalProperties: false,
      properties: { path: { type: 'string', default: '/' }, intervalSeconds: { type: 'integer', minimum: 1, default: 30 }, timeoutSeconds: { type: 'integer', minimum: 1, default: 5 } },
      default: {},
    },
  },
} as const
type Section = { probe: { path: string, intervalSeconds: number, timeoutSeconds: number } }

function definition (hooks: (env: Parameters<PluginDefinition['setup']>[1]) => PluginHooks<Section>): PluginDefinition<typeof configSchema> {
  return { name: 'watcher', version: '1', configSchema, targetGroupConfig, setup: (_c, env) => hooks(env) as PluginHooks }
}

const targets = { api: [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }], web: [{ host: '10.0.0.3', port: 80 }] }

describe('pluginHarness: group sections and onGroups', () => {
  it('validates each group section, fills its defaults, and hands it with the group and its targets to onGroups', async () => {
    const seen: Array<ReadonlyArray<PluginGroup<Section>>> = []
    const h = await pluginHarness(definition(() => ({ onGroups: (g) => { seen.push(g) } })), {}, { targetGroups: targets, groupConfig: { api: { probe: { path: '/health' } } } })
    expect(seen).toHaveLength(1)
    expect(seen[0]!.map((g) => [g.name, g.path, g.targets.map((t) => t.id), g.config])).toEqual([
      ['api', '/targetGroups/0', ['10.0.0.1:80', '10.0.0.2:80'], { probe: { path: '/health', intervalSeconds: 30, timeoutSeconds: 5 } }],
      ['web', '/targetGroups/1', ['10.0.0.3:80'], { probe: { path: '/', intervalSeconds: 30, timeoutSeconds: 5 } }],
    ])
    h.setTargets('web', [{ host: '10.0.0.4', port: 80 }])
    expect(seen).toHaveLength(2)
    expect(seen[1]![1]!.targets.map((t) => t.id)).toEqual(['10.0.0.4:80'])
    await h.close()
  })

  it('refuses a section its schema refuses, at the group path', async () => {
    const err = await pluginHarness(definition(() => ({})), {}, { targetGroups: targets, groupConfig: { web: { probe: { intervalSeconds: 0 } } } }).catch((e: unknown) => e)
    expect((err as PilotfishError).problems).toEqual([{ path: '/targetGroups/1/probe/intervalSeconds', message: 'must be >= 1' }])
  })

  it('refuses what onGroups refuses with configProblems, with its paths', async () => {
    const def = definition(() => ({
      onGroups (groups) {
        const bad = groups.filter((g) => g.config.probe.timeoutSeconds > g.config.probe.intervalSeconds)
        if (bad.length > 0) throw configProblems(bad.map((g) => ({ path: `${g.path}/probe/timeoutSeconds`, message: 'must not be more than intervalSeconds' })))
      },
    }))
    const err = await pluginHarness(def, {}, { targetGroups: targets, groupConfig: { api: { probe: { intervalSeconds: 2, timeoutSeconds: 3 } } } }).catch((e: unknown) => e)
    expect((err as PilotfishError).code).toBe('PF_ERR_CONFIG_INVALID')
    expect((err as PilotfishError).problems).toEqual([{ path: '/targetGroups/0/probe/timeoutSeconds', message: 'must not be more than intervalSeconds' }])
  })
})

describe('pluginHarness: what a health plugin observes and tells', () => {
  it('delivers request ends with status and outcome, and target failures with their kind', async () => {
    const ends: Array<[number, number, string, string]> = []
    const failures: Array<[string, TargetFailure]> = []
    const h = await pluginHarness(definition(() => ({
      onRequestEnd: (req: EndedRequest) => { ends.push([req.status, req.outcome, req.groupName, req.target?.endpoint.id ?? '']) },
      onTargetFailure: (_req, target: Target, failure) => { failures.push([target.endpoint.id, failure]) },
    })), {}, { targetGroups: targets })
    expect((await h.request({ forwardTo: 'api', response: { status: 503 } })).status).toBe(503)
    expect((await h.request({ forwardTo: 'api', failure: 'connect-refused' })).status).toBe(502)
    expect((await h.request({ forwardTo: 'api', failure: 'timeout' })).status).toBe(504)
    expect(ends).toEqual([
      [503, Outcome.Ok, 'api', '10.0.0.1:80'],
      [502, Outcome.ConnectFailed, 'api', '10.0.0.2:80'],
      [504, Outcome.Timeout, 'api', '10.0.0.1:80'],
    ])
    expect(failures).toEqual([['10.0.0.2:80', 'connect-refused'], ['10.0.0.1:80', 'timeout']])
    await h.close()
  })

  it('routes sendToLeader to onMessage, records reports, and moves env.now() with advance()', async () => {
    const messages: unknown[] = []
    let now = (): number => 0
    const h = await pluginHarness(definition((env) => {
      now = () => env.now()
      return {
        onRequestEnd: (req) => { env.sendToLeader({ failed: req.status >= 500, target: req.target?.endpoint.id }) },
        onMessage: (m, from) => {
          messages.push([m, from])
          env.reportTarget('api', (m as { target: string }).target, { state: 'unhealthy', reason: 'Target.OutlierEjected' })
        },
      }
    }), {}, { targetGroups: targets })
    await h.request({ forwardTo: 'api', response: { status: 500 } })
    await h.settle()
    expect(messages).toEqual([[{ failed: true, target: '10.0.0.1:80' }, 0]])
    expect(h.reports).toEqual([{ group: 'api', target: '10.0.0.1:80', state: 'unhealthy', reason: 'Target.OutlierEjected' }])
    const before = now()
    h.advance(60_000)
    expect(now() - before).toBeGreaterThanOrEqual(60_000)
    await h.close()
  })
})
