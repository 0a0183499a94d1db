// Least outstanding requests: fewest in-flight per unit of weight, ties spread round robin.
import { describe, expect, it } from 'vitest'
import { LeastOutstandingSelector } from '../../../core/selector/least-outstanding.ts'
import { makeCtx, makeGroup, runSelectorContract } from './selector.case.ts'
import type { TestGroup } from './selector.case.ts'

runSelectorContract('least outstanding requests', (group) => new LeastOutstandingSelector(group))

const ctx = makeCtx()

function withLoad (weights: number[], inFlight: number[]): TestGroup {
  const group = makeGroup(weights)
  for (let i = 0; i < inFlight.length; i++) group.targets[i]!.endpoint.inFlight = inFlight[i]!
  return group
}

function picks (selector: LeastOutstandingSelector, group: TestGroup, count: number): number[] {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(group.targets.indexOf(selector.select(ctx, group)!))
  return out
}

describe('least outstanding requests', () => {
  it('prefers the target with fewer in-flight requests', () => {
    const group = withLoad([1, 1, 1], [4, 1, 3])
    expect(picks(new LeastOutstandingSelector(group), group, 3)).toEqual([1, 1, 1])
  })

  it('divides in-flight requests by weight', () => {
    // 2/1 = 2 against 3/2 = 1.5: the heavier target wins despite more requests in flight.
    const group = withLoad([1, 2], [2, 3])
    expect(new LeastOutstandingSelector(group).select(ctx, group)).toBe(group.targets[1])
  })

  it('skips an idle target that is ineligible', () => {
    const group = withLoad([1, 1, 1], [0, 5, 7])
    group.targets[0]!.eligible = false
    expect(new LeastOutstandingSelector(group).select(ctx, group)).toBe(group.targets[1])
  })

  it('spreads equal loads round robin instead of always picking the first', () => {
    const group = withLoad([1, 1, 1], [0, 0, 0])
    expect(picks(new LeastOutstandingSelector(group), group, 6)).toEqual([0, 1, 2, 0, 1, 2])
  })

  it('alternates evenly between tied targets when a busier one sits between them', () => {
    const group = withLoad([1, 1, 1], [0, 5, 0])
    expect(picks(new LeastOutstandingSelector(group), group, 6)).toEqual([0, 2, 0, 2, 0, 2])
  })

  it('treats equal ratios across different weights as a tie (1/1 = 2/2)', () => {
    const group = withLoad([1, 2], [1, 2])
    expect(picks(new LeastOutstandingSelector(group), group, 4)).toEqual([0, 1, 0, 1])
  })

  it('ends with load proportional to weight when requests never finish', () => {
    const group = makeGroup([1, 3])
    const selector = new LeastOutstandingSelector(group)
    for (let i = 0; i < 400; i++) selector.select(ctx, group)!.endpoint.inFlight++
    expect(group.targets.map((t) => t.endpoint.inFlight)).toEqual([100, 300])
  })
})
