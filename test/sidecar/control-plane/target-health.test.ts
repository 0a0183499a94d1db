// What the admin API, /metrics and the log show of a target (control-plane/target-health.ts): the operator's
// word over a plugin's, unused groups, one change per transition, and reports that race the publish.
import { describe, expect, it } from 'vitest'
import { TargetHealth, type TargetStateChange } from '../../../sidecar/control-plane/target-health.ts'
import { validateConfig } from '../../../schemas/validate.ts'
import type { TargetReportMessage } from '../../../sidecar/shard/messages.ts'

const config = (ports: number[]) => validateConfig({
  listeners: [{ name: 'web', port: 8080, defaultAction: { type: 'forward', targetGroups: [{ name: 'app' }] } }],
  targetGroups: [{ name: 'app', targets: ports.map((port) => ({ host: '10.0.0.1', port })) }],
})
const report = (port: number, state: string, reason: string | null = null): TargetReportMessage =>
  ({ type: 'target-report', plugin: 'health-check', group: 'app', target: `10.0.0.1:${port}`, state, reason, description: null })
const used = new Set(['app'])

function health (): { h: TargetHealth, changes: string[] } {
  const h = new TargetHealth()
  const changes: string[] = []
  h.onChange = (c: TargetStateChange) => changes.push(`${c.target} ${c.previous ?? '∅'}→${c.state}`)
  return { h, changes }
}

describe('TargetHealth', () => {
  it('shows a plugin\'s report, and its first report as a new state, not a change from the assumed healthy', () => {
    const { h, changes } = health()
    h.update(config([1]), [], [], used)
    h.report(report(1, 'initial', 'Elb.InitialHealthChecking'))
    h.report(report(1, 'healthy'))
    expect(changes).toEqual(['10.0.0.1:1 ∅→healthy', '10.0.0.1:1 ∅→initial', '10.0.0.1:1 initial→healthy'])
    expect(h.view('app', '10.0.0.1:1')).toMatchObject({ state: 'healthy', reason: null })
  })

  it('puts maintenance, then draining, then unused over what a plugin reported, and forgets the report', () => {
    const { h } = health()
    h.update(config([1, 2]), [], [], used)
    h.report(report(1, 'unhealthy', 'Target.Timeout'))
    h.update(config([1, 2]), [], [{ group: 'app', host: '10.0.0.1', port: 1 }], used)
    expect(h.view('app', '10.0.0.1:1')).toMatchObject({ state: 'maintenance', reason: 'Target.Maintenance' })
    h.update(config([1, 2]), [], [], used)
    // Back from maintenance with its report forgotten: healthy until its plugin says otherwise (as new: initial).
    expect(h.view('app', '10.0.0.1:1')?.state).toBe('healthy')
    h.update(config([2]), [{ group: 'app', host: '10.0.0.1', port: 1, weight: 1, until: Date.now() + 1000 }], [], used)
    expect(h.view('app', '10.0.0.1:1')?.state).toBe('draining')
    h.update(config([2]), [], [], new Set())
    expect(h.view('app', '10.0.0.1:2')).toMatchObject({ state: 'unused', reason: 'Target.NotInUse' })
    expect(h.view('app', '10.0.0.1:1')).toBeUndefined()
  })

  it('keeps a report that arrives before the publish that registers its target', () => {
    const { h } = health()
    h.update(config([1]), [], [], used)
    h.report(report(2, 'initial', 'Elb.InitialHealthChecking'))
    h.update(config([1, 2]), [], [], used)
    expect(h.view('app', '10.0.0.1:2')?.state).toBe('initial')
  })

  it('counts a transition per state entered, not a new reason in the same state, and keeps since', () => {
    const { h } = health()
    h.update(config([1]), [], [], used)
    h.report(report(1, 'unhealthy', 'Target.Timeout'))
    const since = h.view('app', '10.0.0.1:1')!.since
    h.report(report(1, 'unhealthy', 'Target.ConnectionRefused'))
    expect(h.view('app', '10.0.0.1:1')).toMatchObject({ reason: 'Target.ConnectionRefused', since })
    h.report(report(1, 'healthy'))
    expect(Object.fromEntries([...h.transitions].map(([k, n]) => [k.split('\u0000')[2], n]))).toEqual({ healthy: 2, unhealthy: 1 })
  })

  it('ignores a state a plugin may not report', () => {
    const { h } = health()
    h.update(config([1]), [], [], used)
    h.report(report(1, 'maintenance'))
    expect(h.view('app', '10.0.0.1:1')?.state).toBe('healthy')
  })
})
