// The plugin as a sidecar runs it, through the hand-made driver (driver.ts): shards, a leader, published state,
// messages and reports, under fake timers so intervals and ejections pass in no time. Probes are scripted per
// target here; plugin-probe.test.ts runs the real probe task.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ProbeResult } from '../../../plugins/health-check/health.ts'
import { Driver, section, type DriverGroup } from './driver.ts'

const PASS: ProbeResult = { ok: true }
const REFUSED: ProbeResult = { ok: false, reason: 'Target.ConnectionRefused', description: 'Connection refused' }
const MISMATCH: ProbeResult = { ok: false, reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [503]' }

const A = '10.0.0.1:80'
const B = '10.0.0.2:80'
const C = '10.0.0.3:80'
const D = '10.0.0.4:80'
const target = (id: string): { host: string, port: number } => ({ host: id.split(':')[0]!, port: Number(id.split(':')[1]) })

/** Probe results by target id; a target missing from it passes. */
let script: Map<string, ProbeResult>
let driver: Driver

const HC = { intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 3, unhealthyThresholdCount: 2 }

function group (ids: string[], raw: Record<string, unknown>, name = 'api'): DriverGroup {
  return { name, targets: ids.map(target), config: section(raw) }
}

async function advance (ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
  // What those timers queued in turn: probe results, then the publish they cause, then its delivery. A fake
  // clock runs the timers in (from, to]: an immediate queued at `to` needs the clock moved on, by 1 ms here.
  for (let i = 0; i < 4; i++) await vi.advanceTimersByTimeAsync(1)
}

/** Moves the clock in steps of 100 ms until `target` has been probed `n` more times. */
async function untilProbed (d: Driver, target: string, n = 1): Promise<void> {
  const count = (): number => d.probes.filter((p) => `${p.host}:${p.port}` === target).length
  const goal = count() + n
  for (let i = 0; i < 1000 && count() < goal; i++) await advance(100)
  expect(count()).toBe(goal)
  // A probe counts when it is asked for; one asked in advance()'s last step has its result handled (and
  // published) only on the next turns of the fake clock, which the caller's expectations need.
  await advance(0)
}

function make (shards = 1): Driver {
  driver = new Driver({ shards, probe: (req) => Promise.resolve(script.get(`${req.host}:${req.port}`) ?? PASS) })
  return driver
}

beforeEach(() => {
  vi.useFakeTimers()
  script = new Map()
})
afterEach(async () => {
  await driver?.close()
  vi.useRealTimers()
})

describe('start-up', () => {
  it('serves every target while none has a verdict, probes each at once, and makes one result its verdict', async () => {
    const d = make(2)
    script.set(B, REFUSED)
    await d.start([group([A, B], { healthCheck: HC, slowStartSeconds: 30 })])
    expect(d.eligible('api')).toEqual([A, B]) // fail-open: no verdict yet
    await advance(0)
    expect(d.probes.map((p) => `${p.host}:${p.port}`)).toEqual([A, B])
    expect(d.reports.map((r) => `${r.target} ${r.state}`)).toEqual([`${A} initial`, `${B} initial`, `${A} healthy`, `${B} unhealthy`])
    expect(d.states('api')).toEqual({ [A]: 'healthy', [B]: 'unhealthy Target.ConnectionRefused' })
    for (const shard of [0, 1]) expect(d.view('api', shard)).toEqual([{ id: A, eligible: true, weight: 1 }, { id: B, eligible: false, weight: 1 }])
  })

  it('reports targets of a group without healthCheck healthy at once and probes nothing', async () => {
    const d = make()
    await d.start([group([A, B], { outlierDetection: {} })])
    await advance(60_000)
    expect(d.probes).toEqual([])
    expect(d.states('api')).toEqual({ [A]: 'healthy', [B]: 'healthy' })
    expect(d.eligible('api')).toEqual([A, B])
  })

  it('reports each target once per change: a target that keeps passing is reported once', async () => {
    const d = make()
    await d.start([group([A], { healthCheck: HC })])
    await advance(60_000)
    expect(d.reports.map((r) => r.state)).toEqual(['initial', 'healthy'])
  })
})

describe('thresholds after start-up', () => {
  it('keeps a registered target initial and out until the healthy threshold, then ramps it up', async () => {
    const d = make()
    await d.start([group([A], { healthCheck: HC, slowStartSeconds: 30 })])
    await advance(0)
    d.setGroups([group([A, C], { healthCheck: HC, slowStartSeconds: 30 })])
    await advance(0)
    expect(d.states('api')[C]).toBe('initial Elb.InitialHealthChecking')
    expect(d.eligible('api')).toEqual([A])
    await advance(5_500 * 1) // two passes so far (one at once, one an interval later)
    expect(d.eligible('api')).toEqual([A])
    await advance(5_500)
    expect(d.states('api')[C]).toBe('healthy')
    const w0 = d.view('api').find((t) => t.id === C)!.weight
    expect(w0).toBeGreaterThanOrEqual(0.1)
    expect(w0).toBeLessThan(0.17) // healthy 0-2 s ago (the third probe's jitter)
    await advance(15_000)
    const w15 = d.view('api').find((t) => t.id === C)!.weight
    expect(w15).toBeGreaterThan(0.5)
    expect(w15).toBeLessThan(0.65)
    const refreshes = d.shards[0]!.refreshes
    expect(refreshes).toBeGreaterThanOrEqual(13) // about one a second while it ramps
    await advance(20_000)
    expect(d.view('api').find((t) => t.id === C)!.weight).toBe(1)
    const after = d.shards[0]!.refreshes
    await advance(30_000)
    expect(d.shards[0]!.refreshes).toBe(after) // the ramp is over: no more refreshes
  })

  it('makes a new target unhealthy after the unhealthy threshold of failures, not before', async () => {
    const d = make()
    await d.start([group([A], { healthCheck: HC })])
    await advance(0)
    script.set(C, MISMATCH)
    d.setGroups([group([A, C], { healthCheck: HC })])
    await advance(0)
    expect(d.states('api')[C]).toBe('initial Elb.InitialHealthChecking')
    await advance(5_500)
    expect(d.states('api')[C]).toBe('unhealthy Target.ResponseCodeMismatch')
    expect(d.reports.at(-1)!.description).toBe('Health checks failed with these codes: [503]')
  })

  it('takes a healthy target out after the unhealthy threshold and back after the healthy one', async () => {
    const d = make()
    await d.start([group([A, B], { healthCheck: HC })])
    await advance(0)
    script.set(A, REFUSED)
    await untilProbed(d, A)
    expect(d.eligible('api')).toEqual([A, B]) // one failure: still in
    await untilProbed(d, A)
    expect(d.eligible('api')).toEqual([B])
    script.delete(A)
    await untilProbed(d, A, 2)
    expect(d.eligible('api')).toEqual([B])
    await untilProbed(d, A)
    expect(d.eligible('api')).toEqual([A, B])
  })

  it('brings a target back from maintenance through initial', async () => {
    const d = make()
    await d.start([group([A, B], { healthCheck: HC })])
    await advance(0)
    d.setGroups([group([B], { healthCheck: HC })]) // A in maintenance: not among the targets
    await advance(10_000)
    d.setGroups([group([A, B], { healthCheck: HC })])
    await advance(0)
    expect(d.states('api')[A]).toBe('initial Elb.InitialHealthChecking')
    expect(d.eligible('api')).toEqual([B])
  })

  it('asks the shards to refresh only when an answer changed', async () => {
    const d = make(2)
    await d.start([group([A, B], { healthCheck: HC })])
    await advance(0)
    const before = d.shards.map((s) => s.refreshes)
    await advance(60_000) // passes and passes: no change
    expect(d.shards.map((s) => s.refreshes)).toEqual(before)
    script.set(A, REFUSED)
    const published = d.lastState
    await untilProbed(d, A) // one failure: a new state (its count), the same answers
    expect(d.lastState).not.toEqual(published)
    expect(d.shards.map((s) => s.refreshes)).toEqual(before)
    await untilProbed(d, A) // the second: A is out
    expect(d.shards.map((s) => s.refreshes)).toEqual(before.map((n) => n + 1))
  })
})

describe('config changes', () => {
  it('makes every target healthy at once when healthCheck is removed, and stops probing', async () => {
    const d = make()
    script.set(B, REFUSED)
    await d.start([group([A, B], { healthCheck: HC })])
    await advance(0)
    expect(d.eligible('api')).toEqual([A])
    d.setGroups([group([A, B], { outlierDetection: {} })])
    await advance(0)
    expect(d.states('api')).toEqual({ [A]: 'healthy', [B]: 'healthy' })
    expect(d.eligible('api')).toEqual([A, B])
    const probes = d.probes.length
    await advance(30_000)
    expect(d.probes.length).toBe(probes)
  })

  it('stops probing the targets of a group no longer served', async () => {
    const d = make()
    await d.start([group([A], { healthCheck: HC }), group([B], { healthCheck: HC }, 'web')])
    await advance(0)
    d.setGroups([group([A], { healthCheck: HC })])
    d.probes = []
    await advance(30_000)
    expect(new Set(d.probes.map((p) => p.host))).toEqual(new Set(['10.0.0.1']))
  })
})

describe('fail-open', () => {
  it('routes to every target when none is healthy (failOpen, the default)', async () => {
    const d = make()
    script.set(A, REFUSED)
    script.set(B, REFUSED)
    await d.start([group([A, B], { healthCheck: HC })])
    await advance(0)
    expect(d.states('api')).toEqual({ [A]: 'unhealthy Target.ConnectionRefused', [B]: 'unhealthy Target.ConnectionRefused' })
    expect(d.eligible('api')).toEqual([A, B])
  })

  it('routes to none with failOpen false once the verdicts are in, but to all before', async () => {
    const d = make()
    script.set(A, REFUSED)
    script.set(B, REFUSED)
    await d.start([group([A, B], { healthCheck: HC, failOpen: false })])
    expect(d.eligible('api')).toEqual([A, B]) // no verdict yet
    await advance(0)
    expect(d.eligible('api')).toEqual([])
  })
})

describe('probe schedule', () => {
  it('probes each target every interval ± 10 %, and takes a new interval and path without losing states', async () => {
    const d = make()
    script.set(B, REFUSED)
    await d.start([group([A, B], { healthCheck: HC })])
    const times: number[] = []
    const start = Date.now()
    const seen = d.probes.length
    await advance(0)
    for (let i = 0; i < 400; i++) { // about 40 s
      const n = d.probes.length
      await advance(100)
      if (d.probes.slice(n).some((p) => p.host === '10.0.0.1')) times.push(Date.now() - start)
    }
    expect(d.probes.length).toBeGreaterThan(seen)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    expect(gaps.length).toBeGreaterThanOrEqual(6)
    for (const g of gaps) { // 4.5-5.5 s, seen in steps of about 100 ms
      expect(g).toBeGreaterThanOrEqual(4_350)
      expect(g).toBeLessThanOrEqual(5_650)
    }
    expect(new Set(gaps).size).toBeGreaterThan(1) // jittered, not in step
    d.setGroups([group([A, B], { healthCheck: { ...HC, intervalSeconds: 2, timeoutSeconds: 1, path: '/ready' } })])
    d.probes = []
    await advance(2_300)
    expect(d.probes.filter((p) => p.host === '10.0.0.1').map((p) => p.path)).toContain('/ready')
    expect(d.states('api')).toEqual({ [A]: 'healthy', [B]: 'unhealthy Target.ConnectionRefused' })
  })

  it('never runs two probes of one target at once, however slow the pool is', async () => {
    let running = 0
    let most = 0
    driver = new Driver({
      probe: async () => {
        running++
        most = Math.max(most, running)
        await new Promise((resolve) => setTimeout(resolve, 12_000)) // longer than two intervals
        running--
        return PASS
      },
    })
    await driver.start([group([A], { healthCheck: HC })])
    await advance(60_000)
    expect(most).toBe(1)
    expect(driver.probes.length).toBeGreaterThanOrEqual(4)
  })

  it('leaves no timer behind once closed', async () => {
    const d = make(2)
    await d.start([group([A, B], { healthCheck: HC, outlierDetection: { baseEjectionSeconds: 10 }, slowStartSeconds: 30 })])
    await advance(0)
    d.setGroups([group([A, B, C], { healthCheck: HC, outlierDetection: { baseEjectionSeconds: 10 }, slowStartSeconds: 30 })])
    for (let i = 0; i < 5; i++) d.respond(1, 'api', A, 503)
    await advance(16_000) // C ramping, A ejected: timers of every kind running
    expect(vi.getTimerCount()).toBeGreaterThan(3)
    await d.close()
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('outlier detection', () => {
  const OD = { consecutiveFailures: 3, baseEjectionSeconds: 10, maxEjectionSeconds: 25, maxEjectionPercent: 50 }

  it('ejects in the observing shard at its own threshold, then everywhere, and brings the target back in time', async () => {
    const d = make(2)
    await d.start([group([A, B, C], { outlierDetection: OD })])
    await advance(0)
    d.respond(1, 'api', A, 500)
    d.respond(1, 'api', A, 502)
    expect(d.eligible('api', 1)).toEqual([A, B, C]) // two: not yet
    d.respond(1, 'api', A, 503)
    expect(d.eligible('api', 1)).toEqual([B, C]) // at once, before the leader has heard
    expect(d.shards[1]!.refreshes).toBe(1)
    expect(d.eligible('api', 0)).toEqual([A, B, C])
    await advance(0)
    expect(d.eligible('api', 0)).toEqual([B, C])
    expect(d.eligible('api', 1)).toEqual([B, C])
    expect(d.states('api')[A]).toBe('unhealthy Target.OutlierEjected')
    await advance(9_000)
    expect(d.eligible('api', 1)).toEqual([B, C])
    await advance(1_500)
    expect(d.states('api')[A]).toBe('healthy')
    expect(d.eligible('api', 0)).toEqual([A, B, C])
    expect(d.eligible('api', 1)).toEqual([A, B, C])
  })

  it('counts failures from every shard together, and attempts that failed as failures', async () => {
    const d = make(3)
    await d.start([group([A, B, C], { outlierDetection: OD })])
    await advance(0)
    d.respond(1, 'api', A, 500)
    d.fail(2, 'api', A, 'reset')
    d.fail(0, 'api', A, 'connect-timeout')
    await advance(0)
    expect(d.states('api')[A]).toBe('unhealthy Target.OutlierEjected')
    expect([0, 1, 2].map((s) => d.eligible('api', s))).toEqual([[B, C], [B, C], [B, C]])
  })

  it('starts the count over on a success, and ignores client aborts and Pilotfish\'s own answers', async () => {
    const d = make(2)
    await d.start([group([A, B, C], { outlierDetection: OD })])
    await advance(0)
    d.respond(1, 'api', A, 500)
    d.respond(1, 'api', A, 500)
    d.respond(1, 'api', A, 200)
    d.respond(1, 'api', A, 500)
    d.respond(1, 'api', A, 0, 7) // the client went away
    d.respond(1, 'api', A, 503, 2) // no target: Pilotfish's 503
    d.respond(1, 'api', A, 500)
    await advance(0)
    expect(d.eligible('api', 1)).toEqual([A, B, C])
    expect(d.states('api')[A]).toBe('healthy')
  })

  it('sends the leader nothing for successes, and one message per turn of failures', async () => {
    const d = make(2)
    await d.start([group([A, B, C], { outlierDetection: OD })])
    await advance(0)
    let messages = 0
    const leader = d.shards[0]!.hooks
    const onMessage = leader.onMessage!.bind(leader)
    leader.onMessage = (m, from) => { messages++; onMessage(m, from) }
    for (let i = 0; i < 1000; i++) d.respond(1, 'api', A, 200)
    await advance(0)
    expect(messages).toBe(0)
    d.respond(1, 'api', A, 500)
    d.respond(1, 'api', B, 500)
    await advance(0)
    d.respond(1, 'api', A, 200)
    d.respond(1, 'api', A, 200)
    await advance(0)
    expect(messages).toBe(2)
  })

  it('never ejects more than maxEjectionPercent of a group, and none at 0 %', async () => {
    const d = make(2)
    await d.start([group([A, B, C, D], { outlierDetection: OD }), group([A, B], { outlierDetection: { ...OD, maxEjectionPercent: 0 } }, 'none')])
    await advance(0)
    for (const id of [A, B, C, D]) for (let i = 0; i < 3; i++) d.respond(i % 2, 'api', id, 500)
    for (const id of [A, B]) for (let i = 0; i < 10; i++) d.respond(1, 'none', id, 500)
    await advance(0)
    expect(d.eligible('api', 0)).toHaveLength(2)
    expect(d.eligible('api', 1)).toHaveLength(2)
    expect(d.eligible('none', 1)).toEqual([A, B])
  })

  it('lengthens a repeat ejection and caps it at maxEjectionSeconds', async () => {
    const d = make()
    await d.start([group([A, B, C], { outlierDetection: OD })])
    await advance(0)
    const ejectFor = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) d.respond(0, 'api', A, 500)
      await advance(0)
      const from = Date.now()
      while (!d.eligible('api').includes(A)) await advance(500)
      return Date.now() - from
    }
    const lengths = [await ejectFor(), await ejectFor(), await ejectFor()]
    expect(lengths[0]).toBeGreaterThanOrEqual(10_000)
    expect(lengths[0]).toBeLessThan(11_000)
    expect(lengths[1]).toBeGreaterThanOrEqual(20_000)
    expect(lengths[1]).toBeLessThan(21_000)
    expect(lengths[2]).toBeGreaterThanOrEqual(25_000) // 30 s capped at 25
    expect(lengths[2]).toBeLessThan(26_000)
  })

  it('brings an ejected target back early when an active probe passes', async () => {
    const d = make()
    await d.start([group([A, B, C], { healthCheck: HC, outlierDetection: { ...OD, baseEjectionSeconds: 60 } })])
    await advance(0)
    for (let i = 0; i < 3; i++) d.respond(0, 'api', A, 500)
    await advance(0)
    expect(d.eligible('api')).toEqual([B, C])
    await advance(6_000) // the next probe of A passes
    expect(d.eligible('api')).toEqual([A, B, C])
    expect(d.states('api')[A]).toBe('healthy')
  })
})

describe('a replaced leader', () => {
  it('resumes from the published state: no start-up verdicts again, ejections and counts kept, nothing reported twice', async () => {
    const d = make(2)
    const OD = { consecutiveFailures: 3, baseEjectionSeconds: 30 }
    await d.start([group([A, B, C], { healthCheck: HC, outlierDetection: OD })])
    await advance(0)
    script.set(B, REFUSED)
    await advance(5_500) // B: one failure of two
    for (let i = 0; i < 3; i++) d.respond(1, 'api', C, 500)
    await advance(0)
    expect(d.states('api')).toEqual({ [A]: 'healthy', [B]: 'healthy', [C]: 'unhealthy Target.OutlierEjected' })
    const reports = d.reports.length
    script.set(C, REFUSED) // no probe of C may pass to un-eject it now
    await d.shards[0]!.hooks.close?.()
    await d.start(d.groups, 0) // shard 0 replaced: setup, the last state, the groups
    await advance(0)
    expect(d.reports.length).toBe(reports)
    expect(d.eligible('api', 0)).toEqual([A, B])
    await advance(5_500) // B's second failure in a row: the count went on from the state
    expect(d.states('api')[B]).toBe('unhealthy Target.ConnectionRefused')
    expect(d.eligible('api', 1)).toEqual([A])
  })

  it('resumes just as well when the last state comes after the first groups', async () => {
    const d = make()
    await d.start([group([A, B], { healthCheck: HC })])
    await advance(0)
    script.set(A, REFUSED)
    await untilProbed(d, A) // A: one failure of two
    const reports = d.reports.length
    await d.shards[0]!.hooks.close?.()
    await d.start(d.groups, 0, true)
    await untilProbed(d, A)
    await untilProbed(d, B)
    // A fresh start would report both initial, then A unhealthy and B healthy; resumed, only A's second
    // failure in a row is news.
    expect(d.reports.slice(reports).map((r) => `${r.target} ${r.state} ${r.reason}`)).toEqual([`${A} unhealthy Target.ConnectionRefused`])
  })

  it('ignores a state of an older generation', async () => {
    const d = make()
    await d.start([group([A, B], { healthCheck: HC })])
    await advance(0)
    const stale = structuredClone(d.lastState) as { gen: number, groups: Record<string, Record<string, unknown[]>> }
    stale.gen = 0
    stale.groups.api![A]![0] = 2 // unhealthy, says the retiring leader
    d.shards[0]!.hooks.onState?.(stale)
    expect(d.eligible('api')).toEqual([A, B])
  })
})
