// The contract every selector (and every selector-wrapping plugin) keeps, plus the group and request builders.
import { describe, expect, it } from 'vitest'
import type { RequestCtx, Selector, Target, TargetGroup } from '../../../core/pipeline.ts'

/** A group whose targets the test can flip (Target.eligible is mutable; the group itself is not). */
export interface TestGroup extends TargetGroup {
  readonly targets: Target[]
}

/** One target per weight, on 127.0.0.1:1, :2, …; all eligible and idle. */
export function makeGroup (weights: readonly number[], name = 'g'): TestGroup {
  const targets: Target[] = []
  for (let i = 0; i < weights.length; i++) {
    const port = i + 1
    targets.push({ endpoint: { id: `127.0.0.1:${port}`, host: '127.0.0.1', port, inFlight: 0 }, weight: weights[i]!, eligible: true })
  }
  return { name, targets }
}

export interface CtxInit {
  clientIp?: string
  /** Lower-case names, as RequestCtx.header looks them up. */
  headers?: Record<string, string>
}

export function makeCtx (init: CtxInit = {}): RequestCtx {
  const headers = init.headers ?? {}
  return {
    method: 'GET',
    path: '/',
    query: '',
    host: 'example.test',
    clientIp: init.clientIp ?? '192.0.2.1',
    clientPort: 40000,
    protocol: 'http',
    listenerPort: 80,
    header (name: string) { return headers[name] },
  }
}

/** The i-th of a stream of distinct clients: its own IP, `x-key` header and `session` cookie. */
export function clientCtx (i: number): RequestCtx {
  return makeCtx({
    clientIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    headers: { 'x-key': `key-${i}`, cookie: `theme=dark; session=s${i}` },
  })
}

/** Picks `count` times with distinct clients, returning how often each target was picked (null → error). */
export function pickCounts (selector: Selector, group: TargetGroup, count: number): Map<Target, number> {
  const counts = new Map<Target, number>()
  for (let i = 0; i < count; i++) {
    const t = selector.select(clientCtx(i), group)
    if (t === null) throw new Error(`pick ${i} returned null`)
    counts.set(t, (counts.get(t) ?? 0) + 1)
  }
  return counts
}

const PICKS = 2000

export function runSelectorContract (name: string, create: (group: TargetGroup) => Selector): void {
  describe(`${name}: selector contract`, () => {
    it('returns null for a group with no targets', () => {
      const group = makeGroup([])
      expect(create(group).select(clientCtx(0), group)).toBeNull()
    })

    it('returns null when every target is ineligible', () => {
      const group = makeGroup([1, 2, 3])
      for (const t of group.targets) t.eligible = false
      const selector = create(group)
      for (let i = 0; i < 50; i++) expect(selector.select(clientCtx(i), group)).toBeNull()
    })

    it('returns only members of its group and never an ineligible one', () => {
      const group = makeGroup([1, 5, 2, 1, 3])
      group.targets[1]!.eligible = false
      group.targets[3]!.eligible = false
      const selector = create(group)
      for (let i = 0; i < PICKS; i++) {
        const t = selector.select(clientCtx(i), group)
        expect(t).not.toBeNull()
        expect(group.targets.includes(t!)).toBe(true)
        expect(t!.eligible).toBe(true)
      }
    })

    it('uses every eligible target eventually', () => {
      const group = makeGroup([1, 5, 2, 1, 3])
      group.targets[2]!.eligible = false
      const counts = pickCounts(create(group), group, PICKS)
      expect(new Set(counts.keys())).toEqual(new Set(group.targets.filter((t) => t.eligible)))
    })

    it('stops picking a target as soon as it becomes ineligible, and picks it again once it is back', () => {
      const group = makeGroup([1, 2, 3])
      const selector = create(group)
      const flipping = group.targets[2]!
      pickCounts(selector, group, 100) // let any cached state settle on "all eligible"
      flipping.eligible = false
      for (let i = 0; i < PICKS; i++) expect(selector.select(clientCtx(i), group)).not.toBe(flipping)
      flipping.eligible = true
      expect(pickCounts(selector, group, PICKS).get(flipping) ?? 0).toBeGreaterThan(0)
    })

    it('returns null once the last eligible target leaves, and recovers when one returns', () => {
      const group = makeGroup([1, 1])
      const selector = create(group)
      pickCounts(selector, group, 10)
      for (const t of group.targets) t.eligible = false
      expect(selector.select(clientCtx(0), group)).toBeNull()
      group.targets[1]!.eligible = true
      for (let i = 0; i < 20; i++) expect(selector.select(clientCtx(i), group)).toBe(group.targets[1])
    })

    it('treats weight 0 as no traffic: never picks such a target, and returns null if only those are eligible', () => {
      const group = makeGroup([0, 2, 0, 1])
      const selector = create(group)
      const counts = pickCounts(selector, group, PICKS)
      expect(new Set(counts.keys())).toEqual(new Set([group.targets[1], group.targets[3]]))
      group.targets[1]!.eligible = false
      group.targets[3]!.eligible = false
      expect(selector.select(clientCtx(0), group)).toBeNull()
    })
  })
}
