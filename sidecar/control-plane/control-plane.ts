// The control plane's state: the running config, its version, draining targets, and how changes reach shards.
import { watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Registry as PromRegistry } from 'prom-client'
import { PilotfishError } from '../../core/errors.ts'
import { buildSnapshot, EndpointRegistry, type DrainingTarget, type PluginSpec, type SnapshotMessage } from '../../core/snapshot.ts'
import { PluginInstance, type PluginSet } from '../../core/plugin/instance.ts'
import { endpointId } from '../../core/forwarder/target-pool.ts'
import type { RequestObserver } from '../../core/runtime.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { validateConfig } from '../../schemas/validate.ts'
import { ShardPool } from './shards.ts'
import { PluginRegistry, pluginUrl } from './plugins.ts'
import { TaskPools } from './tasks.ts'

interface Draining extends DrainingTarget { until: number }

const nullObserver: RequestObserver = { onRequestEnd () {}, onRejected () {}, onRefused () {} }
/** The control plane compiles snapshots without running plugin code: every plugin is a stand-in. */
const standIns: PluginSet = { get: (name) => PluginInstance.standIn(name) }

/** A free port on host, for listeners configured with port 0: resolved once so every shard binds the same. */
async function freePort (host: string): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host, port: 0 }, resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface TargetView { id: string, host: string, port: number, weight: number, state: 'registered' | 'draining', inFlight: number }

export class ControlPlane {
  readonly shards: ShardPool
  readonly plugins: PluginRegistry
  config: SidecarConfig
  version = 0
  readonly startedAt = Date.now()
  #draining: Draining[] = []
  #ports: Record<string, number> = {}
  #specs: PluginSpec[] = []
  #queue: Promise<unknown> = Promise.resolve()
  #sweeper: NodeJS.Timeout | null = null
  #watchers = new Map<string, { path: string, close: () => void }>()
  readonly #tasks = new TaskPools()
  /** Final metrics of shards retired by plugin reloads, merged into every scrape (compacted on the way). */
  #retired: unknown[][] = []
  readonly #baseDir: string

  private constructor (config: SidecarConfig, shards: ShardPool, plugins: PluginRegistry, baseDir: string) {
    this.config = config
    this.shards = shards
    this.plugins = plugins
    this.#baseDir = baseDir
    shards.onTask = (generation, url, data, timeoutMs) => this.#tasks.run(generation, url, data, timeoutMs)
    shards.onGenerationGone = (generation) => { void this.#tasks.retire(generation) }
    shards.onRetiredMetrics = (metrics) => { this.#retired.push(metrics) }
  }

  /** `baseDir`: where plugin paths in the config are relative to (the config file's folder). */
  static async start (config: SidecarConfig, shardCount: number, baseDir = process.cwd()): Promise<ControlPlane> {
    const plugins = new PluginRegistry(baseDir)
    const specs = await plugins.specs(config) // a plugin that cannot load fails the start before any shard runs
    const shards = new ShardPool(shardCount)
    await shards.start()
    const cp = new ControlPlane(config, shards, plugins, baseDir)
    try {
      await cp.#publish(config, [], specs)
    } catch (err) {
      await shards.stop(0)
      throw err
    }
    plugins.running(config, shards.generation)
    cp.#watchPlugins()
    return cp
  }

  /** Listener name → bound port. */
  get ports (): Readonly<Record<string, number>> { return this.#ports }

  /** Runs changes one at a time, in the order they were asked for. */
  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }

  async #resolvePorts (config: SidecarConfig): Promise<Record<string, number>> {
    const ports: Record<string, number> = {}
    for (const l of config.listeners) {
      const prev = this.config.listeners.find((p) => p.name === l.name)
      const reuse = l.port === 0 && prev !== undefined && prev.port === 0 && prev.host === l.host && this.#ports[l.name] !== undefined
      ports[l.name] = l.port !== 0 ? l.port : reuse ? this.#ports[l.name]! : await freePort(l.host)
    }
    return ports
  }

  /**
   * Compiles locally first (so a config that cannot compile never reaches a shard), then publishes to every
   * shard; if any shard cannot apply it, all go back to the running snapshot and nothing changes.
   */
  async #publish (config: SidecarConfig, draining: Draining[] = this.#draining, specs = this.#specs, roll = false): Promise<void> {
    const msg: SnapshotMessage = { version: this.version + 1, config, draining, ports: await this.#resolvePorts(config), plugins: specs }
    buildSnapshot(msg, new EndpointRegistry(), nullObserver, standIns)
    try {
      if (roll) await this.shards.roll(msg, config.drainTimeoutSeconds * 1000)
      else await this.shards.publish(msg)
    } catch (err) {
      this.version = msg.version
      if (this.version > 1 && !roll) {
        const back = { version: ++this.version, config: this.config, draining: this.#draining, ports: this.#ports, plugins: this.#specs }
        await this.shards.publish(back).catch(() => {})
      }
      throw err
    }
    this.version = msg.version
    this.config = config
    this.#draining = draining
    this.#ports = msg.ports
    this.#specs = specs
  }

  /** Validates a whole config and applies it to every shard, or throws with every problem and changes nothing. */
  applyConfig (data: unknown): Promise<void> {
    return this.#serial(async () => {
      const config = validateConfig(structuredClone(data))
      let specs: PluginSpec[]
      try {
        specs = await this.plugins.specs(config)
      } catch (err) {
        for (const p of (err as PilotfishError).problems ?? []) {
          const i = /^\/plugins\/(\d+)\//.exec(p.path)?.[1]
          if (i !== undefined) this.plugins.failed(config.plugins[Number(i)]!.name, err)
        }
        throw err
      }
      await this.#publish(config, this.#draining, specs)
      this.plugins.running(config, this.shards.generation)
      this.#watchPlugins()
    })
  }

  /**
   * Keeps one watcher per plugin entry with `watch: true`; a change reloads it, debounced (editors write twice).
   * It watches the folder, not the file: an editor that saves by renaming replaces the file's inode.
   */
  #watchPlugins (): void {
    const wanted = new Map<string, string>()
    for (const p of this.config.plugins) if (p.watch) wanted.set(p.name, fileURLToPath(pluginUrl(p.from, this.#baseDir)))
    for (const [name, w] of this.#watchers) {
      if (wanted.get(name) === w.path) continue
      w.close()
      this.#watchers.delete(name)
    }
    for (const [name, path] of wanted) {
      if (this.#watchers.has(name)) continue
      let timer: NodeJS.Timeout | null = null
      const watcher = watch(dirname(path), (_event, file) => {
        if (file !== basename(path)) return
        if (timer !== null) clearTimeout(timer)
        timer = setTimeout(() => { void this.reloadPlugin(name).catch(() => {}) }, 100) // the reason shows in GET /v1/plugins
      })
      watcher.on('error', (err) => this.plugins.failed(name, err))
      watcher.unref()
      this.#watchers.set(name, { path, close: () => { if (timer !== null) clearTimeout(timer); watcher.close() } })
    }
  }

  /**
   * Reads a plugin's module afresh and rolls a new shard generation onto it (new module graph; the old
   * generation drains). If the new code cannot load, validate its config or set up, nothing changes.
   */
  reloadPlugin (name: string): Promise<void> {
    return this.#serial(async () => {
      if (!this.config.plugins.some((p) => p.name === name)) throw new PilotfishError('PF_ERR_PLUGIN_UNKNOWN', [name])
      const config = structuredClone(this.config)
      try {
        const specs = await this.plugins.specs(config, true)
        await this.#publish(config, this.#draining, specs, true)
      } catch (err) {
        this.plugins.failed(name, err)
        throw err
      }
      this.plugins.running(config, this.shards.generation)
      this.plugins.reloaded(name)
    })
  }

  #group (name: string): SidecarConfig['targetGroups'][number] {
    const g = this.config.targetGroups.find((x) => x.name === name)
    if (g === undefined) throw new PilotfishError('PF_ERR_TARGET_GROUP_UNKNOWN', [name])
    return g
  }

  registerTarget (groupName: string, host: string, port: number, weight: number): Promise<void> {
    return this.#serial(async () => {
      const g = this.#group(groupName)
      if (g.targets.some((t) => t.host === host && t.port === port)) {
        throw new PilotfishError('PF_ERR_TARGET_EXISTS', [endpointId(host, port), groupName])
      }
      const next = structuredClone(this.config)
      next.targetGroups.find((x) => x.name === groupName)!.targets.push({ host, port, weight })
      await this.#publish(validateConfig(next), this.#draining.filter((d) => !(d.group === groupName && d.host === host && d.port === port)))
    })
  }

  /**
   * Deregisters a target: it stops getting new requests at once, keeps its in-flight ones, and leaves the
   * group when they are done or the group's deregistration delay is over (ALB semantics).
   */
  deregisterTarget (groupName: string, host: string, port: number): Promise<void> {
    return this.#serial(async () => {
      const g = this.#group(groupName)
      const t = g.targets.find((x) => x.host === host && x.port === port)
      if (t === undefined) throw new PilotfishError('PF_ERR_TARGET_UNKNOWN', [endpointId(host, port), groupName])
      const next = structuredClone(this.config)
      const ng = next.targetGroups.find((x) => x.name === groupName)!
      ng.targets = ng.targets.filter((x) => !(x.host === host && x.port === port))
      const draining = g.deregistrationDelaySeconds > 0
        ? [...this.#draining, { group: groupName, host, port, weight: t.weight, until: Date.now() + g.deregistrationDelaySeconds * 1000 }]
        : this.#draining
      await this.#publish(next, draining)
      this.#startSweeper()
    })
  }

  #startSweeper (): void {
    if (this.#sweeper !== null || this.#draining.length === 0) return
    this.#sweeper = setInterval(() => { void this.#sweep() }, 250)
    this.#sweeper.unref()
  }

  /** Ends draining for targets that are idle in every shard or whose delay is over. */
  async #sweep (): Promise<void> {
    const inFlight = await this.#inFlightByEndpoint()
    await this.#serial(async () => {
      const now = Date.now()
      const keep = this.#draining.filter((d) => d.until > now && (inFlight.get(endpointId(d.host, d.port)) ?? 0) > 0)
      if (keep.length !== this.#draining.length) await this.#publish(this.config, keep)
      if (this.#draining.length === 0 && this.#sweeper !== null) {
        clearInterval(this.#sweeper)
        this.#sweeper = null
      }
    })
  }

  async #inFlightByEndpoint (): Promise<Map<string, number>> {
    const m = new Map<string, number>()
    for (const s of await this.shards.stats()) {
      for (const e of s.endpoints) m.set(e.id, (m.get(e.id) ?? 0) + e.inFlight)
    }
    return m
  }

  async targetGroups (): Promise<Array<{ name: string, algorithm: string, targets: TargetView[] }>> {
    const inFlight = await this.#inFlightByEndpoint()
    return this.config.targetGroups.map((g) => {
      const view = (host: string, port: number, weight: number, state: TargetView['state']): TargetView => {
        const id = endpointId(host, port)
        return { id, host, port, weight, state, inFlight: inFlight.get(id) ?? 0 }
      }
      return {
        name: g.name,
        algorithm: g.algorithm,
        targets: [
          ...g.targets.map((t) => view(t.host, t.port, t.weight, 'registered')),
          ...this.#draining.filter((d) => d.group === g.name).map((d) => view(d.host, d.port, d.weight, 'draining')),
        ],
      }
    })
  }

  /**
   * Prometheus text: every shard's counters and histograms merged, plus gauges read at scrape time. prom-client
   * is loaded on the first scrape: a sidecar nobody scrapes does not carry it (~6 MiB of RSS).
   */
  async metrics (): Promise<{ contentType: string, body: string }> {
    const { AggregatorRegistry, Gauge, Registry } = await import('prom-client')
    type Parts = Parameters<typeof AggregatorRegistry.aggregate>[0]
    // Taken before asking the shards: a shard that retires meanwhile is counted live or retired, not both.
    let retired = this.#retired.slice()
    if (retired.length > 1) {
      const compact = await AggregatorRegistry.aggregate(retired as Parts).getMetricsAsJSON()
      this.#retired = [compact, ...this.#retired.slice(retired.length)]
      retired = [compact]
    }
    const stats = await this.shards.stats()
    const merged = AggregatorRegistry.aggregate([...retired, ...stats.map((s) => s.metrics)] as Parts)
    const local = new Registry()
    const registers = [local]
    const inFlight = new Gauge({ name: 'pilotfish_requests_in_flight', help: 'Requests in progress, by listener', labelNames: ['listener'], registers })
    const conns = new Gauge({ name: 'pilotfish_connections', help: 'Open client connections, by listener', labelNames: ['listener'], registers })
    const targetInFlight = new Gauge({ name: 'pilotfish_target_in_flight', help: 'Requests in progress, by target', labelNames: ['target'], registers })
    const version = new Gauge({ name: 'pilotfish_config_version', help: 'Version of the running config', registers })
    const shards = new Gauge({ name: 'pilotfish_shards', help: 'Data-plane shard threads', registers })
    for (const s of stats) {
      for (const l of s.listeners) {
        inFlight.labels(l.name).inc(l.inFlight)
        conns.labels(l.name).inc(l.connections)
      }
      for (const e of s.endpoints) targetInFlight.labels(e.id).inc(e.inFlight)
    }
    version.set(this.version)
    shards.set(this.shards.size)
    const all = Registry.merge([merged as PromRegistry, local as PromRegistry])
    return { contentType: all.contentType, body: await all.metrics() }
  }

  async stop (deadlineMs = 5000): Promise<void> {
    if (this.#sweeper !== null) clearInterval(this.#sweeper)
    for (const w of this.#watchers.values()) w.close()
    this.#watchers.clear()
    await this.#tasks.close()
    await this.shards.stop(deadlineMs)
  }
}
