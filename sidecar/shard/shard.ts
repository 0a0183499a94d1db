// A shard: one worker thread of the data plane. Binds every listener (reusePort) and runs the pipeline.
import { parentPort, workerData } from 'node:worker_threads'
import { buildSnapshot, EndpointRegistry, type Snapshot, type SnapshotMessage } from '../../core/snapshot.ts'
import { HttpListener } from '../../core/listener/http-listener.ts'
import { ShardMetrics } from './metrics.ts'
import { ShardObserver } from './observer.ts'
import { PluginHost } from './plugin-host.ts'
import { MemoryReclaimer } from './reclaim.ts'
import { HEARTBEAT_MS, RECLAIM_CHECK_MS, type FromShard, type ToShard } from './messages.ts'

export class Shard {
  readonly registry = new EndpointRegistry()
  readonly metrics = new ShardMetrics()
  readonly observer = new ShardObserver(this.metrics)
  readonly plugins: PluginHost
  #listeners = new Map<string, HttpListener>()
  #snapshot: Snapshot | null = null

  #queue: Promise<unknown> = Promise.resolve()
  #refreshQueued = false
  readonly #send: (m: FromShard) => void
  #tasks = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()
  #taskId = 0

  /** `send` reaches the control plane; a shard on its own (tests, bench/shard-alone.ts) has none. */
  constructor (index = 0, generation = 0, send: (m: FromShard) => void = () => {}) {
    this.#send = send
    this.plugins = new PluginHost(index, generation, {
      onFailure: (plugin, hook) => this.metrics.pluginError(plugin, hook),
      runTask: (url, data, timeoutMs) => new Promise((resolve, reject) => {
        const id = ++this.#taskId
        this.#tasks.set(id, { resolve, reject })
        this.#send({ type: 'task', id, url, data, timeoutMs })
      }),
      publish: (plugin, state) => this.#send({ type: 'plugin-state', plugin, state }),
      refreshTargets: () => this.#refresh(),
      sendToLeader: (plugin, message) => this.#send({ type: 'plugin-message', plugin, message }),
      reportTarget: (plugin, group, target, r) => this.#send({
        type: 'target-report', plugin, group, target, state: r.state, reason: r.reason ?? null, description: r.description ?? null,
      }),
      counters: this.metrics.pluginCounters,
    })
  }

  taskDone (m: Extract<ToShard, { type: 'task-result' }>): void {
    const t = this.#tasks.get(m.id)
    this.#tasks.delete(m.id)
    if (m.ok) t?.resolve(m.value)
    else t?.reject(new Error(m.message))
  }

  /**
   * Target state changed: every group of the running snapshot asks its targetState hooks again and changes in
   * place (core/group.ts), coalesced per turn. No rebuild: selector state survives a health flip.
   */
  #refresh (): void {
    if (this.#refreshQueued) return
    this.#refreshQueued = true
    queueMicrotask(() => {
      this.#refreshQueued = false
      for (const g of this.#snapshot?.groups.values() ?? []) g.refresh()
    })
  }

  /** Snapshots apply one at a time, in order. */
  apply (msg: SnapshotMessage): Promise<void> {
    const run = this.#queue.then(() => this.#apply(msg))
    this.#queue = run.catch(() => {})
    return run
  }

  /**
   * Applies a snapshot: new listeners are bound before anything changes, so a bind failure leaves the
   * running snapshot in place; existing listeners swap their runtime between requests.
   */
  async #apply (msg: SnapshotMessage): Promise<void> {
    if (this.observer.log === null && msg.config.listeners.some((l) => l.accessLog)) {
      const { AccessLog } = await import('./access-log.ts')
      this.observer.log = new AccessLog()
    }
    const plugins = await this.plugins.prepare(msg.plugins)
    let snap: Snapshot
    try {
      snap = buildSnapshot(msg, this.registry, this.observer, plugins)
    } catch (err) {
      await this.plugins.discard(plugins)
      throw err
    }
    const bound = new Map<string, HttpListener>()
    try {
      for (const [name, l] of snap.listeners) {
        const existing = this.#listeners.get(name)
        if (existing !== undefined && existing.host === l.config.host && existing.port === l.port && existing.kind === l.kind) continue
        const listener = new HttpListener(l.runtime, l.config.host, l.port, l.kind)
        await listener.listen()
        bound.set(name, listener)
      }
    } catch (err) {
      await Promise.all([...bound.values()].map((l) => l.drain(0)))
      this.registry.retainOnly(this.#snapshot?.endpointIds ?? new Set())
      await this.plugins.discard(plugins)
      throw err
    }
    const retired: HttpListener[] = []
    for (const [name, listener] of this.#listeners) {
      const next = snap.listeners.get(name)
      if (next === undefined || bound.has(name)) retired.push(listener)
      else listener.runtime = next.runtime
    }
    for (const [name, listener] of bound) this.#listeners.set(name, listener)
    for (const listener of retired) {
      const name = listener.runtime.name
      if (!snap.listeners.has(name)) this.#listeners.delete(name)
      void listener.drain(listener.runtime.settings.idleTimeoutMs)
    }
    this.#snapshot = snap
    this.registry.retainOnly(snap.endpointIds)
    await this.plugins.commit(plugins, msg.plugins)
  }

  /** Groups some listener of the running snapshot can send requests to. */
  get usedGroups (): string[] { return [...this.#snapshot?.usedGroups ?? []] }

  stats (id: number): FromShard {
    const endpoints = []
    for (const ep of this.registry.all()) endpoints.push({ id: ep.id, inFlight: ep.inFlight, idle: ep.pool.idleCount })
    const listeners = []
    for (const [name, l] of this.#listeners) {
      listeners.push({ name, port: l.port, connections: l.connectionCount, inFlight: l.busyCount })
    }
    return { type: 'stats', id, metrics: this.metrics.toJSON(), endpoints, listeners }
  }

  async drain (deadlineMs: number, closeIdle = true): Promise<void> {
    await Promise.all([...this.#listeners.values()].map((l) => l.drain(deadlineMs, closeIdle)))
    this.registry.closeAll()
    await this.plugins.closeAll()
    this.observer.log?.flush()
  }
}

if (parentPort !== null && workerData?.pilotfishShard === true) {
  const port = parentPort
  const send = (m: FromShard): void => port.postMessage(m)
  const shard = new Shard(workerData.index, workerData.generation, send)
  // A plugin's stray promise (a timer callback's, say) must not end the shard and every connection on it.
  process.on('unhandledRejection', (err) => {
    const error = shard.plugins.scrub((err as Error)?.message ?? String(err)) // whose promise it was is unknown: every plugin's secrets
    process.stderr.write(JSON.stringify({ time: Date.now(), shard: workerData.index, msg: 'unhandled rejection', error }) + '\n')
  })
  // The control plane's watchdog reads this: a count that stops moving means a blocked event loop.
  const heartbeat = workerData.heartbeat as Int32Array
  // The same timer gives a burst's memory back (reclaim.ts): it looks for piled-up Buffers every beat, and
  // once a second for a burst that has ended.
  const reclaimer = new MemoryReclaimer()
  const checkEvery = Math.round(RECLAIM_CHECK_MS / HEARTBEAT_MS)
  let beats = 0
  setInterval(() => {
    Atomics.add(heartbeat, 0, 1)
    reclaimer.sample()
    if (++beats % checkEvery === 0) reclaimer.check()
  }, HEARTBEAT_MS).unref()
  port.on('message', (m: ToShard) => {
    switch (m.type) {
      case 'snapshot':
        shard.apply(m.snapshot).then(
          () => send({ type: 'applied', version: m.snapshot.version, usedGroups: shard.usedGroups }),
          (err: Error) => send({
            type: 'apply-failed',
            version: m.snapshot.version,
            message: err.message,
            code: (err as { code?: string }).code,
            problems: (err as { problems?: Array<{ path: string, message: string }> }).problems,
          }),
        )
        return
      case 'stats':
        send(shard.stats(m.id))
        return
      case 'plugin-state':
        shard.plugins.deliver(m.plugin, m.state)
        return
      case 'plugin-message':
        shard.plugins.deliverMessage(m.plugin, m.message, m.from)
        return
      case 'task-result':
        shard.taskDone(m)
        return
      case 'drain':
        shard.drain(m.deadlineMs, m.closeIdle).then(() => {
          send({ type: 'drained', metrics: shard.metrics.toJSON() })
          port.close()
        }, () => port.close())
    }
  })
  send({ type: 'ready' })
}
