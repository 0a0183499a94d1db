// The canary example plugin, run through the SDK's harness: the split, the override header and stickiness.
import { describe, expect, it } from 'vitest'
import canary from '../../../examples/plugins/canary/index.ts'
import { pluginHarness, type HarnessRequestInit, type HarnessResult, type PluginHarness } from '../../../core/plugin/harness.ts'
import { PilotfishError } from '../../../core/errors.ts'

const groups = { stable: [{ host: '10.0.0.1', port: 80 }], canary: [{ host: '10.0.1.1', port: 80 }] }
const base = { stable: 'stable', canary: 'canary' }

const groupOf = (r: HarnessResult): string | undefined => (r.route as { targetGroup?: string } | undefined)?.targetGroup

/** How many of n requests (the i-th built by init(i)) went to the canary. */
async function canaryCount (h: PluginHarness, n: number, init: (i: number) => HarnessRequestInit = () => ({})): Promise<number> {
  let count = 0
  for (let i = 0; i < n; i++) if (groupOf(await h.request(init(i))) === 'canary') count++
  return count
}

/** Within 6 standard deviations of a binomial(n, p) mean: a correct split fails this about once in 5·10⁸ runs. */
function expectShare (count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p))
  expect(count).toBeGreaterThanOrEqual(n * p - 6 * sd)
  expect(count).toBeLessThanOrEqual(n * p + 6 * sd)
}

describe('canary plugin', () => {
  it.each([
    { desc: 'requires both groups', config: { percent: 5 }, path: '/config/stable' },
    { desc: 'refuses a percent above 100', config: { ...base, percent: 150 }, path: '/config/percent' },
    { desc: 'refuses a group name that cannot exist', config: { ...base, canary: 'Canary!' }, path: '/config/canary' },
    { desc: 'refuses sticky on both a header and a cookie', config: { ...base, sticky: { header: 'x-user', cookie: 'sid' } }, path: '/config/sticky' },
    { desc: 'refuses a force header that is not a header name', config: { ...base, forceHeader: 'x canary' }, path: '/config/forceHeader' },
  ])('config: $desc', async ({ config, path }) => {
    const err = await pluginHarness(canary, config).catch((e: unknown) => e)
    expect((err as PilotfishError).code).toBe('PF_ERR_CONFIG_INVALID')
    expect((err as PilotfishError).problems.map((p) => p.path)).toContain(path)
  })

  it('sends about percent of requests to the canary (10,000 requests, within 6σ)', async () => {
    const h = await pluginHarness(canary, { ...base, percent: 10 }, { targetGroups: groups })
    expectShare(await canaryCount(h, 10_000), 10_000, 0.1)
  })

  it('sends nothing to the canary at 0 % and everything at 100 %', async () => {
    const none = await pluginHarness(canary, { ...base, percent: 0 })
    const all = await pluginHarness(canary, { ...base, percent: 100 })
    expect(await canaryCount(none, 1000)).toBe(0)
    expect(await canaryCount(all, 1000)).toBe(1000)
  })

  it('forwards to a target of the group it picked', async () => {
    const h = await pluginHarness(canary, { ...base, percent: 100 }, { targetGroups: groups })
    expect((await h.request()).target?.endpoint.id).toBe('10.0.1.1:80')
  })

  it('obeys x-canary: always and never whatever the percent, and ignores other values', async () => {
    const none = await pluginHarness(canary, { ...base, percent: 0 })
    const all = await pluginHarness(canary, { ...base, percent: 100 })
    expect(groupOf(await none.request({ headers: { 'x-canary': 'always' } }))).toBe('canary')
    expect(groupOf(await all.request({ headers: { 'x-canary': 'never' } }))).toBe('stable')
    expect(groupOf(await none.request({ headers: { 'x-canary': 'yes' } }))).toBe('stable')
  })

  it('reads the force header named in the config, and none when it is false', async () => {
    const named = await pluginHarness(canary, { ...base, forceHeader: 'X-Lane' })
    const off = await pluginHarness(canary, { ...base, forceHeader: false })
    expect(groupOf(await named.request({ headers: { 'x-lane': 'always' } }))).toBe('canary')
    expect(groupOf(await off.request({ headers: { 'x-canary': 'always' } }))).toBe('stable')
  })

  it('keeps each user on one side when sticky on a header', async () => {
    const h = await pluginHarness(canary, { ...base, percent: 50, sticky: { header: 'x-user' } })
    for (let user = 0; user < 50; user++) {
      const sides = new Set<string | undefined>()
      for (let k = 0; k < 10; k++) sides.add(groupOf(await h.request({ headers: { 'x-user': `user-${user}` } })))
      expect(sides.size).toBe(1)
    }
  })

  it('splits distinct sticky users by percent (10,000 users, within 6σ)', async () => {
    const h = await pluginHarness(canary, { ...base, percent: 10, sticky: { header: 'x-user' } })
    expectShare(await canaryCount(h, 10_000, (i) => ({ headers: { 'x-user': `user-${i}` } })), 10_000, 0.1)
  })

  it('keeps canary users on the canary when the percent is raised', async () => {
    const at5 = await pluginHarness(canary, { ...base, percent: 5, sticky: { cookie: 'sid' } })
    const at20 = await pluginHarness(canary, { ...base, percent: 20, sticky: { cookie: 'sid' } })
    for (let i = 0; i < 2000; i++) {
      const init = { headers: { cookie: `theme=dark; sid=s${i}` } }
      if (groupOf(await at5.request(init)) === 'canary') expect(groupOf(await at20.request(init))).toBe('canary')
    }
  })

  it('finds the sticky cookie among others, and not by a name it merely ends with', async () => {
    const h = await pluginHarness(canary, { ...base, percent: 50, sticky: { cookie: 'sid' } })
    const a = groupOf(await h.request({ headers: { cookie: 'a=1; sid=u1; b=2' } }))
    for (let k = 0; k < 20; k++) expect(groupOf(await h.request({ headers: { cookie: `sid=u1; x=${k}` } }))).toBe(a)
    // "xsid" is another cookie: without sid the request is split at random, so both sides show up.
    expectShare(await canaryCount(h, 2000, () => ({ headers: { cookie: 'xsid=u1' } })), 2000, 0.5)
  })
})
