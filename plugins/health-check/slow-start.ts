// Slow start (ALB's slow_start.duration_seconds; Envoy's slow_start_config): a target that has just become healthy
// gets a share of its weight that grows linearly from MIN_WEIGHT to all of it over the window, so a cold cache or
// JIT is not handed its full share at once. Every shard computes the factor from the published `since`.

/** Envoy's min_weight_percent default: the share a ramp starts from. */
export const MIN_WEIGHT = 0.1

/** How often a shard asks its groups again while a ramp is under way. */
export const RAMP_TICK_MS = 1000

/** The share of its weight a target has `now`: 1 without a ramp (`since` 0) or once the window is over. */
export function rampFactor (since: number, now: number, windowMs: number): number {
  if (since === 0 || windowMs <= 0) return 1
  const elapsed = now - since
  if (elapsed >= windowMs) return 1
  return MIN_WEIGHT + (1 - MIN_WEIGHT) * Math.max(0, elapsed) / windowMs
}

export function ramping (since: number, now: number, windowMs: number): boolean {
  return since !== 0 && windowMs > 0 && now - since < windowMs
}

/**
 * Calls `tick` (env.refreshTargets) about once a second while some target ramps, and once more after the last
 * ramp ends so that target gets its full weight; stopped (and never keeping the thread alive) otherwise.
 */
export class RampTicker {
  readonly #tick: () => void
  readonly #stillRamping: () => boolean
  #timer: NodeJS.Timeout | null = null

  constructor (tick: () => void, stillRamping: () => boolean) {
    this.#tick = tick
    this.#stillRamping = stillRamping
  }

  /** Starts ticking when a ramp is under way; a running ticker stops by itself after the last one. */
  update (): void {
    if (this.#timer !== null || !this.#stillRamping()) return
    this.#timer = setInterval(() => {
      const more = this.#stillRamping()
      this.#tick()
      if (!more) this.close()
    }, RAMP_TICK_MS)
    this.#timer.unref()
  }

  get running (): boolean { return this.#timer !== null }

  close (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}
