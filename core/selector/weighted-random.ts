// Weighted random (ALB's `weighted_random`): each eligible target with probability weight / Σweight.
import type { RequestCtx, Selector, Target, TargetGroup } from '../pipeline.ts'

/**
 * A pick is one random number and a binary search over the cumulative weights of the eligible targets:
 *
 *   targets     A(w=1)  B(w=3, ineligible)  C(w=2)  D(w=4)
 *   cumulative  [ 1,      3,      7 ]          slots 0..2 → #slotTarget [0, 2, 3]
 *   r = random() × 7 → first slot with cumulative > r:  [0,1) → A   [1,3) → C   [3,7) → D
 *
 * Weights are fixed for a snapshot, but eligibility changes underneath us (health, draining), and a group
 * has no version counter to compare. So the arrays are rebuilt from a cheap O(1) check per call:
 *  - the picked target is checked before it is returned; if it has left, rebuild and pick again, so an
 *    ineligible target is never returned, however recently it left;
 *  - one target per call (a rotating probe) is compared with the eligibility it had at the last build, so a
 *    target that came back rejoins within one pass over the group (n calls), without an O(n) scan per call;
 *  - when the last build found nothing eligible, every call rebuilds: that is the 503 path, and it lets the
 *    first recovery be seen at once rather than after up to n more 503s.
 * Weight 0 gets a slot of width 0 (no slot at all): no traffic, as in ALB's weighted forwards.
 */
export class WeightedRandomSelector implements Selector {
  readonly #targets: readonly Target[]
  readonly #random: () => number
  /** Running sum of the weights of the eligible targets; only the first #slots entries are meaningful. */
  readonly #cumulative: Float64Array
  /** Index in #targets of the target that owns each slot. */
  readonly #slotTarget: Uint32Array
  /** 1 where the target was eligible at the last build: what the probe compares against. */
  readonly #built: Uint8Array
  #slots = 0
  #total = 0
  #probe = 0

  /** `random` is for tests; production uses Math.random (a pick needs spread, not unpredictability). */
  constructor (group: TargetGroup, random: () => number = Math.random) {
    const n = group.targets.length
    this.#targets = group.targets
    this.#random = random
    this.#cumulative = new Float64Array(n)
    this.#slotTarget = new Uint32Array(n)
    this.#built = new Uint8Array(n)
    this.#rebuild()
  }

  select (_ctx: RequestCtx, _group: TargetGroup): Target | null {
    const targets = this.#targets
    const n = targets.length
    if (n === 0) return null
    const p = this.#probe
    this.#probe = p + 1 === n ? 0 : p + 1
    if (this.#total === 0 || (targets[p]!.eligible ? 1 : 0) !== this.#built[p]) this.#rebuild()
    if (this.#total === 0) return null
    const t = this.#pick()
    if (t.eligible) return t
    // The pick left since the last build. Selection is synchronous within a shard, so after this rebuild
    // every slot holds a target that is eligible right now.
    this.#rebuild()
    return this.#total === 0 ? null : this.#pick()
  }

  /** Weights changed in place (a slow start's ramp): the slots are laid out again. */
  refresh (): void {
    this.#rebuild()
  }

  #pick (): Target {
    const cumulative = this.#cumulative
    const r = this.#random() * this.#total
    let lo = 0
    let hi = this.#slots - 1 // r can round up to #total: clamp to the last slot rather than run off the end
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! > r) hi = mid
      else lo = mid + 1
    }
    return this.#targets[this.#slotTarget[lo]!]!
  }

  #rebuild (): void {
    const targets = this.#targets
    let slots = 0
    let total = 0
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!
      this.#built[i] = t.eligible ? 1 : 0
      if (!t.eligible || !(t.weight > 0)) continue
      total += t.weight
      this.#cumulative[slots] = total
      this.#slotTarget[slots] = i
      slots++
    }
    this.#slots = slots
    this.#total = total
  }
}
