// The leader's probe schedule: one slot per (group, target), each probing through the worker pool every interval
// ± 10 % (so sidecars started together drift apart instead of probing in step), never two probes of one target
// at once. Results go to a callback; what they mean is health.ts's business.
import type { ProbeResult } from './health.ts'
import type { ProbeRequest } from './probe.task.ts'
import type { HealthCheckConfig } from './schema.ts'
import { Reason } from './state.ts'

export interface ProbeTarget {
  readonly host: string
  readonly port: number
}

export type ProbeDone = (group: string, targetId: string, result: ProbeResult) => void

interface Slot {
  readonly group: string
  readonly targetId: string
  readonly target: ProbeTarget
  hc: HealthCheckConfig
  timer: NodeJS.Timeout | null
  running: boolean
  /** Removed while its probe ran: the result is dropped. */
  stopped: boolean
}

/** A jittered interval: uniform in [0.9, 1.1] × interval. */
export function jittered (intervalMs: number, random: () => number = Math.random): number {
  return intervalMs * (0.9 + 0.2 * random())
}

export class Prober {
  readonly #run: (data: ProbeRequest) => Promise<unknown>
  readonly #done: ProbeDone
  readonly #slots = new Map<string, Slot>()
  #closed = false

  constructor (run: (data: ProbeRequest) => Promise<unknown>, done: ProbeDone) {
    this.#run = run
    this.#done = done
  }

  /**
   * Probes the target from now on with `hc` (now at once when `soon`, else after a random part of the interval).
   * Called again for a known slot, it only takes the new settings: an interval change reschedules the wait.
   */
  watch (group: string, targetId: string, target: ProbeTarget, hc: HealthCheckConfig, soon: boolean): void {
    const key = keyOf(group, targetId)
    const slot = this.#slots.get(key)
    if (slot === undefined) {
      const s: Slot = { group, targetId, target, hc, timer: null, running: false, stopped: false }
      this.#slots.set(key, s)
      this.#schedule(s, soon ? 0 : Math.random() * hc.intervalSeconds * 1000)
      return
    }
    const intervalChanged = slot.hc.intervalSeconds !== hc.intervalSeconds
    slot.hc = hc
    if (intervalChanged && slot.timer !== null) this.#schedule(slot, Math.random() * hc.intervalSeconds * 1000)
  }

  unwatch (group: string, targetId: string): void {
    const key = keyOf(group, targetId)
    const slot = this.#slots.get(key)
    if (slot === undefined) return
    this.#slots.delete(key)
    this.#stop(slot)
  }

  close (): void {
    this.#closed = true
    for (const slot of this.#slots.values()) this.#stop(slot)
    this.#slots.clear()
  }

  #stop (slot: Slot): void {
    slot.stopped = true
    if (slot.timer !== null) clearTimeout(slot.timer)
    slot.timer = null
  }

  #schedule (slot: Slot, delayMs: number): void {
    if (slot.timer !== null) clearTimeout(slot.timer)
    slot.timer = setTimeout(() => { slot.timer = null; void this.#probe(slot) }, delayMs)
    slot.timer.unref() // probes never keep a stopping shard alive
  }

  async #probe (slot: Slot): Promise<void> {
    if (slot.running || slot.stopped || this.#closed) return
    slot.running = true
    const started = Date.now()
    const hc = slot.hc
    let result: ProbeResult
    try {
      result = await this.#run({
        protocol: hc.protocol,
        host: slot.target.host,
        port: hc.port === 'traffic-port' ? slot.target.port : hc.port,
        path: hc.path,
        matcher: hc.matcher,
        timeoutMs: hc.timeoutSeconds * 1000,
      }) as ProbeResult
    } catch (err) {
      // The pool failed the task (time limit, a crashed thread): ALB's Elb.InternalError is not the target's
      // fault, but a target we cannot check is not known healthy either.
      result = { ok: false, reason: Reason.Failed, description: `probe did not run: ${(err as Error).message}` }
    }
    slot.running = false
    if (slot.stopped || this.#closed) return
    this.#done(slot.group, slot.targetId, result)
    if (slot.stopped || this.#closed) return // the callback may have removed it
    const next = jittered(slot.hc.intervalSeconds * 1000) - (Date.now() - started)
    this.#schedule(slot, Math.max(0, next))
  }
}

function keyOf (group: string, targetId: string): string {
  return group + '\n' + targetId
}
