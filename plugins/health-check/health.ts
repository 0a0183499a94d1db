// The active-check state machine of one target (ALB's): thresholds of consecutive probe results move it between
// initial, healthy and unhealthy. Pure: the leader calls it with each probe's result and the clock.
//
//   initial ──healthy threshold passes──► healthy ◄──healthy threshold passes── unhealthy
//      └──unhealthy threshold fails──► unhealthy ◄──unhealthy threshold fails──┘
//   start-up (a fresh sidecar's first probe of a configured target): one result is the verdict, either way.
import { Health, Reason, T, type TargetTuple } from './state.ts'

/** What probe.task.ts answers. */
export type ProbeResult =
  | { readonly ok: true }
  | { readonly ok: false, readonly reason: string, readonly description: string }

export interface Thresholds {
  readonly healthyThresholdCount: number
  readonly unhealthyThresholdCount: number
}

/** A target seen for the first time: initial while probes decide, or healthy at once without active checks. */
export function newTarget (active: boolean): TargetTuple {
  return [active ? Health.Initial : Health.Healthy, '', 0, 0, 0, 0, 0, 0, 0]
}

/**
 * Applies one probe result. `startup`: the target was configured when this sidecar started and has no verdict
 * yet, so the first result decides (a restarted sidecar serves within one probe instead of threshold ×
 * interval); it was serving already, so it does not slow-start. Returns true when the health changed.
 */
export function applyProbe (t: TargetTuple, r: ProbeResult, th: Thresholds, startup: boolean, now: number): boolean {
  const before = t[T.Health]
  if (r.ok) {
    // Counts stop at their threshold: a target that keeps passing leaves its tuple (and the published state) as it is.
    t[T.Passes] = Math.min(t[T.Passes] + 1, th.healthyThresholdCount)
    t[T.Fails] = 0
    if (before !== Health.Healthy && (startup || t[T.Passes] >= th.healthyThresholdCount)) {
      t[T.Health] = Health.Healthy
      t[T.Reason] = ''
      t[T.Since] = startup ? 0 : now
    }
  } else {
    t[T.Fails] = Math.min(t[T.Fails] + 1, th.unhealthyThresholdCount)
    t[T.Passes] = 0
    if (before === Health.Unhealthy) t[T.Reason] = r.reason // still down, maybe for another reason now
    else if (startup || t[T.Fails] >= th.unhealthyThresholdCount) {
      t[T.Health] = Health.Unhealthy
      t[T.Reason] = r.reason
      t[T.Since] = 0
    }
  }
  return t[T.Health] !== before
}

/** Active checks were turned off for the group: every target is healthy at once, as without them. */
export function checksOff (t: TargetTuple): boolean {
  const changed = t[T.Health] !== Health.Healthy
  t[T.Health] = Health.Healthy
  t[T.Reason] = ''
  t[T.Passes] = 0
  t[T.Fails] = 0
  return changed
}

/** What the admin API shows for the target: an ejection overrides the active-check health. */
export function reportOf (t: TargetTuple): { state: 'initial' | 'healthy' | 'unhealthy', reason: string | null } {
  if (t[T.EjectedUntil] > 0) return { state: 'unhealthy', reason: Reason.Ejected }
  switch (t[T.Health]) {
    case Health.Initial: return { state: 'initial', reason: Reason.Initial }
    case Health.Healthy: return { state: 'healthy', reason: null }
    default: return { state: 'unhealthy', reason: t[T.Reason] === '' ? Reason.Failed : t[T.Reason] }
  }
}
