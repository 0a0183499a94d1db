// The types a plugin author writes against. A plugin imports this file with `import type` only, so its module
// has no runtime link to the core and any shard generation can load it (STYLE 6).
//
//   export default {
//     name: 'canary', version: '1.0.0', configSchema,
//     setup (config, env) { return { route (req) { … } } },
//   } satisfies PluginDefinition<typeof configSchema>
//
// docs/plugins.md walks through writing, configuring, testing and reloading one.
import type { Socket } from 'node:net'
import type { FromSchema, JSONSchema } from 'json-schema-to-ts'
import type { RequestCtx, Selector, Target, TargetGroup } from './pipeline.ts'

export type { FromSchema, JSONSchema, RequestCtx, Selector, Target, TargetGroup }

/** What a plugin module default-exports. */
export interface PluginDefinition<S extends JSONSchema = JSONSchema> {
  /** kebab-case, unique among the plugins a sidecar loads. */
  readonly name: string
  readonly version: string
  /** JSON Schema of the plugin's config; the sidecar validates (and fills defaults) before setup() sees it. */
  readonly configSchema: S
  /**
   * When a hook throws, rejects or times out: 'closed' (the default) answers that request 500; 'open' carries
   * on as if the plugin had no opinion. The config can override it per plugin entry.
   */
  readonly failMode?: FailMode
  /**
   * Runs in every shard whenever the plugin's config changes (and once per shard generation). Precompute here;
   * hooks should only look up and decide. Whatever setup opens (timers, sockets), close() releases.
   */
  setup (config: FromSchema<S>, env: PluginEnv): PluginHooks | Promise<PluginHooks>
  /**
   * Work for the sidecar's worker pool (piscina), by name: modules whose default export maps plain data to plain
   * data (or a promise of it), e.g. `{ probe: new URL('./probe.task.ts', import.meta.url) }`. Run with env.runTask.
   */
  readonly tasks?: Readonly<Record<string, URL | string>>
  /**
   * Listener protocols this plugin provides through its listen hook, e.g. ['https']. A listener with such a
   * protocol names the plugin in its `plugins`; the sidecar checks that before anything runs.
   */
  readonly protocols?: readonly string[]
}

export type FailMode = 'open' | 'closed'

export interface PluginEnv {
  /** The plugin's name in the config (`plugins[].name`). */
  readonly name: string
  /** Which shard thread runs this instance, and which generation of shards it belongs to. */
  readonly shard: number
  readonly generation: number
  /** A JSON line on the sidecar's stderr, tagged with the plugin's name; rate-limited. */
  log (message: string, fields?: Record<string, unknown>): void
  /**
   * True in exactly one shard of the running generation. Background work (timers, probes) belongs there: setup
   * starts it when `leader` is true, and close() stops it.
   */
  readonly leader: boolean
  /** Runs one of the definition's tasks in the worker pool with plain data; resolves with its result. */
  runTask (name: string, data: unknown): Promise<unknown>
  /**
   * Sends plain data to this plugin's instances in every shard (this one included), through their onState hook.
   * The last state is also given to instances set up later (a new config, a replaced shard, a new generation).
   */
  publish (state: unknown): void
  /** Asks this shard to ask the targetState hooks again (after onState changed what they would answer). */
  refreshTargets (): void
}

/**
 * The hooks a plugin may implement. match, wrapSelector, onForward, onResponse, targetState and onState are
 * synchronous: a promise returned from one of them counts as a failure of that hook (and is not awaited). Which ones run depends on where the config names the plugin:
 * - a listener's `plugins` list: onRequest, onForward and onResponse for every request on that listener;
 * - a rule condition `{ plugin: [name] }`: match;
 * - a rule action `{ type: plugin, plugin: name }`: route;
 * - a target group's `plugins` list: wrapSelector once per snapshot, and onForward and onResponse for every
 *   request forwarded to that group.
 * A hook that is absent costs nothing.
 */
export interface PluginHooks {
  /** Before the rules. Edit the request's headers, or return a Reply to answer it without a target. */
  onRequest? (req: PluginRequest): Reply | undefined | Promise<Reply | undefined>
  /** A rule condition: true when the request matches. Synchronous: rules are matched in one pass. */
  match? (req: RoutingRequest): boolean
  /**
   * A rule action: forward to a target group, or answer. Undefined means "not mine": matching goes on with the
   * next rule, then the listener's default action.
   */
  route? (req: RoutingRequest): Route | undefined | Promise<Route | undefined>
  /**
   * For each target of a group that lists the plugin: whether it may get new requests, and its weight. Asked
   * when a snapshot is built and after env.refreshTargets(); several plugins' answers combine (any ineligible
   * wins, the last weight given wins).
   */
  targetState? (target: TargetInfo, group: string): TargetState | undefined
  /** State published with env.publish by this plugin's instance in any shard. */
  onState? (state: unknown): void
  /** Called with the core's selector (or the previous plugin's) for a group; returns the selector to use. */
  wrapSelector? (next: Selector, group: TargetGroup): Selector
  /** A target was chosen; last chance to edit the request head the target gets. */
  onForward? (req: PluginRequest, target: Target): void
  /**
   * The target's response head, before the client sees it (not called for replies Pilotfish makes itself).
   * `req.target` says who answered; the request's head has gone out, so editing it here changes nothing.
   */
  onResponse? (req: PluginRequest, res: PluginResponse): void
  /**
   * A listener kind: binds the sockets of a listener whose protocol the plugin declares (in every shard, with
   * reusePort, as the core does for http) and hands each connection to the sink once it carries HTTP/1.1
   * (after a TLS handshake, say). close() on the returned server stops accepting; the core drains the rest.
   */
  listen? (listener: ListenerInfo, sink: ConnectionSink): PluginServer | Promise<PluginServer>
  /**
   * The target groups route may answer with (usually from the plugin's config). Given, each must exist, or the
   * config is refused when it is applied, instead of requests meeting 503 no-target-group later.
   */
  readonly targetGroups?: readonly string[]
  /** Releases what setup() opened; called when the instance is replaced or the shard stops. */
  close? (): void | Promise<void>
}

/** The request as match and route see it. */
export interface RoutingRequest extends RequestCtx {
  /**
   * Scratch space for this request, shared by every hook that sees it (what route found, onForward and
   * onResponse can use). Made on first use. Key it by your plugin's name: other plugins see it too.
   */
  readonly locals: Record<string, unknown>
}

/** A request whose head a hook may edit. Edits are seen by the rules and hooks that run after. */
export interface PluginRequest extends RoutingRequest {
  /** The chosen target, once there is one (onForward, onResponse). */
  readonly target: Target | null
  /** Replaces every field of that name (or adds one). Framing and connection fields cannot be set. */
  setHeader (name: string, value: string): void
  removeHeader (name: string): void
}

/** A target's response head on its way to the client. */
export interface PluginResponse {
  readonly status: number
  header (name: string): string | undefined
  setHeader (name: string, value: string): void
  /** Adds a field even when one of that name exists (Set-Cookie). */
  appendHeader (name: string, value: string): void
  removeHeader (name: string): void
}

/** An answer made by a plugin instead of a target. */
export interface Reply {
  readonly statusCode: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
}

export interface ListenerInfo {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly protocol: string
}

export interface ConnectionSink {
  /**
   * The listener's `allowFrom` for a socket just accepted: true when its peer may connect; false when it may
   * not, and then the socket has been destroyed and counted in pilotfish_connections_refused_total. Call it
   * first thing in your server's connection callback, before a handshake reads anything.
   * @example
   *   const gate = net.createServer((raw) => { if (sink.admit(raw)) tlsServer.emit('connection', raw) })
   */
  admit (socket: Socket): boolean
  /**
   * Serves HTTP/1.1 on the connection with the listener's rules, as for an http listener. The peer is held to
   * `allowFrom` here too (a socket refused is destroyed), but only admit() refuses it before your handshake.
   */
  http (socket: Socket): void
  /**
   * For kinds that move bytes themselves (L4): a target of the group for a connection from `clientIp`, chosen
   * by the group's selector (its algorithm, eligible targets only, its plugins' selector wrappers), or null when
   * none is eligible or `clientIp` is outside the listener's `allowFrom`. It counts as in flight until release().
   */
  pick (group: string, clientIp: string): PickedTarget | null
}

export interface PickedTarget {
  readonly host: string
  readonly port: number
  /** The connection to it has ended; once is enough, more calls do nothing. */
  release (): void
}

export interface PluginServer {
  /** Stop accepting connections (those handed to the sink are drained by the core). */
  close (): void | Promise<void>
}

export interface TargetInfo {
  /** "host:port" ("[v6]:port"). */
  readonly id: string
  readonly host: string
  readonly port: number
  /** The configured weight. */
  readonly weight: number
}

export interface TargetState {
  /** false: no new requests (in-flight ones finish), as a draining or unhealthy target. */
  readonly eligible?: boolean
  /** Replaces the weight (1–1000), e.g. ramping up during slow start. */
  readonly weight?: number
}

/** What a route hook decides: a target group (by name) to forward to, or a reply. */
export type Route = { readonly targetGroup: string } | Reply

/**
 * How one attempt to send a request to a target failed, as the forwarder saw it. Every failed attempt is
 * reported, including one the forwarder then retried or sent to another target (so a passive health check sees
 * a dead target even when no client request failed):
 * - `connect-refused`: the connection was refused (or reset) before it was established; nothing was sent.
 * - `connect-timeout`: the connection was not established within the connect timeout; nothing was sent.
 * - `reset`: the target closed or reset an established connection before the response was complete.
 * - `timeout`: the target did not answer, or stopped sending its response, within the group's response timeout.
 * - `bad-response`: the target's response could not be read one way only (malformed, double-framed, too large).
 *
 * @example
 * function counts (failure: TargetFailure): boolean {
 *   return failure !== 'bad-response' // e.g. an outlier detector that counts only connection failures
 * }
 */
export type TargetFailure = 'connect-refused' | 'connect-timeout' | 'reset' | 'timeout' | 'bad-response'
