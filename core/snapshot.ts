// Compiles a validated config into what a shard runs: rule tables, target groups with their selectors.
import type { SidecarConfig, ListenerConfig, TargetGroupConfig } from '../schemas/sidecar.schema.ts'
import type { Endpoint, HashOn, Target, TargetGroup } from './pipeline.ts'
import type { GroupRuntime, ListenerRuntime, ListenerSettings, RequestObserver } from './runtime.ts'
import { RuleTable } from './rule/rule-table.ts'
import { PilotfishError } from './errors.ts'
import { selectorFactory } from './selector/index.ts'
import { EndpointState, endpointId, type Connectors, type PoolSettings, type TargetPool } from './forwarder/target-pool.ts'
import { applyTargetState, wrapSelector, type PluginInstance, type PluginSet } from './plugin/instance.ts'
import { pluginOf } from './rule/conditions.ts'
import { AllowFrom } from './listener/allow-from.ts'

/** A target the control plane has deregistered and keeps in the group, ineligible, until its delay is over. */
export interface DrainingTarget { group: string, host: string, port: number, weight: number }

/** Everything a shard needs for one config version; plain data, so it crosses threads as a message. */
export interface SnapshotMessage {
  version: number
  config: SidecarConfig
  draining: DrainingTarget[]
  /** Listener name → port actually bound (a config port 0 is resolved once by the control plane). */
  ports: Record<string, number>
  /** The config's plugins, resolved and validated by the control plane, for the shards to load and set up. */
  plugins: PluginSpec[]
}

export interface PluginSpec {
  name: string
  /** file: URL of the module. */
  url: string
  /** The plugin's config, validated against its schema with its defaults filled in. */
  config: unknown
  failClosed: boolean
  timeoutMs: number
  /** For the plugin's pool tasks (env.runTask). */
  taskTimeoutMs: number
}

export interface SnapshotListener {
  readonly runtime: ListenerRuntime
  readonly config: ListenerConfig
  readonly port: number
  /** The plugin whose listen hook binds it, for a protocol other than http (null in the control plane). */
  readonly kind: PluginInstance | null
}

export interface Snapshot {
  readonly version: number
  readonly listeners: ReadonlyMap<string, SnapshotListener>
  readonly groups: ReadonlyMap<string, GroupRuntime>
  /** Endpoints this snapshot names: once it is in use, the registry can close every other pool. */
  readonly endpointIds: ReadonlySet<string>
}

/** The shard's endpoints by id. Pools and in-flight counts outlive snapshots; unused endpoints are closed. */
export class EndpointRegistry implements Connectors {
  #byId = new Map<string, EndpointState>()

  /**
   * The pool of a target a selector chose. By id, not by a cast of the target's endpoint: a selector wrapper
   * may answer with a target object of its own making.
   */
  connector (endpoint: Endpoint): TargetPool | undefined {
    return this.#byId.get(endpoint.id)?.pool
  }

  get (host: string, port: number, settings: PoolSettings): EndpointState {
    const id = endpointId(host, port)
    let ep = this.#byId.get(id)
    if (ep === undefined) {
      ep = new EndpointState(host, port, settings)
      this.#byId.set(id, ep)
    } else {
      ep.pool.settings = settings
    }
    return ep
  }

  /** Closes the pools of endpoints no snapshot names any more (in-flight requests finish first). */
  retainOnly (ids: ReadonlySet<string>): void {
    for (const [id, ep] of this.#byId) {
      if (ids.has(id)) continue
      ep.pool.close()
      this.#byId.delete(id)
    }
  }

  all (): IterableIterator<EndpointState> { return this.#byId.values() }

  closeAll (): void { this.retainOnly(new Set()) }
}

function poolSettings (g: TargetGroupConfig): PoolSettings {
  return {
    connectTimeoutMs: g.connectTimeoutSeconds * 1000,
    keepAliveTimeoutMs: g.keepAliveTimeoutSeconds * 1000,
    maxIdle: g.maxIdlePerTarget,
  }
}

function hashOnOf (g: TargetGroupConfig): HashOn | undefined {
  const h = g.hashOn as Record<string, unknown> | undefined
  if (h === undefined) return undefined
  if (typeof h.header === 'string') return { header: h.header.toLowerCase() }
  if (typeof h.cookie === 'string') return { cookie: h.cookie }
  return { sourceIp: true }
}

/** The named plugins that implement a hook (a plugin without it costs requests nothing at that stage). */
function withHook (plugins: PluginSet, names: readonly string[], hook: 'onRequest' | 'onForward' | 'onResponse'): PluginInstance[] {
  return names.map((n) => pluginOf(plugins, n)).filter((p) => typeof p.hooks[hook] === 'function')
}

function buildGroup (g: TargetGroupConfig, draining: readonly DrainingTarget[], registry: EndpointRegistry, used: Set<string>, plugins: PluginSet): GroupRuntime {
  const settings = poolSettings(g)
  const targets: Target[] = []
  for (const t of g.targets) {
    const endpoint = registry.get(t.host, t.port, settings)
    used.add(endpoint.id)
    targets.push({ endpoint, weight: t.weight, eligible: true })
  }
  for (const d of draining) {
    if (d.group !== g.name) continue
    const endpoint = registry.get(d.host, d.port, settings)
    used.add(endpoint.id)
    targets.push({ endpoint, weight: d.weight, eligible: false })
  }
  const named = g.plugins.map((n) => pluginOf(plugins, n))
  for (const p of named) if (p.hooks.targetState !== undefined) applyTargetState(p, targets, g.name)
  const group: TargetGroup = { name: g.name, targets }
  return {
    group,
    selector: wrapSelector(selectorFactory(g.algorithm, hashOnOf(g))(group), group, named),
    responseTimeoutMs: g.responseTimeoutSeconds * 1000,
    onForward: withHook(plugins, g.plugins, 'onForward'),
    onResponse: withHook(plugins, g.plugins, 'onResponse'),
  }
}

function listenerSettings (l: ListenerConfig, port: number): ListenerSettings {
  return {
    idleTimeoutMs: l.idleTimeoutSeconds * 1000,
    headerTimeoutMs: l.headerTimeoutSeconds * 1000,
    bodyTimeoutMs: l.bodyTimeoutSeconds * 1000,
    minBodyRate: l.minRequestBodyRate.bytesPerSecond,
    minBodyRateGraceMs: l.minRequestBodyRate.graceSeconds * 1000,
    maxHeadBytes: l.maxHeadBytes,
    maxHeaderCount: l.maxHeaderCount,
    accessLog: l.accessLog,
    xForwardedFor: l.xForwardedFor,
    xForwardedClientPort: l.xForwardedClientPort,
    preserveHost: l.preserveHost,
    protocol: l.protocol,
    listenerPort: port,
  }
}

/** A plugin action's declared target groups must exist: a typo is refused now, not met as 503s later. */
function checkRouteGroups (rules: RuleTable, groups: ReadonlyMap<string, GroupRuntime>): void {
  for (const rule of [...rules.rules, rules.defaultRule]) {
    if (rule.action.type !== 'plugin') continue
    const p = rule.action.plugin
    for (const g of p.hooks.targetGroups ?? []) {
      if (!groups.has(g)) throw new PilotfishError('PF_ERR_PLUGIN_TARGET_GROUP', [p.name, g])
    }
  }
}

/** For a protocol other than http: the first of the listener's plugins with a listen hook. */
function listenerKind (l: ListenerConfig, plugins: PluginSet): PluginInstance | null {
  if (l.protocol === 'http') return null
  const named = l.plugins.map((n) => pluginOf(plugins, n))
  const kind = named.find((p) => typeof p.hooks.listen === 'function')
  if (kind !== undefined) return kind
  // The control plane checked that some listed plugin declares the protocol; a loaded one must then bind it.
  const loaded = named.find((p) => p.loaded)
  if (loaded !== undefined) loaded.require('listen')
  return null
}

/**
 * `plugins` holds the instances the shard set up for this snapshot's config; the control plane, which never
 * runs plugin code, compiles against stand-ins (PluginInstance.standIn).
 */
export function buildSnapshot (msg: SnapshotMessage, registry: EndpointRegistry, observer: RequestObserver, plugins: PluginSet): Snapshot {
  const used = new Set<string>()
  const groups = new Map<string, GroupRuntime>()
  for (const g of msg.config.targetGroups) groups.set(g.name, buildGroup(g, msg.draining, registry, used, plugins))
  const listeners = new Map<string, SnapshotListener>()
  for (const l of msg.config.listeners) {
    const port = msg.ports[l.name] ?? l.port
    const rules = new RuleTable(l, plugins)
    checkRouteGroups(rules, groups)
    const runtime: ListenerRuntime = {
      name: l.name,
      settings: listenerSettings(l, port),
      rules,
      groups,
      observer,
      endpoints: registry,
      allowFrom: l.allowFrom === undefined ? null : new AllowFrom(l.allowFrom),
      onRequest: withHook(plugins, l.plugins, 'onRequest'),
      onForward: withHook(plugins, l.plugins, 'onForward'),
      onResponse: withHook(plugins, l.plugins, 'onResponse'),
    }
    listeners.set(l.name, { runtime, config: l, port, kind: listenerKind(l, plugins) })
  }
  return { version: msg.version, listeners, groups, endpointIds: used }
}
