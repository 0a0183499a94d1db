// Weighted random: picks in proportion to weight, and follows eligibility changes without an O(n) scan per pick.
import { describe, expect, it } from 'vitest'
import { WeightedRandomSelector } from '../../../core/selector/weighted-random.ts'
import { makeCtx, makeGroup, pickCounts, runSelectorContract } from './selector.case.ts'

runSelectorContract('weighted random', (group) => new WeightedRandomSelector(group))

const ctx = makeCtx()

/** A random source that returns the given values in turn, for exact slot tests. */
function sequence (...values: number[]): () => number {
  let i = 0
  return () => values[i++ % values.length]!
}

describe('weighted random', () => {
  it('gives a weight-3 target 75% ± 2 points of 20,000 picks against a weight-1 target', () => {
    // The heavy target's share is a binomial proportion: p = 0.75, n = 20,000,
    // σ = √(p(1−p)/n) = √(0.1875 / 20,000) ≈ 0.00306. The bound ±0.02 is ≈ 6.5σ; the chance that a correct
    // selector lands outside it is about 7e-11, so a failure means a bug, not bad luck.
    const group = makeGroup([1, 3])
    const counts = pickCounts(new WeightedRandomSelector(group), group, 20_000)
    const share = (counts.get(group.targets[1]!) ?? 0) / 20_000
    expect(share).toBeGreaterThan(0.73)
    expect(share).toBeLessThan(0.77)
  })

  it('maps the random number onto cumulative weights: [0,1) → A, [1,4) → B for weights 1,3', () => {
    const group = makeGroup([1, 3])
    // r = random() × 4: 0 → A, 0.2499 → A, 0.25 → B, 0.9999 → B
    const selector = new WeightedRandomSelector(group, sequence(0, 0.2499, 0.25, 0.9999))
    const got = [0, 1, 2, 3].map(() => group.targets.indexOf(selector.select(ctx, group)!))
    expect(got).toEqual([0, 0, 1, 1])
  })

  it('never runs past the last slot even if random() × total rounds up to the total', () => {
    const group = makeGroup([1, 3])
    const selector = new WeightedRandomSelector(group, () => 1)
    expect(selector.select(ctx, group)).toBe(group.targets[1])
  })

  it('leaves ineligible targets out of the cumulative array', () => {
    const group = makeGroup([1, 3, 2])
    group.targets[1]!.eligible = false
    // total 3: r = 0.5 × 3 = 1.5 falls in C's slot [1,3), not in B's old [1,4)
    const selector = new WeightedRandomSelector(group, () => 0.5)
    expect(selector.select(ctx, group)).toBe(group.targets[2])
  })

  it('never returns a target picked from a stale array after it became ineligible', () => {
    const group = makeGroup([1, 3])
    const selector = new WeightedRandomSelector(group, () => 0.9) // always lands in B's slot while B is in
    expect(selector.select(ctx, group)).toBe(group.targets[1])
    group.targets[1]!.eligible = false
    expect(selector.select(ctx, group)).toBe(group.targets[0])
  })

  it('picks up a recovered target within one pass of the probe over the group', () => {
    const group = makeGroup([1, 1, 1, 1, 1])
    group.targets[4]!.eligible = false
    const selector = new WeightedRandomSelector(group, () => 0.99) // the last slot: E once it is back
    expect(selector.select(ctx, group)).toBe(group.targets[3])
    group.targets[4]!.eligible = true
    let seen = -1
    for (let i = 0; i < group.targets.length && seen === -1; i++) {
      if (selector.select(ctx, group) === group.targets[4]) seen = i
    }
    expect(seen).toBeGreaterThanOrEqual(0)
  })
})
