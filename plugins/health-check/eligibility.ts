// A shard's answers to targetState, worked out from the published state whenever it (or the groups, or a local
// ejection) changes, so targetState itself only looks up. A target is eligible when it is healthy and not
// ejected; when that leaves a group with none, fail-open (ALB's default) makes every target eligible again, and
// so does having no verdict yet (a sidecar that just started serves while its first probes are out).
import type { PluginGroup, TargetInfo, TargetState } from '../../core/plugin-api.ts'
import type { GroupSection } from './schema.ts'
import { Health, T, type PublishedState, type TargetTuple } from './state.ts'
import { rampFactor, ramping } from './slow-start.ts'

interface Answer {
  readonly eligible: boolean
  /** Slow start's start (0: none). */
  readonly since: number
}

interface GroupAnswers {
  readonly windowMs: number
  readonly targets: Map<string, Answer>
}

const INELIGIBLE: TargetState = { eligible: false }

export class Eligibility {
  #groups = new Map<string, GroupAnswers>()

  /**
   * Works the answers out again; true when one of them changed (then the shard must ask targetState again).
   * `locallyEjected`: this shard's own outlier ejections, not yet answered for by the leader.
   */
  update (groups: ReadonlyArray<PluginGroup<GroupSection>>, state: PublishedState | null, locallyEjected: (group: string, id: string) => boolean): boolean {
    const next = new Map<string, GroupAnswers>()
    let changed = groups.length !== this.#groups.size
    for (const g of groups) {
      const answers = groupAnswers(g, state?.groups[g.name], locallyEjected)
      next.set(g.name, answers)
      if (!changed) changed = differs(this.#groups.get(g.name), answers)
    }
    this.#groups = next
    return changed
  }

  /** targetState: undefined (no opinion) for a target the plugin does not serve, or eligible at full weight. */
  answer (target: TargetInfo, group: string, now: number): TargetState | undefined {
    const g = this.#groups.get(group)
    const a = g?.targets.get(target.id)
    if (g === undefined || a === undefined) return undefined
    if (!a.eligible) return INELIGIBLE
    const f = rampFactor(a.since, now, g.windowMs)
    return f < 1 ? { weight: target.weight * f } : undefined
  }

  /** Whether some eligible target is still ramping up. */
  ramping (now: number): boolean {
    for (const g of this.#groups.values()) {
      if (g.windowMs === 0) continue
      for (const a of g.targets.values()) if (a.eligible && ramping(a.since, now, g.windowMs)) return true
    }
    return false
  }
}

function groupAnswers (
  g: PluginGroup<GroupSection>,
  published: Record<string, TargetTuple> | undefined,
  locallyEjected: (group: string, id: string) => boolean,
): GroupAnswers {
  // A target the leader has not published yet: initial under active checks, else healthy.
  const unknown = g.config.healthCheck === undefined ? Health.Healthy : Health.Initial
  const targets = new Map<string, Answer>()
  let anyEligible = false
  let anyVerdict = false
  for (const info of g.targets) {
    const t = published?.[info.id]
    const health = t === undefined ? unknown : t[T.Health]
    const ejected = (t !== undefined && t[T.EjectedUntil] > 0) || locallyEjected(g.name, info.id)
    const eligible = health === Health.Healthy && !ejected
    anyEligible ||= eligible
    anyVerdict ||= health !== Health.Initial
    targets.set(info.id, { eligible, since: t === undefined ? 0 : t[T.Since] })
  }
  // ALB: "If no targets are healthy, the load balancer routes requests to all targets" (fail-open); with
  // failOpen false that is a 503, but only once there are verdicts to be closed on.
  if (!anyEligible && g.targets.length > 0 && (g.config.failOpen || !anyVerdict)) {
    for (const [id, a] of targets) targets.set(id, { eligible: true, since: a.since })
  }
  return { windowMs: g.config.slowStartSeconds * 1000, targets }
}

function differs (before: GroupAnswers | undefined, after: GroupAnswers): boolean {
  if (before === undefined || before.windowMs !== after.windowMs || before.targets.size !== after.targets.size) return true
  for (const [id, a] of after.targets) {
    const b = before.targets.get(id)
    if (b === undefined || b.eligible !== a.eligible || b.since !== a.since) return true
  }
  return false
}
