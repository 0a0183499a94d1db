// Consistent hash: same key → same target, even spread, minimal movement when targets leave or join.
import { describe, expect, it } from 'vitest'
import type { HashOn, RequestCtx, Target } from '../../../core/pipeline.ts'
import { ConsistentHashSelector, fnv1a32, hashKey } from '../../../core/selector/consistent-hash.ts'
import { LeastOutstandingSelector, RoundRobinSelector, WeightedRandomSelector, selectorFactory } from '../../../core/selector/index.ts'
import { makeCtx, makeGroup, runSelectorContract } from './selector.case.ts'
import type { TestGroup } from './selector.case.ts'

runSelectorContract('consistent hash on a header', (group) => new ConsistentHashSelector(group, { header: 'X-Key' }))
runSelectorContract('consistent hash on a cookie', (group) => new ConsistentHashSelector(group, { cookie: 'session' }))
runSelectorContract('consistent hash on the client IP', (group) => new ConsistentHashSelector(group, { sourceIp: true }))

const KEYS = 30_000
const byHeader: HashOn = { header: 'x-user' }

function userCtx (i: number): RequestCtx {
  return makeCtx({ headers: { 'x-user': `user-${i}` } })
}

/** The target index each of KEYS distinct keys maps to. */
function mapKeys (selector: ConsistentHashSelector, group: TestGroup): Int32Array {
  const out = new Int32Array(KEYS)
  for (let i = 0; i < KEYS; i++) out[i] = group.targets.indexOf(selector.select(userCtx(i), group)!)
  return out
}

function shares (mapping: Int32Array, targets: number): number[] {
  const counts = new Array<number>(targets).fill(0)
  for (const i of mapping) counts[i]!++
  return counts.map((c) => c / mapping.length)
}

describe('consistent hash', () => {
  it('sends the same key to the same target every time', () => {
    const group = makeGroup([1, 1, 1, 1, 1])
    const selector = new ConsistentHashSelector(group, byHeader)
    for (let i = 0; i < 100; i++) {
      const first = selector.select(userCtx(i), group)
      for (let k = 0; k < 5; k++) expect(selector.select(userCtx(i), group)).toBe(first)
    }
  })

  it('maps keys identically in every shard: the ring has no per-process seed', () => {
    const a = makeGroup([1, 2, 1])
    const b = makeGroup([1, 2, 1])
    expect(mapKeys(new ConsistentHashSelector(b, byHeader), b)).toEqual(mapKeys(new ConsistentHashSelector(a, byHeader), a))
  })

  it.each([
    { desc: 'a header (configured name matched case-insensitively)', hashOn: { header: 'X-Tenant' }, ctx: (v: string) => makeCtx({ headers: { 'x-tenant': v } }) },
    { desc: 'a cookie', hashOn: { cookie: 'sid' }, ctx: (v: string) => makeCtx({ headers: { cookie: `a=1; sid=${v}` } }) },
    { desc: 'the client IP', hashOn: { sourceIp: true }, ctx: (v: string) => makeCtx({ clientIp: v }) },
  ] as { desc: string, hashOn: HashOn, ctx: (v: string) => RequestCtx }[])('keys on $desc', ({ hashOn, ctx }) => {
    const group = makeGroup([1, 1, 1, 1])
    const selector = new ConsistentHashSelector(group, hashOn)
    const seen = new Set<Target>()
    for (let i = 0; i < 200; i++) {
      const value = `10.0.0.${i}`
      const t = selector.select(ctx(value), group)
      expect(selector.select(ctx(value), group)).toBe(t)
      seen.add(t!)
    }
    expect(seen.size).toBe(4) // the key really drives the choice
  })

  it('spreads 30,000 keys over 3 equal targets within 33.3% ± 5 points each', () => {
    const group = makeGroup([1, 1, 1])
    for (const share of shares(mapKeys(new ConsistentHashSelector(group, byHeader), group), 3)) {
      expect(Math.abs(share - 1 / 3)).toBeLessThan(0.05)
    }
  })

  it('skews shares by weight (1,2,3 → 16.7/33.3/50% ± 5 points)', () => {
    const group = makeGroup([1, 2, 3])
    const got = shares(mapKeys(new ConsistentHashSelector(group, byHeader), group), 3)
    const want = [1 / 6, 2 / 6, 3 / 6]
    for (let i = 0; i < 3; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(0.05)
  })

  it('moves only the keys of a target that becomes ineligible, spreading them over the others', () => {
    const group = makeGroup([1, 1, 1])
    const selector = new ConsistentHashSelector(group, byHeader)
    const before = mapKeys(selector, group)
    group.targets[1]!.eligible = false
    const after = mapKeys(selector, group)
    const movedTo = [0, 0, 0]
    for (let i = 0; i < KEYS; i++) {
      if (before[i] !== 1) expect(after[i]).toBe(before[i])
      else movedTo[after[i]!]!++
    }
    expect(movedTo[1]).toBe(0)
    expect(movedTo[0]).toBeGreaterThan(0)
    expect(movedTo[2]).toBeGreaterThan(0)
    group.targets[1]!.eligible = true
    expect(mapKeys(selector, group)).toEqual(before) // and they come back when it does
  })

  it('moves keys only onto a newly added target when the next snapshot adds one', () => {
    const three = makeGroup([1, 1, 1])
    const four = makeGroup([1, 1, 1, 1])
    const before = mapKeys(new ConsistentHashSelector(three, byHeader), three)
    const after = mapKeys(new ConsistentHashSelector(four, byHeader), four)
    let moved = 0
    for (let i = 0; i < KEYS; i++) {
      if (after[i] !== before[i]) {
        expect(after[i]).toBe(3)
        moved++
      }
    }
    expect(Math.abs(moved / KEYS - 1 / 4)).toBeLessThan(0.05)
  })

  it('falls back to round robin over eligible targets when the key is missing or empty', () => {
    const group = makeGroup([1, 1, 1])
    group.targets[0]!.eligible = false
    const selector = new ConsistentHashSelector(group, byHeader)
    const noKey = makeCtx()
    const emptyKey = makeCtx({ headers: { 'x-user': '' } })
    const got = [noKey, emptyKey, noKey, emptyKey].map((c) => group.targets.indexOf(selector.select(c, group)!))
    expect(got).toEqual([1, 2, 1, 2])
  })

  it('hashes with FNV-1a 32 (published test vectors) before mixing', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5)
    expect(fnv1a32('a')).toBe(0xe40c292c)
    expect(fnv1a32('foobar')).toBe(0xbf9cf968)
    expect(hashKey('user-1')).not.toBe(fnv1a32('user-1'))
  })
})

// The factory lives in index.ts; its one config-dependent branch is consistent hash's key, so it is tested here.
describe('selectorFactory', () => {
  it.each([
    { algorithm: 'round_robin', type: RoundRobinSelector },
    { algorithm: 'least_outstanding_requests', type: LeastOutstandingSelector },
    { algorithm: 'weighted_random', type: WeightedRandomSelector },
    { algorithm: 'consistent_hash', type: ConsistentHashSelector },
  ] as const)('maps $algorithm to its selector', ({ algorithm, type }) => {
    expect(selectorFactory(algorithm, { sourceIp: true })(makeGroup([1]))).toBeInstanceOf(type)
  })

  it('refuses consistent_hash without a key with PF_ERR_CONFIG_INVALID', () => {
    expect(() => selectorFactory('consistent_hash')).toThrow(expect.objectContaining({ code: 'PF_ERR_CONFIG_INVALID' }))
  })
})
