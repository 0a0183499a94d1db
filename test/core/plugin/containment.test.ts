// One containment verdict for every hook kind: a failed hook is counted, then fails its request (fail-closed)
// or is skipped as if it had no opinion (fail-open). Each kind is tried throwing and, for the hooks that must be
// synchronous, answering with a promise (the 955c30e class: a promise must never pass for the hook's value).
import { describe, expect, it } from 'vitest'
import type { PluginHooks, Selector } from '../../../core/plugin-api.ts'
import { pluginHarness } from '../../../core/plugin/harness.ts'

const groups = { stable: [{ host: '10.0.0.1', port: 80 }, { host: '10.0.0.2', port: 80 }] }
const response = { status: 200, headers: { 'content-type': 'text/plain' } }

type Failure = 'throws' | 'promise'
const bad = (how: Failure): (() => never) => how === 'throws'
  ? () => { throw new Error('boom') }
  : () => Promise.reject(new Error('late')) as never

/** A plugin whose one hook fails; the other hooks are absent. */
function failing (hook: string, how: Failure): PluginHooks {
  switch (hook) {
    case 'onRequest': return { onRequest: how === 'throws' ? bad(how) : async () => { throw new Error('late') } }
    case 'match': return { match: bad(how) }
    case 'route': return { route: how === 'throws' ? bad(how) : async () => { throw new Error('late') } }
    case 'wrapSelector': return { wrapSelector: (): Selector => ({ select: bad(how) }) }
    case 'onForward': return { onForward: bad(how) }
    case 'onResponse': return { onResponse: bad(how) }
    case 'targetState': return { targetState: bad(how) }
  }
  throw new Error(hook)
}

async function run (hook: string, how: Failure, failMode: 'open' | 'closed') {
  const def = { name: 'failing', version: '1', configSchema: { type: 'object' } as const, setup: () => failing(hook, how) }
  const h = await pluginHarness(def, {}, { targetGroups: groups, failMode })
  const r = await h.request({ forwardTo: 'stable', response })
  await h.close()
  return { r, h }
}

const kinds: Array<{ hook: string, how: Failure }> = []
for (const hook of ['onRequest', 'match', 'route', 'wrapSelector', 'onForward', 'onResponse', 'targetState']) {
  for (const how of ['throws', 'promise'] as const) kinds.push({ hook, how })
}

describe('containment verdict', () => {
  it.each(kinds.filter((k) => k.hook !== 'targetState'))('fail-closed $hook that $how: counted once, the request gets 500 and no target', async ({ hook, how }) => {
    const { r } = await run(hook, how, 'closed')
    expect(r.failures.map((f) => f.hook)).toEqual([hook])
    expect(r.status).toBe(500)
    if (hook !== 'onForward' && hook !== 'onResponse') expect(r.target).toBeNull()
    expect(r.responseHeaders).toBeUndefined()
  })

  it.each(kinds)('fail-open $hook that $how: counted once, the request goes on as without the plugin', async ({ hook, how }) => {
    const { r, h } = await run(hook, how, 'open')
    const failures = hook === 'targetState' ? h.failures : r.failures
    expect(failures.map((f) => f.hook)).toEqual(hook === 'targetState' ? ['targetState', 'targetState'] : [hook])
    expect(r.status).toBe(200)
    expect(r.target?.endpoint.id).toBe('10.0.0.1:80') // the core's round robin, first pick
    expect(r.responseHeaders).toEqual({ 'content-type': 'text/plain' })
  })

  it.each(['throws', 'promise'] as const)('a failing targetState that %s leaves targets as configured in either fail mode', async (how) => {
    const { r, h } = await run('targetState', how, 'closed')
    expect(h.failures.map((f) => f.hook)).toEqual(['targetState', 'targetState'])
    expect(h.groups.get('stable')!.targets.map((t) => [t.eligible, t.weight])).toEqual([[true, 1], [true, 1]])
    expect(r.status).toBe(200)
  })

  it('a fail-open wrapper whose promise is rejected later never becomes an unhandled rejection', async () => {
    const seen: unknown[] = []
    const onRejection = (e: unknown): void => { seen.push(e) }
    process.on('unhandledRejection', onRejection)
    try {
      await run('wrapSelector', 'promise', 'open')
      await new Promise((resolve) => setTimeout(resolve, 10))
    } finally {
      process.off('unhandledRejection', onRejection)
    }
    expect(seen).toEqual([])
  })
})
