// What the leader publishes (env.publish) and every shard reads: each target's health, slow-start and ejection
// facts, and which shard messages the leader had merged. It is a whole answer, never a delta (a retiring
// generation's leader may publish too), and it is what a replaced leader resumes from.
//
//   { v: 1, id, gen, acks: [[instance of shard 0, seq], [instance of shard 1, seq], …],
//     groups: { api: { '10.0.0.5:80': [health, reason, passes, fails, since, ejectedUntil, ejections, cleanSince, failures] } } }
//
// A tuple per target keeps the state small for groups of hundreds of targets; the index names below read it.

/** Active-check health, as ALB names it. */
export const Health = { Initial: 0, Healthy: 1, Unhealthy: 2 } as const
export type Health = (typeof Health)[keyof typeof Health]

export const HEALTH_NAMES = ['initial', 'healthy', 'unhealthy'] as const

/** ALB's reason codes (elbv2 TargetHealth.Reason), plus ConnectionRefused and Envoy's outlier ejection. */
export const Reason = {
  Initial: 'Elb.InitialHealthChecking',
  Timeout: 'Target.Timeout',
  Refused: 'Target.ConnectionRefused',
  CodeMismatch: 'Target.ResponseCodeMismatch',
  Failed: 'Target.FailedHealthChecks',
  Ejected: 'Target.OutlierEjected',
} as const

/** One target in the published state. */
export type TargetTuple = [
  health: Health,
  /** The reason of the last failing probe ('' while healthy). */
  reason: string,
  /** Consecutive passing and failing probes. */
  passes: number,
  fails: number,
  /** When the target became healthy and starts its slow start; 0: no ramp (start-up verdict, or none). */
  since: number,
  /** Ejected by outlier detection until then (env.now() ms); 0: not ejected. */
  ejectedUntil: number,
  /** Times ejected, decayed while clean: the multiplier of the next ejection's length. */
  ejections: number,
  /** When the last ejection ended (the decay counts from there). */
  cleanSince: number,
  /** Consecutive failures seen on traffic, merged from every shard. */
  failures: number,
]

export const T = { Health: 0, Reason: 1, Passes: 2, Fails: 3, Since: 4, EjectedUntil: 5, Ejections: 6, CleanSince: 7, Failures: 8 } as const

export interface PublishedState {
  readonly v: 1
  /** The publishing leader instance: its own state echoing back is not a state to resume from. */
  readonly id: string
  /** Its shard generation: a shard ignores states from a generation older than one it has seen. */
  readonly gen: number
  /**
   * acks[shard]: the sending instance and the last message seq from it the leader had merged into this state
   * (an instance's seq starts at 1, so a shard's new instance is told apart from its predecessor).
   */
  readonly acks: Array<[instance: string, seq: number] | null>
  readonly groups: Record<string, Record<string, TargetTuple>>
}

/** The state, if `state` has this version's shape (the state outlives code: an older one is ignored). */
export function readState (state: unknown): PublishedState | null {
  if (typeof state !== 'object' || state === null) return null
  const s = state as Partial<PublishedState>
  if (s.v !== 1 || typeof s.id !== 'string' || typeof s.gen !== 'number' || !Array.isArray(s.acks)) return null
  if (typeof s.groups !== 'object' || s.groups === null) return null
  return s as PublishedState
}

/**
 * What a shard sends the leader (env.sendToLeader): its traffic observations since the last message, per target
 * `[group, targetId, reset, failures]`: reset 1 when a success ended a run of failures, then `failures` more.
 */
export interface ObservationMessage {
  /** The sending instance (env.shard says where; this says which instance there). */
  readonly from: string
  readonly seq: number
  readonly obs: Array<[group: string, target: string, reset: 0 | 1, failures: number]>
}

export function readMessage (message: unknown): ObservationMessage | null {
  if (typeof message !== 'object' || message === null) return null
  const m = message as Partial<ObservationMessage>
  return typeof m.from === 'string' && typeof m.seq === 'number' && Array.isArray(m.obs) ? m as ObservationMessage : null
}
