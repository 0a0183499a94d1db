// Outlier detection's pure decisions (ejection cap, length, growth and decay) and a shard's observer (local
// ejection at its own threshold, edge-only messages, the leader's acks ending a local ejection).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Observer } from '../../../plugins/health-check/observer.ts'
import { decayed, eject, ejectionMs, maxEjected, merge, uneject } from '../../../plugins/health-check/outlier.ts'
import { newTarget } from '../../../plugins/health-check/health.ts'
import { T, type ObservationMessage, type PublishedState, type TargetTuple } from '../../../plugins/health-check/state.ts'

const cfg = { consecutiveFailures: 3, baseEjectionSeconds: 10, maxEjectionSeconds: 35, maxEjectionPercent: 50 }

describe('ejection decisions', () => {
  it.each([
    { n: 10, percent: 50, max: 5 },
    { n: 3, percent: 50, max: 1 },
    { n: 1, percent: 50, max: 1 },
    { n: 3, percent: 10, max: 1 }, // rounds down to 0, but one may always go
    { n: 10, percent: 0, max: 0 }, // 0 %: never
    { n: 4, percent: 100, max: 4 },
    { n: 0, percent: 50, max: 0 },
  ])('$n targets at $percent %: at most $max ejected', ({ n, percent, max }) => {
    expect(maxEjected(n, percent)).toBe(max)
  })

  it('lengthens each ejection by the base time, up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((k) => ejectionMs(k, cfg))).toEqual([10_000, 20_000, 30_000, 35_000, 35_000])
  })

  it('grows the ejection on each new one, and decays it one step per base time clean', () => {
    const t = newTarget(false)
    eject(t, cfg, 0)
    expect(t[T.EjectedUntil]).toBe(10_000)
    uneject(t, 10_000)
    eject(t, cfg, 15_000) // clean for 5 s: no decay
    expect(t[T.Ejections]).toBe(2)
    expect(t[T.EjectedUntil]).toBe(35_000)
    uneject(t, 35_000)
    eject(t, cfg, 36_000)
    expect(t[T.EjectedUntil] - 36_000).toBe(30_000)
    uneject(t, 66_000)
    eject(t, cfg, 66_000 + 25_000) // clean 25 s: two steps down (3 → 1), then this one: 2
    expect(t[T.Ejections]).toBe(2)
    expect(t[T.EjectedUntil] - 91_000).toBe(20_000)
    expect(decayed(5, 1000, 1000 + 1_000_000, cfg)).toBe(0)
  })

  it('resets the consecutive count on a success, and ignores observations while ejected', () => {
    const t: TargetTuple = newTarget(false)
    merge(t, 0, 2)
    merge(t, 1, 1)
    expect(t[T.Failures]).toBe(1)
    eject(t, cfg, 0)
    merge(t, 0, 50)
    expect(t[T.Failures]).toBe(0)
  })
})

describe('a shard\'s observer', () => {
  const sent: ObservationMessage[] = []
  let changes = 0
  const observers: Observer[] = []

  function observer (targets = ['a:1', 'b:1', 'c:1', 'd:1'], outlier = cfg): Observer {
    const o = new Observer(2, 'me', (m) => sent.push(m), () => changes++, () => Date.now())
    o.setGroups([{ name: 'g', cfg: outlier, targetIds: targets }])
    observers.push(o)
    return o
  }
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  const published = (acks: PublishedState['acks'], groups: PublishedState['groups'] = {}): PublishedState => ({ v: 1, id: 'leader', gen: 1, acks, groups })

  afterEach(() => {
    for (const o of observers) o.close()
    observers.length = 0
    sent.length = 0
    changes = 0
  })

  it('sends nothing for successes with no failures pending', async () => {
    const o = observer()
    for (let i = 0; i < 100; i++) o.success('g', 'a:1')
    o.success('other', 'a:1')
    await tick()
    expect(sent).toEqual([])
  })

  it('coalesces a turn\'s failures into one message, and sends the first success after them once', async () => {
    const o = observer()
    o.failure('g', 'a:1')
    o.failure('g', 'a:1')
    await tick()
    o.success('g', 'a:1')
    o.success('g', 'a:1')
    await tick()
    o.success('g', 'a:1')
    await tick()
    expect(sent).toEqual([
      { from: 'me', seq: 1, obs: [['g', 'a:1', 0, 2]] },
      { from: 'me', seq: 2, obs: [['g', 'a:1', 1, 0]] },
    ])
  })

  it('ejects locally the moment its own count reaches the threshold, and not before', () => {
    const o = observer()
    o.failure('g', 'a:1')
    o.failure('g', 'a:1')
    expect(o.locallyEjected('g', 'a:1')).toBe(false)
    o.failure('g', 'a:1')
    expect(o.locallyEjected('g', 'a:1')).toBe(true)
    expect(changes).toBe(1)
  })

  it('ejects locally no more than maxEjectionPercent of the group', () => {
    const o = observer() // 4 targets at 50 %: 2
    for (const id of ['a:1', 'b:1', 'c:1']) for (let i = 0; i < 3; i++) o.failure('g', id)
    expect(['a:1', 'b:1', 'c:1'].map((id) => o.locallyEjected('g', id))).toEqual([true, true, false])
  })

  it('counts the published ejections against the percent', () => {
    const o = observer()
    const e = newTarget(false)
    e[T.EjectedUntil] = 99
    e[T.Ejections] = 1
    o.onPublished(published([], { g: { 'b:1': e, 'c:1': e } }))
    for (let i = 0; i < 3; i++) o.failure('g', 'a:1')
    expect(o.locallyEjected('g', 'a:1')).toBe(false)
  })

  it('keeps a local ejection until the leader has acknowledged the message that carried it', async () => {
    const o = observer()
    for (let i = 0; i < 3; i++) o.failure('g', 'a:1')
    await tick()
    expect(sent.at(-1)!.seq).toBe(1)
    o.onPublished(published([null, null, ['me', 0]])) // a state made before it
    o.onPublished(published([null, null, ['someone-before-me', 7]])) // the shard's previous instance
    expect(o.locallyEjected('g', 'a:1')).toBe(true)
    o.onPublished(published([null, null, ['me', 1]])) // answered (here: refused): the published state decides
    expect(o.locallyEjected('g', 'a:1')).toBe(false)
    for (let i = 0; i < 2; i++) o.failure('g', 'a:1')
    expect(o.locallyEjected('g', 'a:1')).toBe(false) // counting from 0 again
  })

  it('ends a local ejection no answer came for after baseEjectionSeconds', () => {
    vi.useFakeTimers()
    try {
      const o = observer()
      for (let i = 0; i < 3; i++) o.failure('g', 'a:1')
      vi.advanceTimersByTime(9_900)
      expect(o.locallyEjected('g', 'a:1')).toBe(true)
      vi.advanceTimersByTime(200)
      expect(o.locallyEjected('g', 'a:1')).toBe(false)
      expect(changes).toBe(2) // in, and out
      o.close()
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('starts its count over when the leader publishes a new ejection of the target', () => {
    const o = observer()
    o.failure('g', 'a:1')
    o.failure('g', 'a:1')
    const e = newTarget(false)
    e[T.Ejections] = 1
    o.onPublished(published([], { g: { 'a:1': e } }))
    o.failure('g', 'a:1')
    o.failure('g', 'a:1')
    expect(o.locallyEjected('g', 'a:1')).toBe(false)
  })

  it('keeps counts of targets that stay across new groups, and forgets those gone', async () => {
    const o = observer(['a:1', 'b:1'])
    o.failure('g', 'a:1')
    o.failure('g', 'b:1')
    o.setGroups([{ name: 'g', cfg, targetIds: ['a:1', 'c:1'] }])
    o.failure('g', 'a:1')
    o.failure('g', 'a:1')
    expect(o.locallyEjected('g', 'a:1')).toBe(true)
    await tick()
    o.success('g', 'b:1') // gone: not watched
    o.success('g', 'c:1') // no failures: nothing to say
    await tick()
    expect(sent.flatMap((m) => m.obs).filter((x) => x[2] === 1)).toEqual([])
  })
})
