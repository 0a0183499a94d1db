// The control plane: the façade that wires its rooms — config publishing (publisher.ts), listener ports
// (ports.ts), plugins and their file watchers (plugins.ts, plugin-watch.ts), target registration (targets.ts),
// Prometheus rendering (prometheus.ts), shards (shards.ts) and task pools (tasks.ts).
import { PilotfishError } from '../../core/errors.ts'
import type { PluginSpec } from '../../core/snapshot.ts'
import type { TargetGroupStatus } from '../../schemas/admin.schema.ts'
import type { AdminConfig, SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { invalid, validateConfig } from '../../schemas/validate.ts'
import { redactConfig, restoreSecrets, scrubberFor, unrestored } from './config-secrets.ts'
import { ShardPool } from './shards.ts'
import { PluginRegistry } from './plugins.ts'
import { PluginWatcher } from './plugin-watch.ts'
import { PrometheusRenderer } from './prometheus.ts'
import { ConfigPublisher } from './publisher.ts'
import { TargetRegistry } from './targets.ts'
import { TaskPools } from './tasks.ts'
import { withBuiltIns } from './built-ins.ts'
import type { TargetStateChange } from './target-health.ts'

/** A change to the admin API's settings, readied before the rest of a config change and applied with it. */
export interface AdminChange {
  /** The config change applied: the new token and address take over now. */
  commit (): void
  /** The config change failed: whatever was readied (a socket bound) is undone. */
  abort (): Promise<void>
}

/** The admin API, as the control plane sees it (admin/listener.ts): it readies `admin` changes. */
export interface AdminBinding {
  /** Throws (PF_ERR_ADMIN_BIND) when the change cannot be applied; nothing changes then. */
  prepare (next: AdminConfig): Promise<AdminChange>
}

/**
 * A body without `admin` keeps the running admin settings rather than falling back to the defaults: the admin
 * API's address is often set outside the file (`--admin`, PILOTFISH_ADMIN), and a config pushed without it must
 * not move the API to 127.0.0.1:9901.
 */
function keepAdmin (data: unknown, running: SidecarConfig): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || Object.hasOwn(data, 'admin')) return data
  return { ...data, admin: structuredClone(running.admin) }
}

export class ControlPlane {
  readonly shards: ShardPool
  readonly plugins: PluginRegistry
  readonly startedAt = Date.now()
  readonly #publisher: ConfigPublisher
  readonly #targets: TargetRegistry
  readonly #watcher: PluginWatcher
  readonly #tasks = new TaskPools()
  readonly #prometheus = new PrometheusRenderer()
  /** The admin API, when there is one (none with `--admin off`). */
  admin: AdminBinding | null = null

  private constructor (config: SidecarConfig, shards: ShardPool, plugins: PluginRegistry, baseDir: string) {
    this.shards = shards
    this.plugins = plugins
    this.#publisher = new ConfigPublisher(config, shards)
    this.#targets = new TargetRegistry(this.#publisher, shards)
    // A failed reload's reason shows in GET /v1/plugins.
    this.#watcher = new PluginWatcher(baseDir, (name) => { void this.reloadPlugin(name).catch(() => {}) }, (name, err) => plugins.failed(name, err))
    shards.onTask = (generation, url, data, timeoutMs) => this.#tasks.run(generation, url, data, timeoutMs)
    shards.onGenerationGone = (generation) => { void this.#tasks.retire(generation) }
    shards.onRetiredMetrics = (metrics) => { this.#prometheus.retire(metrics) }
  }

  /** `baseDir`: where plugin paths in the config are relative to (the config file's folder). */
  static async start (config: SidecarConfig, shardCount: number, baseDir = process.cwd()): Promise<ControlPlane> {
    const plugins = new PluginRegistry(baseDir)
    const effective = withBuiltIns(config) // what the shards run: the built-ins its sections turn on added
    let specs: PluginSpec[]
    try {
      specs = await plugins.specs(effective) // a plugin that cannot load fails the start before any shard runs
    } catch (err) {
      throw scrubberFor([config], plugins).error(err)
    }
    const shards = new ShardPool(shardCount)
    await shards.start()
    const cp = new ControlPlane(config, shards, plugins, baseDir)
    try {
      await cp.#publisher.publish(config, { draining: [], specs })
    } catch (err) {
      await shards.stop(0)
      throw scrubberFor([config], plugins).error(err) // a setup that throws may quote its config
    }
    plugins.running(effective, shards.generation)
    cp.#watcher.update(config)
    return cp
  }

  /** The config every shard runs. */
  get config (): SidecarConfig { return this.#publisher.config }
  get version (): number { return this.#publisher.version }
  /** Listener name → bound port. */
  get ports (): Readonly<Record<string, number>> { return this.#publisher.ports }

  /** The running config as the admin API shows it: secrets redacted (secrets.ts). */
  redactedConfig (): SidecarConfig {
    return redactConfig(this.config, this.plugins)
  }

  /** An error with every secret of the running config, and of the configs given, replaced in its text. */
  scrub<E> (err: E, ...configs: unknown[]): E {
    return scrubberFor([this.config, ...configs], this.plugins).error(err)
  }

  /**
   * Validates a whole config and applies it to every shard, or throws with every problem and changes nothing.
   * A REDACTED where a secret goes keeps the running value; no error quotes a secret, old or new.
   */
  applyConfig (data: unknown): Promise<void> {
    return this.#publisher.serial(async () => {
      try {
        await this.#apply(restoreSecrets(keepAdmin(structuredClone(data), this.config), this.config, this.plugins), data)
      } catch (err) {
        throw this.scrub(err, data)
      }
    })
  }

  async #apply (data: unknown, sent: unknown): Promise<void> {
    const config = validateConfig(data)
    const effective = withBuiltIns(config)
    let specs: PluginSpec[]
    try {
      specs = await this.plugins.specs(effective)
      const left = unrestored(config, this.plugins)
      if (left.length > 0) throw invalid(left)
    } catch (err) {
      this.scrub(err, sent)
      for (const p of (err as PilotfishError).problems ?? []) {
        const i = /^\/plugins\/(\d+)\//.exec(p.path)?.[1]
        if (i !== undefined) this.plugins.failed(config.plugins[Number(i)]!.name, err)
      }
      throw err
    }
    // Bound before the shards change, so an admin port in use refuses the whole change.
    const admin = await this.admin?.prepare(config.admin)
    try {
      await this.#publisher.publish(config, { specs })
    } catch (err) {
      await admin?.abort()
      throw err
    }
    admin?.commit()
    this.plugins.running(effective, this.shards.generation)
    this.#watcher.update(config)
  }

  /**
   * Reads a plugin's module afresh and rolls a new shard generation onto it (new module graph; the old
   * generation drains). If the new code cannot load, validate its config or set up, nothing changes.
   */
  reloadPlugin (name: string): Promise<void> {
    return this.#publisher.serial(async () => {
      const config = structuredClone(this.config)
      const effective = withBuiltIns(config)
      if (!effective.plugins.some((p) => p.name === name)) throw new PilotfishError('PF_ERR_PLUGIN_UNKNOWN', [name])
      try {
        const specs = await this.plugins.specs(effective, true)
        await this.#publisher.publish(config, { specs, roll: true })
      } catch (err) {
        this.plugins.failed(name, this.scrub(err))
        throw err
      }
      this.plugins.running(effective, this.shards.generation)
      this.plugins.reloaded(name)
    })
  }

  registerTarget (groupName: string, host: string, port: number, weight: number): Promise<void> {
    return this.#targets.register(groupName, host, port, weight)
  }

  /** Deregisters a target; it drains (ALB semantics, targets.ts). */
  deregisterTarget (groupName: string, host: string, port: number): Promise<void> {
    return this.#targets.deregister(groupName, host, port)
  }

  /** Maintenance on or off for a registered target (targets.ts). */
  maintenance (groupName: string, host: string, port: number, on: boolean): Promise<void> {
    return this.#targets.maintenance(groupName, host, port, on)
  }

  /** Told of every change of a target's state (one log line each: cli.ts). */
  set onTargetState (fn: (change: TargetStateChange) => void) { this.#targets.health.onChange = fn }

  targetGroups (): Promise<TargetGroupStatus[]> {
    return this.#targets.view()
  }

  /** Prometheus text (prometheus.ts). */
  metrics (): Promise<{ contentType: string, body: string }> {
    return this.#prometheus.render(this.shards, this.version, this.#targets.health)
  }

  async stop (deadlineMs = 5000): Promise<void> {
    this.#targets.stop()
    this.#watcher.close()
    await this.#tasks.close()
    await this.shards.stop(deadlineMs)
  }
}
