// The shard supervisor: starts N worker threads, publishes snapshots to all, gathers their stats, replaces a
// shard that dies or stalls (an uncaught error or a blocked event loop costs that shard's connections, not the
// sidecar), and rolls a new generation of shards when plugin code changes.
import { Worker } from 'node:worker_threads'
import { invalid, PilotfishError } from '../../core/errors.ts'
import type { SnapshotMessage } from '../../core/snapshot.ts'
import { HEARTBEAT_MS, type FromShard, type TargetReportMessage, type ToShard } from '../shard/messages.ts'

type Stats = Extract<FromShard, { type: 'stats' }>
/** Messages a shard sends on its own initiative (its plugins' state, messages and reports, task requests). */
type ShardEvent = Extract<FromShard, { type: 'plugin-state' | 'plugin-message' | 'target-report' | 'task' }>
const EVENTS = new Set<FromShard['type']>(['plugin-state', 'plugin-message', 'target-report', 'task'])
const SHARD_ENTRY = new URL('../shard/shard.ts', import.meta.url)
const EXITED: FromShard = { type: 'apply-failed', version: -1, message: 'shard exited' }

/**
 * Watchdog: a shard bumps its heartbeat every HEARTBEAT_MS (shard.ts); one whose count has not moved for
 * STALL_MS has a blocked event loop and is replaced. Checked every CHECK_MS, so a stall is acted on within
 * STALL_MS + CHECK_MS, and the replacement serves well inside 2 s.
 */
const CHECK_MS = 250
const STALL_MS = Math.max(1000, 8 * HEARTBEAT_MS)
/**
 * A shard's young generation, in MiB: its new space then grows to ~10 MiB under load instead of V8's 32. A
 * proxy's garbage dies young, and each scavenge also frees the Buffers (malloc memory, not in the V8 heap) that
 * died since the last one, so a smaller new space is scavenged sooner and holds less dead memory. At 16 KiB
 * responses it cut peak RSS from ~159 to ~107 MiB with no measurable change in CPU per request
 * (docs/design-notes.md, Memory).
 */
const SHARD_YOUNG_GENERATION_MB = 12
/** A new generation that cannot load and apply within this is abandoned; the running one stays. */
const ROLL_TIMEOUT_MS = 30_000

class ShardHandle {
  readonly index: number
  readonly generation: number
  readonly worker: Worker
  readonly ready: Promise<void>
  readonly heartbeat = new Int32Array(new SharedArrayBuffer(4))
  #waiters = new Map<string, (m: FromShard) => void>()
  exited = false
  /** Armed once the shard has applied a snapshot: loading modules and setting plugins up is not a stall. */
  watched = false
  /** Ended by the watchdog. */
  stalledOut = false
  #lastBeat = 0
  #lastMoved = 0

  constructor (index: number, generation: number, onExit: (h: ShardHandle, code: number) => void, onEvent: (h: ShardHandle, m: ShardEvent) => void) {
    this.index = index
    this.generation = generation
    this.worker = new Worker(SHARD_ENTRY, {
      name: `pf-shard-${index}`, // the thread's name in ps -L and top -H (at most 15 characters survive)
      workerData: { pilotfishShard: true, index, generation, heartbeat: this.heartbeat },
      resourceLimits: { maxYoungGenerationSizeMb: SHARD_YOUNG_GENERATION_MB },
    })
    this.ready = new Promise((resolve, reject) => {
      this.#waiters.set('ready', () => resolve())
      this.worker.once('error', reject)
    })
    this.worker.on('message', (m: FromShard) => {
      if (EVENTS.has(m.type)) onEvent(this, m as ShardEvent)
      else this.#onMessage(m)
    })
    this.worker.on('error', () => {}) // 'exit' follows
    this.worker.on('exit', (code) => {
      this.exited = true
      for (const w of this.#waiters.values()) w(EXITED)
      this.#waiters.clear()
      onExit(this, code)
    })
  }

  #onMessage (m: FromShard): void {
    const key = m.type === 'stats' ? `stats:${m.id}` : m.type === 'applied' || m.type === 'apply-failed' ? `apply:${m.version}` : m.type
    const w = this.#waiters.get(key)
    if (w === undefined) return
    this.#waiters.delete(key)
    w(m)
  }

  request (msg: ToShard, key: string): Promise<FromShard> {
    return new Promise((resolve) => {
      if (this.exited) return resolve(EXITED)
      this.#waiters.set(key, resolve)
      this.worker.postMessage(msg)
    })
  }

  async apply (snapshot: SnapshotMessage): Promise<FromShard> {
    const r = await this.request({ type: 'snapshot', snapshot }, `apply:${snapshot.version}`)
    if (r.type === 'applied') this.arm()
    return r
  }

  arm (): void {
    if (this.watched) return
    this.watched = true
    this.#lastBeat = Atomics.load(this.heartbeat, 0)
    this.#lastMoved = Date.now()
  }

  /** True when the heartbeat has not moved for STALL_MS. */
  stalled (now: number): boolean {
    if (!this.watched || this.exited) return false
    const beat = Atomics.load(this.heartbeat, 0)
    if (beat !== this.#lastBeat) {
      this.#lastBeat = beat
      this.#lastMoved = now
      return false
    }
    return now - this.#lastMoved > STALL_MS
  }

  /** Resolves with the shard's final metrics (none if it exited first). */
  async drainAndExit (deadlineMs: number, closeIdle: boolean): Promise<unknown[]> {
    if (this.exited) return []
    this.watched = false // a draining shard may well be idle; its deadline ends it either way
    const r = await this.request({ type: 'drain', deadlineMs, closeIdle }, 'drained')
    await this.worker.terminate()
    return r.type === 'drained' ? r.metrics : []
  }
}

function firstFailure (results: readonly FromShard[]): PilotfishError | null {
  const failed = results.findIndex((r) => r.type === 'apply-failed')
  if (failed === -1) return null
  const r = results[failed]!
  if (r.type !== 'apply-failed') return new PilotfishError('PF_ERR_SHARD_FAILED', [failed, ''])
  // A config a plugin refused (its setup threw, a hook or a declared group is missing) is the caller's to fix
  // (400); anything else is a shard that broke (500). The shard's own code rides along as the cause.
  // A plugin that refused it with JSON paths (ConfigProblems) is answered as a schema problem is.
  if (r.problems !== undefined && r.problems.length > 0) return invalid(r.problems)
  const byPlugin = r.code?.startsWith('PF_ERR_PLUGIN_') === true
  return new PilotfishError(byPlugin ? 'PF_ERR_PLUGIN_REFUSED' : 'PF_ERR_SHARD_FAILED', [failed, r.message], { cause: { code: r.code } })
}

export class ShardPool {
  #shards: ShardHandle[] = []
  /** Shards of earlier generations finishing their connections. */
  readonly #retiring = new Set<ShardHandle>()
  readonly #count: number
  #generation = 1
  #statsId = 0
  #last: SnapshotMessage | null = null
  #stopping = false
  #watchdog: NodeJS.Timeout | null = null
  /** Shards replaced after dying or stalling, for the status API and the log. */
  restarts = 0
  onRestart: (index: number, code: number, stalled: boolean) => void = () => {}
  /** Runs a plugin task for a shard of the given generation (control-plane/tasks.ts). */
  onTask: (generation: number, url: string, data: unknown, timeoutMs: number) => Promise<unknown> = () => Promise.reject(new Error('no task pool'))
  /** Every shard of a generation has exited. */
  onGenerationGone: (generation: number) => void = () => {}
  /** A retired shard's final metrics, so that counters do not step down when it exits after a reload. */
  onRetiredMetrics: (metrics: unknown[]) => void = () => {}
  /** A plugin's word on a target (env.reportTarget), for the admin API, metrics and the log. */
  onTargetReport: (report: TargetReportMessage) => void = () => {}
  /** Groups some listener can send requests to, as the shards compiled the running snapshot. */
  usedGroups: ReadonlySet<string> = new Set()
  /** The last state each plugin published, for shards that start later. */
  readonly #states = new Map<string, unknown>()

  constructor (count: number) {
    this.#count = count
  }

  get size (): number { return this.#count }
  get generation (): number { return this.#generation }
  get retiring (): number { return this.#retiring.size }

  async start (): Promise<void> {
    for (let i = 0; i < this.#count; i++) this.#shards.push(this.#spawn(i, this.#generation))
    await Promise.all(this.#shards.map((s) => s.ready))
    this.#watchdog = setInterval(() => this.#watch(), CHECK_MS)
    this.#watchdog.unref()
  }

  #spawn (index: number, generation: number): ShardHandle {
    return new ShardHandle(index, generation, (h, code) => {
      if (this.#retiring.delete(h) && ![...this.#shards, ...this.#retiring].some((s) => s.generation === h.generation)) {
        this.onGenerationGone(h.generation)
      }
      if (this.#stopping || this.#shards[index] !== h) return
      this.restarts++
      this.onRestart(index, code, h.stalledOut)
      const next = this.#spawn(index, generation)
      this.#shards[index] = next
      // The replacement binds the same listeners (reusePort) from the running snapshot.
      const last = this.#last
      if (last !== null) void next.ready.then(() => this.#prime(next, last))
    }, (h, m) => this.#onEvent(h, m))
  }

  /** A new shard gets the plugins' last published state before the snapshot its plugins are set up from. */
  #prime (s: ShardHandle, snapshot: SnapshotMessage): Promise<FromShard> {
    for (const [plugin, state] of this.#states) s.worker.postMessage({ type: 'plugin-state', plugin, state } satisfies ToShard)
    return s.apply(snapshot)
  }

  #onEvent (h: ShardHandle, m: ShardEvent): void {
    if (m.type === 'target-report') return this.onTargetReport(m)
    if (m.type === 'plugin-message') {
      // To the running generation's leader (shard 0), from any shard of any generation.
      const leader = this.#shards[0]
      if (leader !== undefined && !leader.exited) leader.worker.postMessage({ type: 'plugin-message', plugin: m.plugin, message: m.message, from: h.index } satisfies ToShard)
      return
    }
    if (m.type === 'plugin-state') {
      this.#states.set(m.plugin, m.state)
      for (const s of this.#shards) if (!s.exited) s.worker.postMessage({ type: 'plugin-state', plugin: m.plugin, state: m.state } satisfies ToShard)
      return
    }
    const reply = (ok: boolean, value: unknown, message: string): void => {
      if (!h.exited) h.worker.postMessage({ type: 'task-result', id: m.id, ok, value, message } satisfies ToShard)
    }
    this.onTask(h.generation, m.url, m.data, m.timeoutMs).then((v) => reply(true, v, ''), (e: unknown) => reply(false, undefined, (e as Error)?.message ?? String(e)))
  }

  #watch (): void {
    const now = Date.now()
    for (const s of this.#shards) {
      if (!s.stalled(now)) continue
      s.watched = false
      s.stalledOut = true
      void s.worker.terminate() // exit → replaced like any shard that dies
    }
  }

  /** Publishes a snapshot to every shard; rejects with the first reason if any could not apply it. */
  async publish (snapshot: SnapshotMessage): Promise<void> {
    const results = await Promise.all(this.#shards.map((s) => s.apply(snapshot)))
    const err = firstFailure(results)
    if (err !== null) throw err
    this.#last = snapshot
    this.#applied(results)
  }

  #applied (results: readonly FromShard[]): void {
    const first = results[0]
    if (first?.type === 'applied') this.usedGroups = new Set(first.usedGroups)
  }

  /**
   * Replaces every shard by a new generation that imports its modules afresh (a plugin's new code) and applies
   * `snapshot`, binding beside the running shards with reusePort. Only once all of it has applied do the old
   * shards stop accepting and drain: in-flight requests finish there, long-lived connections (WebSocket) up to
   * `drainMs`. If the new generation fails, it is discarded and the running one carries on untouched.
   */
  async roll (snapshot: SnapshotMessage, drainMs: number): Promise<void> {
    const generation = this.#generation + 1
    const next: ShardHandle[] = []
    for (let i = 0; i < this.#count; i++) next.push(this.#spawn(i, generation))
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<FromShard[]>((resolve) => {
      timer = setTimeout(() => resolve([{ type: 'apply-failed', version: snapshot.version, message: `new shards not ready within ${ROLL_TIMEOUT_MS / 1000} s` }]), ROLL_TIMEOUT_MS)
    })
    const results = await Promise.race([Promise.all(next.map(async (s) => { await s.ready; return this.#prime(s, snapshot) })), timeout])
      .catch((e: unknown): FromShard[] => [{ type: 'apply-failed', version: snapshot.version, message: (e as Error).message }])
    clearTimeout(timer)
    const err = firstFailure(results)
    if (err !== null) {
      await Promise.all(next.map((s) => s.worker.terminate()))
      throw err
    }
    const old = this.#shards
    this.#shards = next
    this.#generation = generation
    this.#last = snapshot
    this.#applied(results)
    for (const s of old) {
      this.#retiring.add(s)
      // Clients are still coming: no idle connection is cut mid-send.
      void s.drainAndExit(drainMs, false).then((metrics) => { if (metrics.length > 0) this.onRetiredMetrics(metrics) })
    }
  }

  async stats (): Promise<Stats[]> {
    const id = ++this.#statsId
    const all = await Promise.all([...this.#shards, ...this.#retiring].map((s) => s.request({ type: 'stats', id }, `stats:${id}`)))
    return all.filter((m): m is Stats => m.type === 'stats')
  }

  /** Ends a shard at once; it is replaced like a shard that died (the tests' lever). */
  async kill (index: number): Promise<void> {
    await this.#shards[index]?.worker.terminate()
  }

  async stop (deadlineMs: number): Promise<void> {
    this.#stopping = true
    if (this.#watchdog !== null) clearInterval(this.#watchdog)
    await Promise.all([...this.#shards, ...this.#retiring].map((s) => s.drainAndExit(deadlineMs, true)))
  }
}
