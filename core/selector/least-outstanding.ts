// Least outstanding requests (ALB's `least_outstanding_requests`): fewest in-flight requests per unit of weight.
import type { RequestCtx, Selector, Target, TargetGroup } from '../pipeline.ts'

/**
 * Picks the eligible target with the smallest `endpoint.inFlight / weight`. The counts are this shard's own
 * (the forwarder bumps them), as Envoy's per-worker least-request balancer uses worker-local counts: no
 * cross-thread traffic per request, and with reusePort spreading connections the shards see similar loads.
 *
 * Ratios are compared by cross-multiplying (a.inFlight × b.weight < b.inFlight × a.weight), which is exact for
 * integer counts and weights, so 1/1 and 2/2 are a true tie rather than a floating-point coin toss.
 *
 * Ties go to the first candidate found scanning from just after the previous pick. Starting the scan after
 * the *picked* index (not start + 1) matters: with loads A=0, B=5, C=0, a start that merely advanced by one
 * would give A two picks in three; starting after the winner alternates A, C, A, C. With no load at all the
 * order is plain rotation, so idle targets warm up evenly instead of the first one taking every request.
 * Weight 0 means no traffic, as in ALB's weighted forwards.
 */
export class LeastOutstandingSelector implements Selector {
  readonly #targets: readonly Target[]
  #next = 0

  constructor (group: TargetGroup) {
    this.#targets = group.targets
  }

  select (_ctx: RequestCtx, _group: TargetGroup): Target | null {
    const targets = this.#targets
    const n = targets.length
    const start = this.#next
    let best: Target | null = null
    let bestIndex = 0
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n
      const t = targets[i]!
      if (!t.eligible || !(t.weight > 0)) continue
      if (best === null || t.endpoint.inFlight * best.weight < best.endpoint.inFlight * t.weight) {
        best = t
        bestIndex = i
      }
    }
    if (best !== null) this.#next = bestIndex + 1 === n ? 0 : bestIndex + 1
    return best
  }
}
