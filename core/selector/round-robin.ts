// Round robin (ALB's `round_robin`): smooth weighted round robin, plain rotation when all weights are equal.
import type { RequestCtx, Selector, Target, TargetGroup } from '../pipeline.ts'

/**
 * nginx's smooth weighted round robin (ngx_http_upstream_get_peer): every pick adds each eligible target's
 * weight to its `current`, takes the largest `current`, and subtracts the eligible total from the winner.
 * Over one cycle of Σweight picks each target is chosen exactly `weight` times, and the picks interleave
 * (weights 5,1,1 give a a b a c a a, not a a a a a b c), so a heavy target never gets a burst.
 *
 * Targets that are not eligible are skipped and their `current` is left as it was (as nginx does for a down
 * peer); it stays within ±Σweight, so a returning target gets no burst either. Weight 0 means no traffic,
 * as in ALB's weighted forwards.
 *
 * When every weight is the same, SWRR degenerates to rotation at O(n) per pick; a cursor gives the same order
 * at O(1) expected, which is what Envoy's round robin does when its hosts' weights are all equal.
 */
export class RoundRobinSelector implements Selector {
  readonly #targets: readonly Target[]
  /** SWRR's running score per target, index-aligned with #targets (unused when #uniform). */
  readonly #current: Float64Array
  #uniform: boolean
  #cursor = 0

  constructor (group: TargetGroup) {
    this.#targets = group.targets
    this.#current = new Float64Array(group.targets.length)
    this.#uniform = sameWeights(group.targets)
  }

  select (_ctx: RequestCtx, _group: TargetGroup): Target | null {
    return this.#uniform ? this.#rotate() : this.#smooth()
  }

  /** Weights changed in place (a slow start's ramp): the position and the SWRR scores carry on. */
  refresh (): void {
    this.#uniform = sameWeights(this.#targets)
  }

  #rotate (): Target | null {
    const targets = this.#targets
    const n = targets.length
    let i = this.#cursor
    for (let k = 0; k < n; k++) {
      const t = targets[i]!
      i = i + 1 === n ? 0 : i + 1
      if (t.eligible && t.weight > 0) {
        this.#cursor = i
        return t
      }
    }
    return null
  }

  #smooth (): Target | null {
    const targets = this.#targets
    const current = this.#current
    let total = 0
    let best = -1
    let bestCurrent = -Infinity
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!
      if (!t.eligible || !(t.weight > 0)) continue
      const c = current[i]! + t.weight
      current[i] = c
      total += t.weight
      if (c > bestCurrent) { // strict: ties go to the earlier target, so equal scores keep list order
        bestCurrent = c
        best = i
      }
    }
    if (best === -1) return null
    current[best] = bestCurrent - total
    return targets[best]!
  }
}

/** True when every target that can take traffic has the same weight, so rotation is exact SWRR. */
function sameWeights (targets: readonly Target[]): boolean {
  let weight = 0
  for (let i = 0; i < targets.length; i++) {
    const w = targets[i]!.weight
    if (!(w > 0)) continue
    if (weight === 0) weight = w
    else if (w !== weight) return false
  }
  return true
}
