// Round robin: plain rotation with equal weights, nginx's smooth weighted interleave otherwise.
import { describe, expect, it } from 'vitest'
import { RoundRobinSelector } from '../../../core/selector/round-robin.ts'
import { makeCtx, makeGroup, runSelectorContract } from './selector.case.ts'
import type { TestGroup } from './selector.case.ts'

runSelectorContract('round robin', (group) => new RoundRobinSelector(group))

const ctx = makeCtx()

function picks (selector: RoundRobinSelector, group: TestGroup, count: number): number[] {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(group.targets.indexOf(selector.select(ctx, group)!))
  return out
}

describe('round robin', () => {
  it('rotates through equal-weight targets in order', () => {
    const group = makeGroup([1, 1, 1])
    expect(picks(new RoundRobinSelector(group), group, 7)).toEqual([0, 1, 2, 0, 1, 2, 0])
  })

  it('rotates over the remaining targets when one is ineligible', () => {
    const group = makeGroup([2, 2, 2, 2])
    group.targets[1]!.eligible = false
    expect(picks(new RoundRobinSelector(group), group, 6)).toEqual([0, 2, 3, 0, 2, 3])
  })

  it('gives weights 1,2,3 exactly 1000/2000/3000 of 6000 picks', () => {
    const group = makeGroup([1, 2, 3])
    const seq = picks(new RoundRobinSelector(group), group, 6000)
    const counts = [0, 0, 0]
    for (const i of seq) counts[i]!++
    expect(counts).toEqual([1000, 2000, 3000])
  })

  it('interleaves smoothly: no target gets more than its share in any window of 6 picks', () => {
    const group = makeGroup([1, 2, 3])
    const seq = picks(new RoundRobinSelector(group), group, 600)
    expect(seq.slice(0, 6)).toEqual([2, 1, 0, 2, 1, 2]) // nginx's order for weights 1,2,3
    for (let start = 0; start + 6 <= seq.length; start++) {
      const counts = [0, 0, 0]
      for (let k = start; k < start + 6; k++) counts[seq[k]!]!++
      expect(counts).toEqual([1, 2, 3])
    }
  })

  it('keeps weighted proportions among the eligible targets when one is out', () => {
    const group = makeGroup([1, 2, 3])
    group.targets[2]!.eligible = false
    const seq = picks(new RoundRobinSelector(group), group, 300)
    expect(seq.filter((i) => i === 0).length).toBe(100)
    expect(seq.filter((i) => i === 1).length).toBe(200)
  })

  it('gives a returning target no burst: at most its share plus one in the next cycle of 6', () => {
    const group = makeGroup([1, 2, 3])
    const selector = new RoundRobinSelector(group)
    picks(selector, group, 4)
    group.targets[0]!.eligible = false
    picks(selector, group, 7)
    group.targets[0]!.eligible = true
    // SWRR's scores stay within ±Σweight, so a returning target gets no burst: at most its share + 1 per cycle.
    const seq = picks(selector, group, 6)
    expect(seq.filter((i) => i === 0).length).toBeLessThanOrEqual(2)
  })

  it('treats targets with equal weight other than 1 as plain rotation too', () => {
    const group = makeGroup([5, 5])
    expect(picks(new RoundRobinSelector(group), group, 4)).toEqual([0, 1, 0, 1])
  })
})
