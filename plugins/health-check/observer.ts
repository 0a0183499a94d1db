// A shard's side of outlier detection: it counts the consecutive failures it sees per target, ejects a target
// locally the moment its own count reaches the threshold (so N shards let at most N × consecutiveFailures
// failures through before the ejection, whatever the leader's latency), and tells the leader what it saw.
//
// Messages are edges, coalesced per turn of the event loop: failures, and the first success after failures.
// A success with no failures pending costs one Map lookup and two field reads (the request path).
//
// A local ejection lasts until the leader has answered for it: a published state whose acks[shard] reaches the
// message that carried the failures. From then on the published state decides (ejected, or refused because of
// maxEjectionPercent), and the local count starts over. Should no answer come (the message was lost with a
// replaced leader), it ends after baseEjectionSeconds, as a first ejection would.
import type { OutlierConfig } from './schema.ts'
import { T, type ObservationMessage, type PublishedState } from './state.ts'
import { maxEjected } from './outlier.ts'

interface Watched {
  readonly group: string
  readonly id: string
  /** This shard's consecutive failures of the target. */
  count: number
  /** Not yet sent: a success ended a run of failures (1), then `fails` more. */
  reset: 0 | 1
  fails: number
  queued: boolean
  /** The seq of the message that carried the failures that ejected it here; 0: not ejected locally. */
  localSeq: number
  /** When it ends at the latest, unanswered (env.now() ms). */
  localUntil: number
  /** Ejections the published state showed last: a new one starts the count over, as the leader's. */
  ejections: number
}

interface WatchedGroup {
  readonly cfg: OutlierConfig
  readonly targets: Map<string, Watched>
  /** Targets whose count is above 0: when none, a success has nothing to report. */
  failing: number
}

export class Observer {
  readonly #shard: number
  readonly #instance: string
  readonly #send: (message: ObservationMessage) => void
  /** Called when a local ejection starts or ends: the shard's answers changed. */
  readonly #changed: () => void
  readonly #now: () => number
  #expiry: NodeJS.Timeout | null = null
  #groups = new Map<string, WatchedGroup>()
  #seq = 0
  #queue: Watched[] = []
  #flush: NodeJS.Immediate | null = null
  #published: PublishedState | null = null

  constructor (shard: number, instance: string, send: (message: ObservationMessage) => void, changed: () => void, now: () => number) {
    this.#shard = shard
    this.#instance = instance
    this.#now = now
    this.#send = send
    this.#changed = changed
  }

  /** The groups with outlierDetection and their targets; counts of targets kept are kept. */
  setGroups (groups: ReadonlyArray<{ name: string, cfg: OutlierConfig, targetIds: readonly string[] }>): void {
    const next = new Map<string, WatchedGroup>()
    for (const g of groups) {
      const before = this.#groups.get(g.name)
      const wg: WatchedGroup = { cfg: g.cfg, targets: new Map(), failing: 0 }
      for (const id of g.targetIds) {
        const w = before?.targets.get(id) ?? { group: g.name, id, count: 0, reset: 0, fails: 0, queued: false, localSeq: 0, localUntil: 0, ejections: 0 }
        if (w.count > 0) wg.failing++
        wg.targets.set(id, w)
      }
      next.set(g.name, wg)
    }
    this.#groups = next
    this.#armExpiry()
  }

  /** A response from the target with a status below 500. */
  success (group: string, targetId: string): void {
    const g = this.#groups.get(group)
    if (g === undefined || g.failing === 0) return
    const w = g.targets.get(targetId)
    if (w === undefined || w.count === 0) return
    w.count = 0
    g.failing--
    w.reset = 1
    w.fails = 0
    this.#enqueue(w)
  }

  /** A 5xx from the target, or an attempt to it that failed. */
  failure (group: string, targetId: string): void {
    const g = this.#groups.get(group)
    if (g === undefined) return
    const w = g.targets.get(targetId)
    if (w === undefined) return
    if (w.count === 0) g.failing++
    w.count++
    w.fails++
    this.#enqueue(w)
    if (w.count >= g.cfg.consecutiveFailures && w.localSeq === 0 && !this.#publishedEjected(w) && this.#mayEject(g)) {
      w.localSeq = this.#seq + 1 // the message the flush below sends
      w.localUntil = this.#now() + g.cfg.baseEjectionSeconds * 1000
      this.#armExpiry()
      this.#changed()
    }
  }

  locallyEjected (group: string, targetId: string): boolean {
    const w = this.#groups.get(group)?.targets.get(targetId)
    return w !== undefined && w.localSeq !== 0
  }

  /** A published state: local ejections it answers for end, and a new ejection starts the counts over. */
  onPublished (state: PublishedState): void {
    this.#published = state
    const ack = state.acks[this.#shard]
    const acked = ack !== null && ack !== undefined && ack[0] === this.#instance ? ack[1] : 0
    let changed = false
    for (const [name, g] of this.#groups) {
      const pub = state.groups[name]
      for (const w of g.targets.values()) {
        const t = pub?.[w.id]
        const ejections = t === undefined ? 0 : t[T.Ejections]
        const answered = w.localSeq !== 0 && acked >= w.localSeq
        if (answered || ejections > w.ejections) {
          if (w.count > 0) g.failing--
          w.count = 0
          if (w.localSeq !== 0) changed = true
          w.localSeq = 0
        }
        w.ejections = ejections
      }
    }
    if (changed) {
      this.#armExpiry()
      this.#changed()
    }
  }

  close (): void {
    if (this.#flush !== null) clearImmediate(this.#flush)
    if (this.#expiry !== null) clearTimeout(this.#expiry)
    this.#flush = null
    this.#expiry = null
  }

  /** One timer, at the earliest end of an unanswered local ejection. */
  #armExpiry (): void {
    if (this.#expiry !== null) clearTimeout(this.#expiry)
    this.#expiry = null
    let next = Infinity
    for (const g of this.#groups.values()) for (const w of g.targets.values()) if (w.localSeq !== 0) next = Math.min(next, w.localUntil)
    if (next === Infinity) return
    this.#expiry = setTimeout(() => this.#expire(), Math.max(0, next - this.#now()))
    this.#expiry.unref()
  }

  #expire (): void {
    this.#expiry = null
    const now = this.#now()
    let changed = false
    for (const g of this.#groups.values()) {
      for (const w of g.targets.values()) {
        if (w.localSeq === 0 || w.localUntil > now) continue
        if (w.count > 0) g.failing--
        w.count = 0
        w.localSeq = 0
        changed = true
      }
    }
    this.#armExpiry()
    if (changed) this.#changed()
  }

  #publishedEjected (w: Watched): boolean {
    const t = this.#published?.groups[w.group]?.[w.id]
    return t !== undefined && t[T.EjectedUntil] > 0
  }

  /** maxEjectionPercent as far as this shard knows: the published ejections and its own. */
  #mayEject (g: WatchedGroup): boolean {
    let out = 0
    for (const w of g.targets.values()) if (w.localSeq !== 0 || this.#publishedEjected(w)) out++
    return out < maxEjected(g.targets.size, g.cfg.maxEjectionPercent)
  }

  #enqueue (w: Watched): void {
    if (!w.queued) {
      w.queued = true
      this.#queue.push(w)
    }
    this.#flush ??= setImmediate(() => this.#sendQueued())
  }

  #sendQueued (): void {
    this.#flush = null
    const obs: ObservationMessage['obs'] = []
    for (const w of this.#queue) {
      obs.push([w.group, w.id, w.reset, w.fails])
      w.queued = false
      w.reset = 0
      w.fails = 0
    }
    this.#queue = []
    this.#send({ from: this.#instance, seq: ++this.#seq, obs })
  }
}
