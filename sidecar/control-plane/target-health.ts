// What state each target is in, as the admin API, /metrics and the log show it (ALB's target health): the
// operator's word first (maintenance, deregistration), then whether any listener uses the group, then what the
// group's health plugin reported (env.reportTarget), else healthy (a group without health checks).
import { endpointId } from '../../core/forwarder/target-pool.ts'
import type { MaintenanceTarget } from '../../core/snapshot.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import type { TargetReportMessage } from '../shard/messages.ts'
import type { Draining } from './publisher.ts'

export type TargetStateName = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'maintenance'
export const TARGET_STATES: readonly TargetStateName[] = ['initial', 'healthy', 'unhealthy', 'unused', 'draining', 'maintenance']

export interface TargetHealthView {
  state: TargetStateName
  reason: string | null
  description: string | null
  /** When it entered this state (ms since the epoch). */
  since: number
}

/** A shown state, and whether it stands for a plugin's word or only for the lack of one. */
interface Shown extends TargetHealthView { assumed: boolean }

/** One change of a target's state: one log line, one count. */
export interface TargetStateChange extends TargetHealthView {
  group: string
  target: string
  previous: TargetStateName | null
}

interface Reported { state: 'initial' | 'healthy' | 'unhealthy', reason: string | null, description: string | null }

const key = (group: string, target: string): string => `${group}\u0000${target}`
const REPORTED = new Set(['initial', 'healthy', 'unhealthy'])

export class TargetHealth {
  /** What plugins reported, by group and target. */
  readonly #reported = new Map<string, Reported>()
  /** The state shown now, by group and target. */
  readonly #shown = new Map<string, Shown>()
  /** Transitions into each state, by group, target and state: /metrics' counter. */
  readonly transitions = new Map<string, number>()
  #inputs: { config: SidecarConfig, draining: readonly Draining[], maintenance: readonly MaintenanceTarget[], used: ReadonlySet<string> } | null = null
  onChange: (change: TargetStateChange) => void = () => {}

  /** A plugin's report: ignored unless its state is one a plugin may report. */
  report (m: TargetReportMessage): void {
    if (!REPORTED.has(m.state)) return
    this.#reported.set(key(m.group, m.target), { state: m.state as Reported['state'], reason: m.reason, description: m.description })
    this.#recompute(false)
  }

  /**
   * After a publish: the running config, its draining and maintenance targets, the groups listeners use. Reports
   * of targets that left the rotation are forgotten here, not on a report: a report of a target being registered
   * arrives before the publish that adds it is over.
   */
  update (config: SidecarConfig, draining: readonly Draining[], maintenance: readonly MaintenanceTarget[], used: ReadonlySet<string>): void {
    this.#inputs = { config, draining, maintenance, used }
    this.#recompute(true)
  }

  view (group: string, target: string): TargetHealthView | undefined {
    const shown = this.#shown.get(key(group, target))
    if (shown === undefined) return undefined
    const { assumed: _, ...view } = shown
    return view
  }

  /** Every shown state, for /metrics. */
  * all (): Iterable<{ group: string, target: string, view: TargetHealthView }> {
    for (const [k, view] of this.#shown) { // (a Shown is a TargetHealthView: `assumed` rides along unread)
      const [group, target] = k.split('\u0000') as [string, string]
      yield { group, target, view }
    }
  }

  #recompute (prune: boolean): void {
    const inputs = this.#inputs
    if (inputs === null) return
    const now = Date.now()
    const seen = new Set<string>()
    const show = (group: string, target: string, next: Omit<TargetHealthView, 'since'>, assumed = false): void => {
      const k = key(group, target)
      seen.add(k)
      const before = this.#shown.get(k)
      if (before !== undefined && before.state === next.state && before.reason === next.reason && before.description === next.description) return
      const since = before !== undefined && before.state === next.state ? before.since : now
      const view: TargetHealthView = { ...next, since }
      this.#shown.set(k, { ...view, assumed })
      if (before?.state === next.state) return // a new reason, the same state: shown, not a transition
      const tk = `${group}\u0000${target}\u0000${next.state}`
      this.transitions.set(tk, (this.transitions.get(tk) ?? 0) + 1)
      // A plugin's first word on a target replaces no state of its own: a new target, not a change from the
      // `healthy` shown while nobody had reported (the first report of a start comes a moment after the publish).
      this.onChange({ group, target, previous: before === undefined || before.assumed ? null : before.state, ...view })
    }
    for (const g of inputs.config.targetGroups) {
      for (const t of g.targets) {
        const id = endpointId(t.host, t.port)
        const maintenance = inputs.maintenance.some((m) => m.group === g.name && m.host === t.host && m.port === t.port)
        if (maintenance) {
          if (prune) this.#reported.delete(key(g.name, id)) // it comes back as new: its health plugin starts over
          show(g.name, id, { state: 'maintenance', reason: 'Target.Maintenance', description: 'Taken out of rotation by the operator' })
          continue
        }
        if (!inputs.used.has(g.name)) {
          show(g.name, id, { state: 'unused', reason: 'Target.NotInUse', description: 'No listener rule forwards to the target group' })
          continue
        }
        const r = this.#reported.get(key(g.name, id))
        if (r === undefined) show(g.name, id, { state: 'healthy', reason: null, description: null }, true)
        else show(g.name, id, { ...r })
      }
      for (const d of inputs.draining) {
        if (d.group !== g.name) continue
        if (prune) this.#reported.delete(key(g.name, endpointId(d.host, d.port)))
        show(g.name, endpointId(d.host, d.port), { state: 'draining', reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' })
      }
    }
    if (!prune) return
    // Targets that left their group: what was shown and reported of them goes (they come back as new).
    for (const k of this.#shown.keys()) if (!seen.has(k)) this.#shown.delete(k)
    for (const k of this.#reported.keys()) if (!seen.has(k)) this.#reported.delete(k)
  }
}
