// The plugin test harness runs hooks in the shard's order with the shard's containment, without a sidecar.
import { describe, expect, it } from 'vitest'
import type { JSONSchema, PluginDefinition, PluginHooks, Selector } from '../../../core/plugin-api.ts'
import { pluginHarness } from '../../../core/plugin/harness.ts'
import { RoundRobinSelector } from '../../../core/selector/round-robin.ts'
import { PilotfishError } from '../../../core/errors.ts'

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: { group: { type: 'string', default: 'stable' }, percent: { type: 'number', minimum: 0, maximum: 100, default: 0 } },
} as const satisfies JSONSchema

/** A plugin whose hooks the test supplies; setup hands them the validated config. */
function plugin (hooks: (config: { group: string, percent: number }) => PluginHooks, failMode?: 'open' | 'closed'): PluginDefinition<typeof schema> {
  return { name: 'test-plugin', version: '1.0.0', configSchema: schema, failMode, setup: (config) => hooks(config) }
}

const groups = {
  stable: [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }],
  canary: [{ host: '10.0.1.1', port: 80 }],
}

describe('plugin harness', () => {
  it('refuses an invalid config with every problem under /config', async () => {
    const err = await pluginHarness(plugin(() => ({})), { percent: 101, colour: 'red' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PilotfishError)
    expect((err as PilotfishError).code).toBe('PF_ERR_CONFIG_INVALID')
    expect((err as PilotfishError).problems).toEqual(expect.arrayContaining([
      { path: '/config/percent', message: 'must be <= 100' },
      expect.objectContaining({ path: '/config/colour' }),
    ]))
  })

  it('hands setup the config with its defaults filled in, leaving the caller\'s object alone', async () => {
    let seen: unknown
    const given = {}
    await pluginHarness(plugin((config) => { seen = config; return {} }), given)
    expect(seen).toEqual({ group: 'stable', percent: 0 })
    expect(given).toEqual({})
  })

  it('answers with an onRequest reply and runs nothing after it', async () => {
    let routed = false
    const h = await pluginHarness(plugin(() => ({
      onRequest: (req) => req.header('authorization') === undefined ? { statusCode: 401, body: 'who are you' } : undefined,
      route: () => { routed = true; return undefined },
    })))
    const r = await h.request({ path: '/private' })
    expect(r.status).toBe(401)
    expect(r.reply).toEqual({ statusCode: 401, body: 'who are you' })
    expect(routed).toBe(false)
  })

  it('shows route the headers onRequest set, and the target gets them', async () => {
    const h = await pluginHarness(plugin(() => ({
      onRequest: (req) => { req.setHeader('x-lane', 'canary'); req.removeHeader('x-debug'); return undefined },
      route: (req) => ({ targetGroup: req.header('x-lane') ?? 'stable' }),
    })), {}, { targetGroups: groups })
    const r = await h.request({ headers: { 'x-debug': '1' } })
    expect(r.route).toEqual({ targetGroup: 'canary' })
    expect(r.target?.endpoint.id).toBe('10.0.1.1:80')
    expect(r.requestHeaders).toEqual({ host: 'example.test', 'x-lane': 'canary' })
    expect(r.status).toBeNull()
  })

  it('awaits an async route and selects in the group it names', async () => {
    const h = await pluginHarness(plugin((config) => ({ route: async () => ({ targetGroup: config.group }) })), { group: 'stable' }, { targetGroups: groups })
    const ids = []
    for (let i = 0; i < 4; i++) ids.push((await h.request()).target?.endpoint.id)
    expect(ids).toEqual(['10.0.0.1:80', '10.0.0.2:80', '10.0.0.1:80', '10.0.0.2:80'])
  })

  it('leaves the decision to the next rule when route answers undefined, or to forwardTo', async () => {
    const h = await pluginHarness(plugin(() => ({ route: () => undefined })), {}, { targetGroups: groups })
    const none = await h.request()
    expect(none).toMatchObject({ route: undefined, target: null, status: null })
    expect((await h.request({ forwardTo: 'canary' })).target?.endpoint.id).toBe('10.0.1.1:80')
  })

  it('answers 503 for a group that does not exist or has no eligible target', async () => {
    const h = await pluginHarness(plugin(() => ({ route: (req) => ({ targetGroup: req.path.slice(1) }) })), {}, { targetGroups: groups })
    expect((await h.request({ path: '/nowhere' })).status).toBe(503)
    h.groups.get('canary')!.targets[0]!.eligible = false
    expect((await h.request({ path: '/canary' })).status).toBe(503)
  })

  it('reports the match hook\'s verdict', async () => {
    const h = await pluginHarness(plugin(() => ({ match: (req) => req.header('x-tenant') !== undefined })))
    expect((await h.request({ headers: { 'x-tenant': 'acme' } })).matched).toBe(true)
    expect((await h.request()).matched).toBe(false)
  })

  it('hands wrapSelector the core selector of the group and uses what it returns', async () => {
    let next: Selector | undefined
    const h = await pluginHarness(plugin(() => ({
      wrapSelector (core, group) {
        next = core
        return { select: (ctx) => ctx.header('x-pin') === undefined ? core.select(ctx, group) : group.targets[1]! }
      },
    })), {}, { targetGroups: { stable: groups.stable } })
    expect(next).toBeInstanceOf(RoundRobinSelector)
    expect((await h.request({ forwardTo: 'stable', headers: { 'x-pin': '1' } })).target?.endpoint.id).toBe('10.0.0.2:80')
  })

  it('runs onForward with the chosen target and onResponse on the given response', async () => {
    const h = await pluginHarness(plugin(() => ({
      onForward: (req, target) => { req.setHeader('x-target', target.endpoint.id) },
      onResponse: (req, res) => { res.setHeader('x-path', req.path); res.removeHeader('server') },
    })), {}, { targetGroups: groups })
    const r = await h.request({ forwardTo: 'canary', response: { status: 200, headers: { server: 'nginx', 'content-type': 'text/plain' } } })
    expect(r.requestHeaders['x-target']).toBe('10.0.1.1:80')
    expect(r.responseHeaders).toEqual({ 'content-type': 'text/plain', 'x-path': '/' })
    expect(r.status).toBe(200)
  })

  it('answers 500 and records the failure when a fail-closed hook throws', async () => {
    const h = await pluginHarness(plugin(() => ({ route: () => { throw new Error('boom') } })), {}, { targetGroups: groups })
    const r = await h.request({ forwardTo: 'stable' })
    expect(r.status).toBe(500)
    expect(r.target).toBeNull()
    expect(r.failures).toEqual([{ hook: 'route', error: new Error('boom') }])
    expect(h.failures).toHaveLength(1)
  })

  it('skips a fail-open hook that throws, as if the plugin had no opinion', async () => {
    const h = await pluginHarness(plugin(() => ({
      onRequest: () => { throw new Error('boom') },
      match: () => { throw new Error('boom') },
      route: async () => { throw new Error('boom') },
    }), 'open'), {}, { targetGroups: groups })
    const r = await h.request({ forwardTo: 'stable' })
    expect(r.status).toBeNull()
    expect(r.matched).toBe(false)
    expect(r.target?.endpoint.id).toBe('10.0.0.1:80')
    expect(r.failures.map((f) => f.hook)).toEqual(['onRequest', 'match', 'route'])
  })

  it('lets the config entry\'s failMode override the plugin\'s', async () => {
    const h = await pluginHarness(plugin(() => ({ onForward: () => { throw new Error('boom') } }), 'open'), {}, { targetGroups: groups, failMode: 'closed' })
    expect((await h.request({ forwardTo: 'stable' })).status).toBe(500)
  })

  it('counts an async hook that outlives its timeout as failed', async () => {
    const h = await pluginHarness(plugin(() => ({ route: () => new Promise(() => {}) })), {}, { hookTimeoutSeconds: 0.01 })
    const r = await h.request()
    expect(r.status).toBe(500)
    expect(String(r.failures[0]?.error)).toMatch(/timed out after 10 ms/)
  })

  it('counts a reply the engine could not send as the hook\'s failure', async () => {
    const h = await pluginHarness(plugin(() => ({ onRequest: () => ({ statusCode: 99 }) })))
    const r = await h.request()
    expect(r.status).toBe(500)
    expect(r.failures.map((f) => f.hook)).toEqual(['onRequest'])
  })

  it('refuses header edits to framing fields, as a hook failure', async () => {
    const h = await pluginHarness(plugin(() => ({ onRequest: (req) => { req.setHeader('content-length', '0'); return undefined } })))
    const r = await h.request()
    expect(r.status).toBe(500)
    expect(String(r.failures[0]?.error)).toMatch(/set by Pilotfish/)
  })

  it('keeps the failures of concurrent requests apart', async () => {
    const h = await pluginHarness(plugin(() => ({
      route: async (req) => {
        await new Promise((resolve) => setImmediate(resolve))
        if (req.path === '/bad') throw new Error('bad')
        return { statusCode: 204 }
      },
    })))
    const [good, bad] = await Promise.all([h.request({ path: '/good' }), h.request({ path: '/bad' })])
    expect(good.failures).toEqual([])
    expect(bad.failures.map((f) => f.hook)).toEqual(['route'])
  })

  it('calls close once, and records a close that throws', async () => {
    let closes = 0
    const h = await pluginHarness(plugin(() => ({ close: () => { closes++; throw new Error('leak') } })))
    await h.close()
    await h.close()
    expect(closes).toBe(1)
    expect(h.failures.map((f) => f.hook)).toEqual(['close'])
  })

  it('reports a setup that throws as PF_ERR_PLUGIN_HOOK_FAILED', async () => {
    const err = await pluginHarness(plugin(() => { throw new Error('no key') })).catch((e: unknown) => e)
    expect((err as PilotfishError).code).toBe('PF_ERR_PLUGIN_HOOK_FAILED')
  })

  it('closes what setup opened when wrapSelector throws while the groups are built', async () => {
    let closed = false
    const err = await pluginHarness(plugin(() => ({
      wrapSelector: () => { throw new Error('no ring') },
      close: () => { closed = true },
    })), {}, { targetGroups: groups }).catch((e: unknown) => e)
    expect((err as PilotfishError).code).toBe('PF_ERR_PLUGIN_HOOK_FAILED')
    expect(closed).toBe(true)
  })
})

describe('pluginHarness: background work, state and target state', () => {
  it('runs a task in this thread, hands published state to onState, and changes groups on refreshTargets', async () => {
    const { default: healthLite } = await import('../../e2e/fixtures/plugins/health-lite.ts')
    const h = await pluginHarness(healthLite, { intervalMs: 20 }, { targetGroups: { app: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }] } })
    // Nothing listens on ports 1 and 2: the probe finds both down, and both leave the rotation.
    for (let i = 0; i < 100 && h.groups.get('app')!.targets.some((t) => t.eligible); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(h.groups.get('app')!.targets.map((t) => t.eligible)).toEqual([false, false])
    expect((await h.request({ forwardTo: 'app' })).status).toBe(503)
    await h.close()
    expect(h.failures).toEqual([])
  })
})

describe('pluginHarness: what is not a plugin', () => {
  it('refuses a definition the sidecar would refuse to load, with the same reason', async () => {
    const notKebab = { name: 'Not Kebab', version: '1', configSchema: {}, setup: () => ({}) }
    await expect(pluginHarness(notKebab as never)).rejects.toMatchObject({ problems: [{ path: '/from', message: 'could not load: name must be a kebab-case string' }] })
  })
})

describe('pluginHarness: per-request locals', () => {
  it('are shared by the hooks of one request and start empty for the next', async () => {
    const configSchema = { type: 'object' } as const
    const def = {
      name: 'remember',
      version: '1',
      configSchema,
      setup: () => ({
        route (req) {
          const before = req.locals.remember
          req.locals.remember = 'picked a'
          return before === undefined ? { targetGroup: 'a' } : { statusCode: 500 }
        },
        onForward (req) { req.setHeader('x-remembered', String(req.locals.remember)) },
      } satisfies PluginHooks),
    } satisfies PluginDefinition<typeof configSchema>
    const h = await pluginHarness(def, {}, { targetGroups: { a: [{ host: '127.0.0.1', port: 1 }] } })
    for (let i = 0; i < 2; i++) expect((await h.request()).requestHeaders['x-remembered']).toBe('picked a')
    await h.close()
  })
})

describe('pluginHarness: declared target groups', () => {
  it('refuses a route plugin whose declared target groups are not among the harness groups, as the sidecar does', async () => {
    const configSchema = { type: 'object' } as const
    const def = {
      name: 'declares',
      version: '1',
      configSchema,
      setup: () => ({ targetGroups: ['a', 'b'], route: () => ({ targetGroup: 'b' }) } satisfies PluginHooks),
    } satisfies PluginDefinition<typeof configSchema>
    await expect(pluginHarness(def, {}, { targetGroups: { a: [{ host: '127.0.0.1', port: 1 }] } }))
      .rejects.toThrow(/plugin declares routes to target group b, which does not exist/)
    const ok = await pluginHarness(def, {}, { targetGroups: { a: [{ host: '127.0.0.1', port: 1 }], b: [{ host: '127.0.0.1', port: 2 }] } })
    expect((await ok.request()).route).toEqual({ targetGroup: 'b' })
    await ok.close()
  })
})

describe('pluginHarness: a selector wrapper that answers with a promise', () => {
  const configSchema = { type: 'object' } as const
  const asyncSelector = {
    name: 'async-selector',
    version: '1',
    configSchema,
    setup: () => ({
      wrapSelector: (next: Selector): Selector => ({
        select: ((...args: Parameters<Selector['select']>) => Promise.resolve(next.select(...args))) as unknown as Selector['select'],
      }),
    } satisfies PluginHooks),
  } satisfies PluginDefinition<typeof configSchema>
  const groups = { targetGroups: { a: [{ host: '127.0.0.1', port: 1 }] } }

  it('fail-open: is counted, and the core selector picks the target instead', async () => {
    const h = await pluginHarness(asyncSelector, {}, { ...groups, failMode: 'open' })
    const r = await h.request({ forwardTo: 'a' })
    expect(r.target?.endpoint.id).toBe('127.0.0.1:1')
    expect(r.failures.map((f) => f.hook)).toEqual(['wrapSelector'])
    await h.close()
  })

  it('fail-closed: the request gets 500', async () => {
    const h = await pluginHarness(asyncSelector, {}, groups)
    const r = await h.request({ forwardTo: 'a' })
    expect([r.status, r.target]).toEqual([500, null])
    await h.close()
  })
})
