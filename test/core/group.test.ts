// A target group as a shard runs it (core/group.ts): targetState answers folded in from the bases, and refresh()
// changes the targets in place without resetting the selector (a flapping target must not reset round robin).
import { describe, expect, it } from 'vitest'
import type { PluginHooks, TargetState } from '../../core/plugin-api.ts'
import { TargetGroupRuntime, type GroupMember } from '../../core/group.ts'
import { PluginInstance } from '../../core/plugin/instance.ts'
import { selectorFactory } from '../../core/selector/index.ts'
import { Algorithm, type RequestCtx } from '../../core/pipeline.ts'

const ctx = { header: () => undefined } as unknown as RequestCtx
const member = (port: number, weight = 1, eligible = true): GroupMember => ({ endpoint: { id: `10.0.0.1:${port}`, host: '10.0.0.1', port, inFlight: 0 }, weight, eligible })

/** A plugin whose targetState answers from a table the test changes. */
function statePlugin (answers: Map<number, TargetState>): PluginInstance {
  const hooks: PluginHooks = { targetState: (t) => answers.get(t.port) }
  return new PluginInstance('state', '1', hooks, true, 1000, () => {})
}

function picks (g: TargetGroupRuntime, n: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(g.selector.select(ctx, g.group)?.endpoint.port ?? 0)
  return out
}

describe('TargetGroupRuntime', () => {
  it('keeps the round-robin position across a refresh that takes a target out and brings it back', () => {
    const answers = new Map<number, TargetState>()
    const g = new TargetGroupRuntime('app', [member(1), member(2), member(3)], [statePlugin(answers)], selectorFactory(Algorithm.RoundRobin), 1000)
    expect(picks(g, 2)).toEqual([1, 2])
    answers.set(3, { eligible: false })
    g.refresh()
    // A rebuilt selector would start over at 1; in place, the rotation goes on past the ineligible 3.
    expect(picks(g, 3)).toEqual([1, 2, 1])
    answers.delete(3)
    g.refresh()
    expect(picks(g, 3)).toEqual([2, 3, 1])
  })

  it('never lets an answer bring back a target its base takes out (draining, maintenance)', () => {
    const answers = new Map<number, TargetState>([[2, { eligible: true, weight: 5 }]])
    const g = new TargetGroupRuntime('app', [member(1), member(2, 1, false)], [statePlugin(answers)], selectorFactory(Algorithm.RoundRobin), 1000)
    expect(g.group.targets.map((t) => [t.eligible, t.weight])).toEqual([[true, 1], [false, 5]])
    expect(new Set(picks(g, 4))).toEqual(new Set([1]))
  })

  it('takes fractional weights (a slow start ramp) and re-weights round robin and weighted random in place', () => {
    for (const algorithm of [Algorithm.RoundRobin, Algorithm.WeightedRandom]) {
      const answers = new Map<number, TargetState>([[2, { weight: 0.1 }]])
      const g = new TargetGroupRuntime('app', [member(1), member(2)], [statePlugin(answers)], selectorFactory(algorithm), 1000)
      const share = (): number => picks(g, 2200).filter((p) => p === 2).length / 2200
      expect(share()).toBeGreaterThan(0.05)
      expect(share()).toBeLessThan(0.14) // 0.1 / 1.1 ≈ 0.091
      answers.set(2, { weight: 1 })
      g.refresh()
      expect(share()).toBeGreaterThan(0.42)
      expect(share()).toBeLessThan(0.58)
    }
  })

  it('ignores weights outside (0, 1000] and keeps the configured one', () => {
    const answers = new Map<number, TargetState>([[1, { weight: 0 }], [2, { weight: 1001 }], [3, { weight: Number.NaN }]])
    const g = new TargetGroupRuntime('app', [member(1, 3), member(2, 4), member(3, 5)], [statePlugin(answers)], selectorFactory(Algorithm.RoundRobin), 1000)
    expect(g.group.targets.map((t) => t.weight)).toEqual([3, 4, 5])
  })
})
