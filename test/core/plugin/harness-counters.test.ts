// env.counter in the harness: a plugin's counts read back with h.counter, and every declaration, label set and
// increment the sidecar would refuse refused here too.
import { describe, expect, it } from 'vitest'
import type { CounterChild, PluginDefinition, PluginEnv, PluginHooks } from '../../../core/plugin-api.ts'
import { pluginHarness } from '../../../core/plugin/harness.ts'
import { PilotfishError } from '../../../core/errors.ts'

const configSchema = { type: 'object' } as const

function plugin (setup: (env: PluginEnv) => PluginHooks): PluginDefinition<typeof configSchema> {
  return { name: 'counting', version: '1.0.0', configSchema, setup: (_config, env) => setup(env) }
}

const groups = { web: [{ host: '10.0.0.1', port: 80 }], api: [{ host: '10.0.0.2', port: 80 }] }

/** Counts each request forwarded to a group by group and status class, with children taken in onGroups. */
const perGroup = plugin((env) => {
  const requests = env.counter('test_requests_total', 'Requests by group and class', ['group', 'class'])
  const children = new Map<string, CounterChild>()
  return {
    onGroups (list) {
      for (const g of list) for (const c of ['2xx', '5xx']) children.set(`${g.name} ${c}`, requests.labels(g.name, c))
    },
    onRequestEnd (req) { children.get(`${req.groupName} ${req.status >= 500 ? '5xx' : '2xx'}`)?.inc() },
  }
})

/** The error setup failed with, when a declaration in it throws. */
async function setupError (declare: (env: PluginEnv) => void): Promise<PilotfishError> {
  const err = await pluginHarness(plugin((env) => { declare(env); return {} })).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(PilotfishError)
  expect((err as PilotfishError).code).toBe('PF_ERR_PLUGIN_HOOK_FAILED')
  return err as PilotfishError
}

describe('pluginHarness: env.counter', () => {
  it('reads back what the plugin counted, per label set, and 0 for a label set with no count yet', async () => {
    const h = await pluginHarness(perGroup, {}, { targetGroups: groups })
    for (let i = 0; i < 3; i++) await h.request({ forwardTo: 'web', response: { status: 200 } })
    await h.request({ forwardTo: 'web', response: { status: 503 } })
    await h.request({ forwardTo: 'api', response: { status: 204 } })
    expect(h.counter('test_requests_total', { group: 'web', class: '2xx' })).toBe(3)
    expect(h.counter('test_requests_total', { class: '5xx', group: 'web' })).toBe(1) // label order does not matter
    expect(h.counter('test_requests_total', { group: 'api', class: '2xx' })).toBe(1)
    expect(h.counter('test_requests_total', { group: 'api', class: '5xx' })).toBe(0)
    expect(h.counter('test_requests_total', { group: 'nowhere', class: '2xx' })).toBe(0)
    await h.close()
  })

  it('adds fractions and counts a counter without labels', async () => {
    const h = await pluginHarness(plugin((env) => {
      const bytes = env.counter('test_bytes_total', 'Bytes', []).labels()
      return { onRequest () { bytes.inc(2.5); bytes.inc(); return undefined } }
    }))
    await h.request()
    await h.request()
    expect(h.counter('test_bytes_total')).toBe(7)
  })

  it('gives the same counter, and the same child, for a declaration repeated with the same help and labels', async () => {
    const h = await pluginHarness(plugin((env) => {
      const a = env.counter('test_seen_total', 'Seen', ['kind'])
      const b = env.counter('test_seen_total', 'Seen', ['kind'])
      expect(b).toBe(a)
      expect(b.labels('x')).toBe(a.labels('x'))
      return { onRequest () { a.labels('x').inc(); b.labels('x').inc(); return undefined } }
    }))
    await h.request()
    expect(h.counter('test_seen_total', { kind: 'x' })).toBe(2)
  })

  it('refuses names outside the metric-name syntax, without _total, or the core\'s', async () => {
    for (const name of ['test_requests', '9_requests_total', 'test:requests_total', 'test-requests_total', '']) {
      expect((await setupError((env) => env.counter(name, 'help', []))).message).toMatch(/a counter's name must match .* and end in _total/)
    }
    for (const name of ['pilotfish_requests_total', 'pilotfish_plugin_errors_total', 'pilotfish_target_state_transitions_total']) {
      expect((await setupError((env) => env.counter(name, 'help', []))).message).toBe(
        `plugin counting failed in setup: plugin counter ${name}: the name is one of the core's metrics`)
    }
  })

  it('refuses label names outside the label syntax, starting __, or given twice, and an empty help', async () => {
    for (const label of ['__reserved', 'has-dash', '1st', '']) {
      expect((await setupError((env) => env.counter('test_x_total', 'help', [label]))).message).toMatch(/label name .* must match/)
    }
    expect((await setupError((env) => env.counter('test_x_total', 'help', ['a', 'a']))).message).toMatch(/label name a is given twice/)
    expect((await setupError((env) => env.counter('test_x_total', '', []))).message).toMatch(/help must be/)
  })

  it('refuses the same name declared again with other help or other label names', async () => {
    const again = (help: string, labels: string[]) => (env: PluginEnv): void => {
      env.counter('test_x_total', 'Things', ['group'])
      env.counter('test_x_total', help, labels)
    }
    for (const [help, labels] of [['Other things', ['group']], ['Things', ['target']], ['Things', ['group', 'result']], ['Things', []]] as const) {
      expect((await setupError(again(help, [...labels]))).message).toMatch(/test_x_total: it is declared already with help "Things" and labels \[group\]/)
    }
  })

  it('counts labels() with the wrong number of values, and inc() below 0 or not finite, as the hook\'s failure', async () => {
    let counter: ReturnType<PluginEnv['counter']> | null = null
    const h = await pluginHarness(plugin((env) => {
      counter = env.counter('test_x_total', 'Things', ['group', 'result'])
      return {
        onRequest (req) {
          const by = req.header('x-by')
          if (by !== undefined) counter!.labels('web', 'ok').inc(Number(by))
          else counter!.labels(...(req.header('x-values') ?? '').split(','))
          return undefined
        },
      }
    }))
    for (const values of ['web', 'web,ok,extra']) {
      const r = await h.request({ headers: { 'x-values': values } })
      expect(r.status).toBe(500)
      expect((r.failures[0]!.error as Error).message).toMatch(/labels\(\) takes 2 values \(group, result\), not \d/)
    }
    for (const by of ['-1', 'NaN', 'Infinity']) {
      const r = await h.request({ headers: { 'x-by': by } })
      expect(r.status).toBe(500)
      expect((r.failures[0]!.error as Error).message).toBe(`plugin counter test_x_total: inc() takes a finite number of at least 0, not ${by}`)
    }
    expect(() => counter!.labels('web', 1 as unknown as string)).toThrow(/the value of label result must be a string/)
    expect(h.counter('test_x_total', { group: 'web', result: 'ok' })).toBe(0) // nothing refused was added
    expect((await h.request({ headers: { 'x-by': '0' } })).status).toBeNull()
  })

  it('throws when asked for a counter never declared, or with labels other than the declared ones', async () => {
    const h = await pluginHarness(perGroup, {}, { targetGroups: groups })
    expect(() => h.counter('test_other_total', {})).toThrow(/test_other_total: no plugin declared it/)
    expect(() => h.counter('test_requests_total', { group: 'web' })).toThrow(/its labels are \[group, class\], not \[group\]/)
    expect(() => h.counter('test_requests_total', { group: 'web', code: '2xx' })).toThrow(/its labels are \[group, class\]/)
  })
})
