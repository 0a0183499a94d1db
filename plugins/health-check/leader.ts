// The leader's side (shard 0's instance): it keeps every served target's tuple, feeds it probe results and the
// shards' traffic observations, decides ejections, tells the control plane each change (env.reportTarget) and
// publishes the whole state. A leader set up after another (a replaced shard, a reload) resumes from the state
// that one published: no start-up verdicts again, no ejection forgotten.
import type { PluginEnv, PluginGroup, TargetInfo } from '../../core/plugin-api.ts'
import { applyProbe, checksOff, newTarget, reportOf, type ProbeResult } from './health.ts'
import { eject, maxEjected, merge, uneject } from './outlier.ts'
import { Prober } from './prober.ts'
import type { ProbeRequest } from './probe.task.ts'
import type { GroupSection } from './schema.ts'
import { Reason, T, type ObservationMessage, type PublishedState, type TargetTuple } from './state.ts'

export type LeaderEnv = Pick<PluginEnv, 'now' | 'publish' | 'reportTarget' | 'generation' | 'runTask'>

interface Tracked {
  info: TargetInfo
  t: TargetTuple
  /** Configured when this sidecar started fresh and not probed yet: its first result is its verdict. */
  startup: boolean
  /** What was last reported (state and reason), so each change is reported once. */
  reported: string
  /** The last failing probe's words, for the report. */
  description: string | null
}

interface LeaderGroup {
  section: GroupSection
  readonly targets: Map<string, Tracked>
}

export class Leader {
  readonly #env: LeaderEnv
  readonly #id: string
  readonly #prober: Prober
  readonly #groups = new Map<string, LeaderGroup>()
  #acks: Array<[string, number] | null> = []
  /** A predecessor's state, until the targets it names are seen in onGroups. */
  #resumed: PublishedState | null = null
  #seenGroups = false
  /** Once this leader has acted on a result, a foreign state is a retiring leader's, not one to resume. */
  #acted = false
  /** Targets whose report may have changed and is not sent yet. */
  readonly #toReport = new Map<Tracked, string>()
  /**
   * Set by the first groups of a leader with no predecessor's state yet: their reports wait for the next turn
   * (or the first result), so a predecessor's state that the core hands right after them is adopted first and
   * nothing it reported is reported again.
   */
  #holdReports = false
  #publish: NodeJS.Immediate | null = null
  #ejectTimer: NodeJS.Timeout | null = null
  #closed = false

  constructor (env: LeaderEnv, id: string) {
    this.#env = env
    this.#id = id
    this.#prober = new Prober((data: ProbeRequest) => env.runTask('probe', data), (g, id, r) => this.#onProbe(g, id, r))
  }

  /** The groups of a new snapshot: targets come and go, sections change; the tuples of those kept are kept. */
  setGroups (groups: ReadonlyArray<PluginGroup<GroupSection>>): void {
    const startup = !this.#seenGroups && this.#resumed === null
    if (startup) this.#holdReports = true
    this.#seenGroups = true
    const now = this.#env.now()
    const names = new Set<string>()
    for (const g of groups) {
      names.add(g.name)
      let lg = this.#groups.get(g.name)
      if (lg === undefined) this.#groups.set(g.name, lg = { section: g.config, targets: new Map() })
      lg.section = g.config
      const hc = g.config.healthCheck
      const ids = new Set<string>()
      for (const info of g.targets) {
        ids.add(info.id)
        let tr = lg.targets.get(info.id)
        // A new target is probed at once; one a predecessor probed goes on at a random point of its interval.
        const soon = tr === undefined && this.#resumed?.groups[g.name]?.[info.id] === undefined
        if (tr === undefined) lg.targets.set(info.id, tr = this.#track(g.name, info, hc !== undefined, startup, now))
        tr.info = info
        if (hc !== undefined) this.#prober.watch(g.name, info.id, info, hc, soon)
        else {
          this.#prober.unwatch(g.name, info.id)
          if (checksOff(tr.t)) tr.description = null
        }
        this.#report(g.name, tr)
      }
      for (const id of lg.targets.keys()) {
        if (!ids.has(id)) {
          lg.targets.delete(id)
          this.#prober.unwatch(g.name, id)
        }
      }
    }
    for (const name of this.#groups.keys()) {
      if (names.has(name)) continue
      for (const id of this.#groups.get(name)!.targets.keys()) this.#prober.unwatch(name, id)
      this.#groups.delete(name)
    }
    this.#resumed = null
    this.#armEjections()
    this.#dirty()
  }

  /**
   * A state published by another leader instance. Taken over when it comes before this one has acted (the
   * control plane hands the last state right after setup, before or after the first onGroups); later, it is a
   * retiring leader's and this one's own state supersedes it.
   */
  resume (state: PublishedState): void {
    if (this.#acted || this.#closed) return
    this.#acks = state.acks.slice()
    if (!this.#seenGroups) {
      this.#resumed = state
      return
    }
    for (const [name, lg] of this.#groups) {
      for (const tr of lg.targets.values()) {
        const from = state.groups[name]?.[tr.info.id]
        if (from !== undefined) this.#adopt(tr, from)
        else tr.startup = false // it was not there when the state was made: it appeared since, so it is new
        this.#report(name, tr)
      }
    }
    this.#releaseReports()
    this.#armEjections()
    this.#dirty()
  }

  /** A shard's observations (onMessage). */
  observe (m: ObservationMessage, fromShard: number): void {
    if (this.#closed) return
    this.#acted = true
    this.#releaseReports()
    this.#acks[fromShard] = [m.from, m.seq]
    const now = this.#env.now()
    for (const [group, id, reset, failures] of m.obs) {
      const lg = this.#groups.get(group)
      const tr = lg?.targets.get(id)
      const od = lg?.section.outlierDetection
      if (lg === undefined || tr === undefined || od === undefined) continue
      merge(tr.t, reset, failures)
      if (tr.t[T.Failures] < od.consecutiveFailures || tr.t[T.EjectedUntil] > 0) continue
      if (ejectedIn(lg) >= maxEjected(lg.targets.size, od.maxEjectionPercent)) continue // Envoy: the count stays, the next failure asks again
      eject(tr.t, od, now)
      this.#report(group, tr)
    }
    this.#armEjections()
    this.#dirty() // even with nothing new: the acks tell shards their local ejections are answered for
  }

  close (): void {
    this.#closed = true
    this.#prober.close()
    if (this.#publish !== null) clearImmediate(this.#publish)
    if (this.#ejectTimer !== null) clearTimeout(this.#ejectTimer)
    this.#publish = null
    this.#ejectTimer = null
  }

  #track (group: string, info: TargetInfo, active: boolean, startup: boolean, now: number): Tracked {
    const tr: Tracked = { info, t: newTarget(active), startup: startup && active, reported: '', description: null }
    const from = this.#resumed?.groups[group]?.[info.id]
    if (from !== undefined) this.#adopt(tr, from)
    // Without active checks a target is healthy as it appears; one that appears after the start ramps up.
    else if (!active && !startup) tr.t[T.Since] = now
    return tr
  }

  /** Takes a predecessor's tuple; it reported it already, so it is not reported again. */
  #adopt (tr: Tracked, from: TargetTuple): void {
    tr.t = from.slice() as TargetTuple
    tr.startup = false
    tr.reported = keyOf(tr.t)
  }

  #onProbe (group: string, id: string, r: ProbeResult): void {
    const lg = this.#groups.get(group)
    const tr = lg?.targets.get(id)
    const hc = lg?.section.healthCheck
    if (tr === undefined || hc === undefined) return
    this.#acted = true
    this.#releaseReports() // the initial reports go out before the verdict
    const before = tr.t.join()
    const now = this.#env.now()
    applyProbe(tr.t, r, hc, tr.startup, now)
    tr.startup = false
    if (r.ok && tr.t[T.EjectedUntil] > 0) uneject(tr.t, now)
    if (!r.ok) tr.description = r.description
    this.#report(group, tr)
    if (tr.t.join() !== before) this.#dirty()
  }

  #report (group: string, tr: Tracked): void {
    this.#toReport.set(tr, group)
    if (this.#holdReports) this.#dirty()
    else this.#sendReports()
  }

  #releaseReports (): void {
    this.#holdReports = false
    this.#sendReports()
  }

  #sendReports (): void {
    for (const [tr, group] of this.#toReport) {
      if (this.#groups.get(group)?.targets.get(tr.info.id) !== tr) continue // gone since
      const key = keyOf(tr.t)
      if (key === tr.reported) continue
      tr.reported = key
      const r = reportOf(tr.t)
      this.#env.reportTarget(group, tr.info.id, { state: r.state, reason: r.reason, description: this.#describe(r.reason, tr) })
    }
    this.#toReport.clear()
  }

  #describe (reason: string | null, tr: Tracked): string | null {
    if (reason === null) return null
    if (reason === Reason.Initial) return 'Initial health checks in progress'
    if (reason === Reason.Ejected) return `Ejected by outlier detection until ${new Date(tr.t[T.EjectedUntil]).toISOString()} (ejection ${tr.t[T.Ejections]})`
    return tr.description
  }

  /** One timer, at the end of the earliest ejection; each ends when its time is up. */
  #armEjections (): void {
    if (this.#ejectTimer !== null) clearTimeout(this.#ejectTimer)
    this.#ejectTimer = null
    if (this.#closed) return
    let next = Infinity
    for (const lg of this.#groups.values()) for (const tr of lg.targets.values()) if (tr.t[T.EjectedUntil] > 0) next = Math.min(next, tr.t[T.EjectedUntil])
    if (next === Infinity) return
    this.#ejectTimer = setTimeout(() => this.#endEjections(), Math.max(0, next - this.#env.now()))
    this.#ejectTimer.unref()
  }

  #endEjections (): void {
    this.#ejectTimer = null
    const now = this.#env.now()
    let ended = false
    for (const [name, lg] of this.#groups) {
      for (const tr of lg.targets.values()) {
        if (tr.t[T.EjectedUntil] === 0 || tr.t[T.EjectedUntil] > now) continue
        uneject(tr.t, now)
        this.#report(name, tr)
        ended = true
      }
    }
    if (ended) this.#dirty()
    this.#armEjections()
  }

  /** Reports and publishes once per turn of the event loop, however many changes it had. */
  #dirty (): void {
    if (this.#closed) return
    this.#publish ??= setImmediate(() => {
      this.#publish = null
      if (this.#closed) return
      this.#releaseReports()
      this.#env.publish(this.#snapshot())
    })
  }

  #snapshot (): PublishedState {
    const groups: Record<string, Record<string, TargetTuple>> = {}
    for (const [name, lg] of this.#groups) {
      const out: Record<string, TargetTuple> = groups[name] = {}
      for (const [id, tr] of lg.targets) out[id] = tr.t
    }
    return { v: 1, id: this.#id, gen: this.#env.generation, acks: this.#acks, groups }
  }
}

function keyOf (t: TargetTuple): string {
  const r = reportOf(t)
  return r.state + ' ' + (r.reason ?? '')
}

function ejectedIn (lg: LeaderGroup): number {
  let n = 0
  for (const tr of lg.targets.values()) if (tr.t[T.EjectedUntil] > 0) n++
  return n
}
