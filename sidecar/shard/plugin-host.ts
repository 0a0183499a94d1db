// The plugins of one shard: each module imported once per shard (a code change rolls a new shard generation,
// which imports afresh), each instance set up again only when its spec changes, and closed when replaced.
import type { PluginSpec } from '../../core/snapshot.ts'
import type { PluginDefinition, PluginEnv, TargetReport } from '../../core/plugin-api.ts'
import { PluginInstance, type FailureSink } from '../../core/plugin/instance.ts'
import { PilotfishError } from '../../core/errors.ts'
import { setupFailed } from '../../core/plugin/instance.ts'
import type { PluginCounters } from '../../core/plugin/counters.ts'
import { Scrubber, secretStrings } from '../secrets.ts'

interface Entry { readonly key: string, readonly instance: PluginInstance }

/** An instance is set up again only when something in its spec changed. */
const specKey = (spec: PluginSpec): string => JSON.stringify([spec.url, spec.config, spec.configPath, spec.failClosed, spec.timeoutMs, spec.taskTimeoutMs])

/** At most this many log lines per plugin per second: a hook failing on every request must not flood stderr. */
const LOG_PER_SECOND = 10

/** What the host needs from its shard: counting failures, and the ways to the control plane. */
export interface HostChannel {
  onFailure (plugin: string, hook: string): void
  /** Runs a task module in the sidecar's worker pool (piscina), stopped after timeoutMs. */
  runTask (url: string, data: unknown, timeoutMs: number): Promise<unknown>
  /** To every shard's instance of the plugin, this shard's included. */
  publish (plugin: string, state: unknown): void
  refreshTargets (): void
  /** To the leader shard's instance of the plugin (onMessage). */
  sendToLeader (plugin: string, message: unknown): void
  /** To the control plane: a target's state and why. */
  reportTarget (plugin: string, group: string, target: string, report: TargetReport): void
  /** Where env.counter declares: the shard's, emitted with its metrics, outliving every instance. */
  readonly counters: PluginCounters
}

export class PluginHost {
  readonly #shard: number
  readonly #generation: number
  readonly #channel: HostChannel
  readonly #sink: FailureSink
  #modules = new Map<string, Promise<PluginDefinition>>()
  #running = new Map<string, Entry>()
  /** The last state published for each plugin: handed to every instance set up later. */
  #states = new Map<string, unknown>()
  #logBudget = new Map<string, { second: number, left: number }>()
  /** Each plugin's secrets (its config's writeOnly values), kept out of its log lines; every config it was set up with. */
  #secrets = new Map<string, { values: Set<string>, scrubber: Scrubber }>()

  constructor (shard: number, generation: number, channel: HostChannel) {
    this.#shard = shard
    this.#generation = generation
    this.#channel = channel
    this.#sink = (plugin, hook, err) => {
      channel.onFailure(plugin, hook)
      this.log(plugin, `${hook} failed`, { error: err instanceof Error ? err.message : String(err) })
    }
  }

  /** A state published by some shard's instance of `plugin` (see PluginEnv.publish). */
  deliver (plugin: string, state: unknown): void {
    this.#states.set(plugin, state)
    const entry = this.#running.get(plugin)
    if (entry !== undefined) this.#giveState(entry.instance, state)
  }

  /** A message some shard's instance sent to the leader's (env.sendToLeader). Only the leader delivers it. */
  deliverMessage (plugin: string, message: unknown, from: number): void {
    if (this.#shard !== 0) return
    const hooks = this.#running.get(plugin)?.instance.hooks
    if (hooks?.onMessage !== undefined) this.#running.get(plugin)!.instance.sync('onMessage', hooks.onMessage, hooks, message, from)
  }

  #giveState (instance: PluginInstance, state: unknown): void {
    const hooks = instance.hooks
    if (hooks.onState !== undefined) instance.sync('onState', hooks.onState, hooks, state, undefined)
  }

  log (plugin: string, message: string, fields?: Record<string, unknown>): void {
    const second = Math.floor(Date.now() / 1000)
    let b = this.#logBudget.get(plugin)
    if (b === undefined || b.second !== second) this.#logBudget.set(plugin, b = { second, left: LOG_PER_SECOND })
    if (b.left-- <= 0) return
    const scrubber = this.#secrets.get(plugin)?.scrubber
    const clean = scrubber === undefined ? undefined : (_key: string, v: unknown): unknown => typeof v === 'string' ? scrubber.text(v) : v
    process.stderr.write(JSON.stringify({ time: Date.now(), plugin, shard: this.#shard, msg: message, ...fields }, clean) + '\n')
  }

  /** Text with every plugin's secrets replaced, for lines no one plugin can be named for. */
  scrub (text: string): string {
    let out = text
    for (const s of this.#secrets.values()) out = s.scrubber.text(out)
    return out
  }

  #keepSecrets (name: string, schema: unknown, config: unknown): void {
    const found = secretStrings(schema, config)
    if (found.length === 0) return
    const values = this.#secrets.get(name)?.values ?? new Set<string>()
    const before = values.size
    for (const s of found) values.add(s)
    if (values.size !== before) this.#secrets.set(name, { values, scrubber: new Scrubber(values) })
  }

  #module (url: string): Promise<PluginDefinition> {
    let m = this.#modules.get(url)
    if (m === undefined) {
      m = import(url).then((ns: { default?: PluginDefinition }) => ns.default as PluginDefinition)
      m.catch(() => this.#modules.delete(url)) // a later snapshot may find the file fixed
      this.#modules.set(url, m)
    }
    return m
  }

  /**
   * The instances a snapshot's specs call for: running ones whose spec is unchanged, the rest set up now.
   * On failure, whatever was set up here is closed again and the running instances are untouched.
   */
  async prepare (specs: readonly PluginSpec[]): Promise<Map<string, PluginInstance>> {
    const next = new Map<string, PluginInstance>()
    const fresh: PluginInstance[] = []
    try {
      for (const spec of specs) {
        const running = this.#running.get(spec.name)
        if (running !== undefined && running.key === specKey(spec)) {
          next.set(spec.name, running.instance)
          continue
        }
        const instance = await this.#setUp(spec)
        fresh.push(instance)
        next.set(spec.name, instance)
      }
    } catch (err) {
      await Promise.all(fresh.map((i) => this.#close(i)))
      throw err
    }
    return next
  }

  async #setUp (spec: PluginSpec): Promise<PluginInstance> {
    let def: PluginDefinition
    try {
      def = await this.#module(spec.url)
    } catch (err) {
      throw new PilotfishError('PF_ERR_PLUGIN_LOAD', [spec.name, spec.url, (err as Error)?.message ?? String(err)], { cause: err })
    }
    this.#keepSecrets(spec.name, def.configSchema, spec.config)
    const channel = this.#channel
    const tasks = def.tasks ?? {}
    const env: PluginEnv = {
      name: spec.name,
      configPath: spec.configPath,
      configDir: spec.configDir,
      shard: this.#shard,
      generation: this.#generation,
      leader: this.#shard === 0,
      log: (message, fields) => this.log(spec.name, message, fields),
      runTask: (task, data) => {
        const url = Object.hasOwn(tasks, task) ? tasks[task] : undefined
        if (url === undefined) return Promise.reject(new Error(`plugin ${spec.name} has no task ${task}`))
        return channel.runTask(String(url), data, spec.taskTimeoutMs)
      },
      publish: (state) => channel.publish(spec.name, state),
      refreshTargets: () => channel.refreshTargets(),
      now: Date.now,
      sendToLeader: (message) => channel.sendToLeader(spec.name, message),
      reportTarget: (group, target, report) => channel.reportTarget(spec.name, group, target, report),
      counter: (name, help, labelNames) => channel.counters.declare(name, help, labelNames),
    }
    try {
      const hooks = await def.setup(structuredClone(spec.config) as never, env)
      const instance = new PluginInstance(spec.name, def.version, hooks ?? {}, spec.failClosed, spec.timeoutMs, this.#sink)
      if (this.#states.has(spec.name)) this.#giveState(instance, this.#states.get(spec.name))
      return instance
    } catch (err) {
      throw setupFailed(spec.name, err)
    }
  }

  /** The snapshot built from `next` is in use: instances it no longer holds are closed. */
  async commit (next: ReadonlyMap<string, PluginInstance>, specs: readonly PluginSpec[]): Promise<void> {
    const old = this.#running
    this.#running = new Map()
    for (const spec of specs) {
      const instance = next.get(spec.name)!
      this.#running.set(spec.name, { key: specKey(spec), instance })
    }
    const keep = new Set(next.values())
    await Promise.all([...old.values()].filter((e) => !keep.has(e.instance)).map((e) => this.#close(e.instance)))
  }

  /** A snapshot built from `next` was abandoned: close what prepare() set up for it. */
  async discard (next: ReadonlyMap<string, PluginInstance>): Promise<void> {
    const running = new Set([...this.#running.values()].map((e) => e.instance))
    await Promise.all([...next.values()].filter((i) => !running.has(i)).map((i) => this.#close(i)))
  }

  async closeAll (): Promise<void> {
    const all = [...this.#running.values()]
    this.#running.clear()
    await Promise.all(all.map((e) => this.#close(e.instance)))
  }

  async #close (instance: PluginInstance): Promise<void> {
    try {
      await instance.hooks.close?.()
    } catch (err) {
      instance.verdict('close', err)
    }
  }
}
