// Compiles a validated config into what a shard runs: rule tables, target groups with their selectors.
import type { SidecarConfig, ListenerConfig, TargetGroupConfig } from '../schemas/sidecar.schema.ts'
import type { Endpoint, HashOn } from './pipeline.ts'
import type { PluginGroup, PluginListener } from './plugin-api.ts'
import type { GroupRuntime, ListenerRuntime, ListenerSettings, RequestObserver } from './runtime.ts'
import { RuleTable } from './rule/rule-table.ts'
import { PilotfishError } from './errors.ts'
import { selectorFactory } from './selector/index.ts'
import { EndpointState, endpointId, type Connectors, type PoolSettings, type TargetPool } from './forwarder/target-pool.ts'
import { announce, announceGroups, type GroupChooser, type PluginInstance, type PluginSet } from './plugin/instance.ts'
import type { ForwardChoosers } from './rule/actions.ts'
import { takingPart, TargetGroupRuntime, type GroupMember } from './group.ts'
import { pluginOf } from './rule/conditions.ts'
import { AllowFrom } from './listener/allow-from.ts'

/** A target the control plane has deregistered and keeps in the group, ineligible, until its delay is over. */
export interface DrainingTarget { group: string, host: string, port: number, weight: number }
/** A registered target taken out of rotation by the operator (PUT …/maintenance): ineligible, not deregistered. */
export interface MaintenanceTarget { group: string, host: string, port: number }

/** Everything a shard needs for one config version; plain data, so it crosses threads as a message. */
export interface SnapshotMessage {
  version: number
  config: SidecarConfig
  draining: DrainingTarget[]
  maintenance: MaintenanceTarget[]
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
  /** Where that config is in the sidecar's config (env.configPath). */
  configPath: string
  failClosed: boolean
  timeoutMs: number
  /** For the plugin's pool tasks (env.runTask). */
  taskTimeoutMs: number
  /**
   * The groups the plugin serves, by name: where each is in the config, and its values of the definition's
   * targetGroupConfig keys, validated with defaults filled (onGroups). Not part of what sets the plugin up.
   */
  groups: Record<string, { path: string, config: unknown }>
  /**
   * The forward actions the plugin chooses the group of, by JSON pointer: their values of the definition's
   * forwardConfig keys, validated with defaults filled (wrapGroupChoice). Not part of what sets the plugin up.
   */
  forwards: Record<string, unknown>
  /** The listeners the plugin serves, by name: where each is, and its section (onListeners), as `groups`. */
  listeners: Record<string, { path: string, config: unknown }>
  /** env.configDir. */
  configDir: string
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
  /** Groups some listener can send requests to (a forward, or a plugin action's declared groups); the rest are unused. */
  readonly usedGroups: ReadonlySet<string>
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
function withHook (plugins: PluginSet, names: readonly string[], hook: 'onRequest' | 'onForward' | 'onResponse' | 'onRequestEnd'): PluginInstance[] {
  return names.map((n) => pluginOf(plugins, n)).filter((p) => typeof p.hooks[hook] === 'function')
}

function isIn (list: ReadonlyArray<{ group: string, host: string, port: number }>, group: string, host: string, port: number): boolean {
  return list.some((x) => x.group === group && x.host === host && x.port === port)
}

/** The group's members: registered targets (eligible unless in maintenance), then draining ones (never eligible). */
function membersOf (g: TargetGroupConfig, msg: SnapshotMessage, registry: EndpointRegistry, used: Set<string>): GroupMember[] {
  const settings = poolSettings(g)
  const members: GroupMember[] = []
  const add = (host: string, port: number, weight: number, eligible: boolean): void => {
    const endpoint = registry.get(host, port, settings)
    used.add(endpoint.id)
    members.push({ endpoint, weight, eligible })
  }
  for (const t of g.targets) add(t.host, t.port, t.weight, !isIn(msg.maintenance, g.name, t.host, t.port))
  for (const d of msg.draining) if (d.group === g.name) add(d.host, d.port, d.weight, false)
  return members
}

/**
 * Tells each plugin with an onGroups hook which groups it serves and their targets that take part (eligible at
 * the base: not draining, not in maintenance). A plugin that throws refuses the config: with its JSON paths when
 * it threw ConfigProblems.
 */
function tellPlugins (msg: SnapshotMessage, members: ReadonlyMap<string, GroupMember[]>, plugins: PluginSet): void {
  const specs = new Map(msg.plugins.map((s) => [s.name, s]))
  const served = new Map<PluginInstance, PluginGroup[]>()
  msg.config.targetGroups.forEach((g, i) => {
    for (const name of g.plugins) {
      const p = pluginOf(plugins, name)
      if (typeof p.hooks.onGroups !== 'function') continue
      const section = specs.get(name)?.groups[g.name]
      const targets = takingPart(members.get(g.name)!)
      let list = served.get(p)
      if (list === undefined) served.set(p, list = [])
      list.push({ name: g.name, path: section?.path ?? `/targetGroups/${i}`, targets, config: section?.config ?? {} })
    }
  })
  for (const [p, groups] of served) announceGroups(p, groups)
}

/** Each forward action's choosers: the plugins with a wrapGroupChoice hook whose section it sets, in config order. */
function forwardChoosers (msg: SnapshotMessage, plugins: PluginSet): ForwardChoosers {
  const byPath = new Map<string, GroupChooser[]>()
  for (const spec of msg.plugins) {
    for (const [path, config] of Object.entries(spec.forwards)) {
      const plugin = pluginOf(plugins, spec.name)
      if (typeof plugin.hooks.wrapGroupChoice !== 'function') continue
      let list = byPath.get(path)
      if (list === undefined) byPath.set(path, list = [])
      list.push({ plugin, config })
    }
  }
  return (path) => byPath.get(path) ?? []
}

/** Tells each plugin with an onListeners hook which listeners it serves and its sections of them, as tellPlugins. */
function tellListeners (msg: SnapshotMessage, plugins: PluginSet): void {
  for (const spec of msg.plugins) {
    const p = plugins.get(spec.name)
    if (p === undefined || typeof p.hooks.onListeners !== 'function') continue
    const listeners: PluginListener[] = []
    msg.config.listeners.forEach((l) => {
      const section = spec.listeners[l.name]
      if (section === undefined) return
      const port = msg.ports[l.name] ?? l.port
      listeners.push({ name: l.name, host: l.host, port, protocol: l.protocol, path: section.path, headerTimeoutMs: l.headerTimeoutSeconds * 1000, config: section.config })
    })
    announce(p, 'onListeners', () => p.hooks.onListeners!(listeners))
  }
}

function buildGroup (g: TargetGroupConfig, members: readonly GroupMember[], plugins: PluginSet): GroupRuntime {
  const named = g.plugins.map((n) => pluginOf(plugins, n))
  return new TargetGroupRuntime(g.name, members, named, selectorFactory(g.algorithm, hashOnOf(g)), g.responseTimeoutSeconds * 1000)
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
  const members = new Map<string, GroupMember[]>()
  for (const g of msg.config.targetGroups) members.set(g.name, membersOf(g, msg, registry, used))
  tellPlugins(msg, members, plugins)
  tellListeners(msg, plugins)
  const groups = new Map<string, GroupRuntime>()
  for (const g of msg.config.targetGroups) groups.set(g.name, buildGroup(g, members.get(g.name)!, plugins))
  const usedGroups = new Set<string>()
  const listeners = new Map<string, SnapshotListener>()
  const choosers = forwardChoosers(msg, plugins)
  for (const [i, l] of msg.config.listeners.entries()) {
    const port = msg.ports[l.name] ?? l.port
    const rules = new RuleTable(l, plugins, `/listeners/${i}`, choosers)
    checkRouteGroups(rules, groups)
    for (const rule of [...rules.rules, rules.defaultRule]) {
      const action = rule.action
      if (action.type === 'forward') for (const name of action.groups) usedGroups.add(name)
      if (action.type === 'plugin') for (const name of action.plugin.hooks.targetGroups ?? []) usedGroups.add(name)
    }
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
      onRequestEnd: withHook(plugins, l.plugins, 'onRequestEnd'),
    }
    listeners.set(l.name, { runtime, config: l, port, kind: listenerKind(l, plugins) })
  }
  return { version: msg.version, listeners, groups, endpointIds: used, usedGroups }
}
