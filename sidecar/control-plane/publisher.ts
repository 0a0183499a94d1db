// Config publishing: the running config and its version, and how a change reaches every shard, all or nothing.
import { buildSnapshot, EndpointRegistry, type DrainingTarget, type MaintenanceTarget, type PluginSpec, type SnapshotMessage } from '../../core/snapshot.ts'
import { PluginInstance, type PluginSet } from '../../core/plugin/instance.ts'
import type { RequestObserver } from '../../core/runtime.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { resolvePorts } from './ports.ts'
import { withBuiltIns } from './built-ins.ts'
import type { ShardPool } from './shards.ts'

/** A deregistered target, until its in-flight requests are done or its deregistration delay is over (`until`). */
export interface Draining extends DrainingTarget { until: number }

/** What a publish changes beside the config; what is left out stays as it runs. */
export interface PublishChange {
  draining?: Draining[]
  maintenance?: MaintenanceTarget[]
  specs?: PluginSpec[]
  /** Start a new shard generation for it (plugin code changed). */
  roll?: boolean
}

const nullObserver: RequestObserver = { onRequestEnd () {}, onRejected () {}, onRefused () {} }
/** The control plane compiles snapshots without running plugin code: every plugin is a stand-in. */
const standIns: PluginSet = { get: (name) => PluginInstance.standIn(name) }

export class ConfigPublisher {
  readonly #shards: ShardPool
  #config: SidecarConfig
  #version = 0
  #draining: Draining[] = []
  #maintenance: MaintenanceTarget[] = []
  #ports: Record<string, number> = {}
  #specs: PluginSpec[] = []
  #queue: Promise<unknown> = Promise.resolve()
  /** Every publish that went through (what target health shows follows it). */
  onPublished: () => void = () => {}

  constructor (config: SidecarConfig, shards: ShardPool) {
    this.#config = config
    this.#shards = shards
  }

  /** What runs in every shard: only a publish that every shard applied changes these. */
  get config (): SidecarConfig { return this.#config }
  get version (): number { return this.#version }
  get draining (): readonly Draining[] { return this.#draining }
  get maintenance (): readonly MaintenanceTarget[] { return this.#maintenance }
  /** Listener name → bound port. */
  get ports (): Readonly<Record<string, number>> { return this.#ports }
  get specs (): readonly PluginSpec[] { return this.#specs }

  /** Runs changes one at a time, in the order they were asked for. */
  serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }

  /**
   * Compiles locally first (so a config that cannot compile never reaches a shard), then publishes to every
   * shard; if any shard cannot apply it, all go back to the running snapshot and nothing changes. The shards
   * run the config with the built-ins its sections ask for (built-ins.ts). A maintenance entry whose target has
   * left its group is dropped.
   */
  async publish (config: SidecarConfig, change: PublishChange = {}): Promise<void> {
    const draining = change.draining ?? this.#draining
    const specs = change.specs ?? this.#specs
    const roll = change.roll ?? false
    const maintenance = (change.maintenance ?? this.#maintenance).filter((m) =>
      config.targetGroups.some((g) => g.name === m.group && g.targets.some((t) => t.host === m.host && t.port === m.port)))
    const msg: SnapshotMessage = {
      version: this.#version + 1,
      config: withBuiltIns(config),
      draining,
      maintenance,
      ports: await resolvePorts(config, this.#config, this.#ports),
      plugins: specs,
    }
    buildSnapshot(msg, new EndpointRegistry(), nullObserver, standIns)
    try {
      if (roll) await this.#shards.roll(msg, config.drainTimeoutSeconds * 1000)
      else await this.#shards.publish(msg)
    } catch (err) {
      this.#version = msg.version
      if (this.#version > 1 && !roll) {
        const back = { version: ++this.#version, config: withBuiltIns(this.#config), draining: this.#draining, maintenance: this.#maintenance, ports: this.#ports, plugins: this.#specs }
        await this.#shards.publish(back).catch(() => {})
      }
      throw err
    }
    this.#version = msg.version
    this.#config = config
    this.#draining = draining
    this.#maintenance = maintenance
    this.#ports = msg.ports
    this.#specs = specs
    this.onPublished()
  }
}
