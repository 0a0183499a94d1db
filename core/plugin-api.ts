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
import type { Outcome, RequestCtx, Selector, Target, TargetGroup } from './pipeline.ts'

export type { FromSchema, JSONSchema, Outcome, RequestCtx, Selector, Target, TargetGroup }

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
  /**
   * The keys of a target group this plugin reads, as an object schema whose properties are those keys, e.g.
   * `{ type: 'object', properties: { healthCheck: {…}, failOpen: {…} } }`. For every group the plugin serves,
   * the sidecar validates the group's values of these keys against it (filling defaults; problems at paths like
   * `/targetGroups/0/healthCheck/intervalSeconds`) and hands them to onGroups as `group.config`. The keys must
   * be among the group keys the core leaves to plugins (docs/plugins.md, Group sections).
   */
  readonly targetGroupConfig?: JSONSchema
  /**
   * The keys of a forward action this plugin reads, as targetGroupConfig is for groups, e.g. `{ type: 'object',
   * properties: { stickiness: {…} } }`. Every forward action that sets one of them is the plugin's: its values are
   * validated (problems at `/listeners/0/defaultAction/stickiness/…`) and handed to wrapGroupChoice as
   * `forward.config`. The keys must be among the forward keys the core leaves to plugins (docs/plugins.md).
   */
  readonly forwardConfig?: JSONSchema
  /**
   * The keys of a listener this plugin reads, as targetGroupConfig is for groups, e.g. `{ type: 'object',
   * properties: { tls: {…} } }`. For every listener that lists the plugin (or whose protocol turns a built-in
   * on), they are validated (problems at `/listeners/0/tls/…`) and handed to onListeners as `listener.config`.
   */
  readonly listenerConfig?: JSONSchema
}

export type FailMode = 'open' | 'closed'

export interface PluginEnv {
  /** The plugin's name in the config (`plugins[].name`). */
  readonly name: string
  /**
   * Where the plugin's config is in the sidecar's config: `/plugins/2/config`, or a built-in's own section
   * (`/stickiness`). Prefix the paths of a configProblems thrown from setup with it.
   */
  readonly configPath: string
  /** The directory relative paths in the config are resolved from: the config file's, or the working directory. */
  readonly configDir: string
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
  /**
   * Asks this shard to ask the targetState hooks again (after onState changed what they would answer). The
   * groups change in place: selector state (round-robin position, hash rings) is kept.
   */
  refreshTargets (): void
  /** The sidecar's clock, in ms since the epoch (Date.now() in a sidecar; a clock the test moves in the harness). */
  now (): number
  /**
   * Sends plain data to this plugin's instance in the leader shard (its onMessage hook), from any shard, the
   * leader included: for observations the leader merges (each shard's passive failures) before it publishes.
   */
  sendToLeader (message: unknown): void
  /**
   * Tells the control plane what state a target is in and why: the admin API shows it, /metrics counts it, and
   * each change is one log line. Call it where the verdict is made (the leader), once per change.
   */
  reportTarget (group: string, targetId: string, report: TargetReport): void
  /**
   * A counter in /metrics, summed over every shard: declare it in setup (same name, help and label names from every
   * instance and every config: the counts carry on across re-setups and reloads), take a child per label set off the
   * request path (in onGroups, say), and inc() it on the path. The name must end in `_total` and not be one of the
   * core's; another plugin declaring the same name shares the counter (same help and labels), or setup throws.
   *   const cookies = env.counter('pilotfish_stickiness_cookies_total', 'Sticky cookies by group and result', ['group', 'result'])
   *   const honoured = cookies.labels('web', 'honoured');  …  honoured.inc()
   */
  counter (name: string, help: string, labelNames: readonly string[]): PluginCounter
}

/** A counter declared with env.counter. */
export interface PluginCounter {
  /**
   * The child for one value per label name, in the declared order; the same child each time for the same values.
   * Allocates on first use of a label set: take children off the request path. Throws for the wrong number of values.
   */
  labels (...values: string[]): CounterChild
}

/** One series of a counter. */
export interface CounterChild {
  /** Adds `by` (default 1): a field increment, cheap on the request path. Throws for a negative or non-finite `by`. */
  inc (by?: number): void
}

/** A target's state as a plugin reports it (ALB's target health). */
export interface TargetReport {
  readonly state: 'initial' | 'healthy' | 'unhealthy'
  /** ALB's reason code when not healthy, e.g. 'Target.Timeout', 'Target.ResponseCodeMismatch'. */
  readonly reason?: string | null
  /** Words for people, e.g. 'Health checks failed with these codes: [503]'. */
  readonly description?: string | null
}

/** A target group as a plugin that serves it sees it (onGroups). */
export interface PluginGroup<C = unknown> {
  readonly name: string
  /** The group's JSON pointer in the config, e.g. '/targetGroups/0': where a problem with its config is. */
  readonly path: string
  /**
   * The targets that take part: registered, not draining and not in maintenance. A target that comes back from
   * maintenance appears as new.
   */
  readonly targets: readonly TargetInfo[]
  /** The group's values of the definition's targetGroupConfig keys, validated, defaults filled ({} without). */
  readonly config: C
}

/** A listener as a plugin that serves it sees it (onListeners). */
export interface PluginListener<L = unknown> extends ListenerInfo {
  /** The listener's JSON pointer in the config, e.g. '/listeners/0'. */
  readonly path: string
  /** Its headerTimeoutSeconds, in ms: the time a connection has to send a request head (and, say, to handshake). */
  readonly headerTimeoutMs: number
  /** The listener's values of the definition's listenerConfig keys, validated, defaults filled ({} without). */
  readonly config: L
}

/** Why an attempt to a target failed (onTargetFailure). */
export type TargetFailure =
  | 'connect-refused' // refused, reset or unreachable while connecting: the target got nothing
  | 'connect-timeout' // not connected within connectTimeoutSeconds: the target got nothing
  | 'reset' // connected, then closed or reset before the first byte of a response
  | 'timeout' // no response within responseTimeoutSeconds
  | 'bad-response' // a response the engine cannot read (malformed head, bad framing)

/**
 * Throw this (docs/plugins.md, Refusing a config) from setup or onGroups to refuse a config with JSON paths: the
 * change is answered 400 with them, as a schema problem is, and the running config keeps serving.
 */
export interface ConfigProblems extends Error {
  readonly problems: ReadonlyArray<{ readonly path: string, readonly message: string }>
}

/**
 * The hooks a plugin may implement. match, wrapSelector, onForward, onResponse, targetState and onState are
 * synchronous: a promise returned from one of them counts as a failure of that hook (and is not awaited). Which ones run depends on where the config names the plugin:
 * - a listener's `plugins` list: onRequest, onForward and onResponse for every request on that listener;
 * - a rule condition `{ plugin: [name] }`: match;
 * - a rule action `{ type: plugin, plugin: name }`: route;
 * - a target group's `plugins` list (or a group section that turns a built-in on): onGroups and targetState
 *   when the group is built, wrapSelector once per snapshot, and onForward, onResponse, onTargetFailure and
 *   onRequestEnd for every request forwarded to that group;
 * - a listener's `plugins` list also gets onRequestEnd for every request on that listener.
 * A hook that is absent costs nothing.
 */
export interface PluginHooks<G = unknown, F = unknown, L = unknown> {
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
  /**
   * The groups the plugin serves (those that list it, or whose config section turns a built-in on) with their
   * targets and the plugin's config section; called in every shard each time a snapshot is built (start, a
   * config change, a registration, a maintenance change), before any targetState. Throw a ConfigProblems to
   * refuse the config.
   */
  onGroups? (groups: ReadonlyArray<PluginGroup<G>>): void
  /**
   * The listeners the plugin serves (those that list it, or whose protocol turns a built-in on) with the plugin's
   * section of each; called in every shard each time a snapshot is built, before any listen. A change of a
   * section alone keeps the instance and the bound sockets: apply it here (a new certificate). Throw a
   * ConfigProblems to refuse the config.
   */
  onListeners? (listeners: ReadonlyArray<PluginListener<L>>): void
  /** In the leader shard only: what an instance sent with env.sendToLeader (`fromShard`: the sender's index). */
  onMessage? (message: unknown, fromShard: number): void
  /**
   * A request forwarded to a group that lists the plugin (or on a listener that lists it) has ended: the
   * client has its last byte, or went away. `req.target` is the target that answered (or was tried last).
   * Called for every such request: keep it to a few field reads.
   */
  onRequestEnd? (req: EndedRequest): void
  /**
   * An attempt to a target of a group that lists the plugin failed, including one the core then sent to
   * another target (redispatch): the request may still succeed elsewhere.
   */
  onTargetFailure? (req: PluginRequest, target: Target, failure: TargetFailure): void
  /**
   * Called with the core's selector (or the previous plugin's) for a group, once per snapshot; returns the
   * selector to use. Its select() gets the request as a SelectionRequest: it may leave a response header for the
   * target it picks (a cookie naming it), and sees which targets a redispatch has tried already.
   */
  wrapSelector? (next: PluginSelector, group: TargetGroup): PluginSelector
  /**
   * Called with the core's weighted choice (or the previous plugin's) for each forward action that sets one of the
   * definition's forwardConfig keys, once per snapshot; returns the choice to use. Its choose() must answer one of
   * `forward.groups` (another answer counts as the hook failing).
   */
  wrapGroupChoice? (next: GroupChoice, forward: ForwardInfo<F>): GroupChoice
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
  /** What the listener kind attached to the request's connection (sink.http's `info`); null without. */
  readonly connection: ConnectionInfo | null
  /**
   * Scratch space for this request, shared by every hook that sees it (what route found, onForward and
   * onResponse can use). Made on first use. Key it by your plugin's name: other plugins see it too.
   */
  readonly locals: Record<string, unknown>
}

/** The request as a selector wrapper and a group choice see it. */
export interface SelectionRequest extends RoutingRequest {
  /**
   * The group's targets this request was already sent to, whose attempts failed: empty on the first selection; on
   * a redispatch (the core selecting again after a refused connection), the ones tried. A selector that keeps
   * answering one of them is asked again, then passed over.
   */
  readonly tried: readonly Target[]
  /**
   * Adds a field to the response the client gets from the target (not to a reply Pilotfish makes itself): a
   * Set-Cookie naming the target picked, say. A field added while selecting a target is dropped when the core
   * selects again for the request (a redispatch): it belonged to a choice given up on. One added by a group
   * choice or a request hook stays. Framing and connection fields are refused (it throws), as setHeader does.
   * Once the response head is in, onResponse edits it instead.
   */
  addResponseHeader (name: string, value: string): void
}

/** A group's selector as a plugin wraps it (wrapSelector): the core's selectors are ones too. */
export interface PluginSelector {
  /** An eligible target of the group, or null when there is none (→ 503). */
  select (req: SelectionRequest, group: TargetGroup): Target | null
}

/** How a forward action picks among its weighted target groups (wrapGroupChoice). */
export interface GroupChoice {
  /** The name of one of the action's groups for this request. */
  choose (req: SelectionRequest): string
}

/** A forward action as a group choice wrapper sees it. */
export interface ForwardInfo<F = unknown> {
  /** The action's JSON pointer in the config, e.g. '/listeners/0/defaultAction': where a problem with it is. */
  readonly path: string
  /** Its groups in config order, with their weights (0: named, never picked by the core's choice). */
  readonly groups: ReadonlyArray<{ readonly name: string, readonly weight: number }>
  /** The action's values of the definition's forwardConfig keys, validated, defaults filled. */
  readonly config: F
}

/** A request whose head a hook may edit. Edits are seen by the rules and hooks that run after. */
export interface PluginRequest extends SelectionRequest {
  /** The chosen target, once there is one (onForward, onResponse). */
  readonly target: Target | null
  /** The chosen target group's name, once there is one ('' before). */
  readonly groupName: string
  /** Replaces every field of that name (or adds one). Framing and connection fields cannot be set. */
  setHeader (name: string, value: string): void
  removeHeader (name: string): void
}

/** A request that has ended (onRequestEnd). */
export interface EndedRequest extends PluginRequest {
  /** Status sent to the client; 0 when the client went away first. */
  readonly status: number
  /**
   * How it ended: Outcome.Ok (0) when a target's response (any status) or a reply went out; otherwise why
   * Pilotfish answered itself or cut it short (pilotfish/plugin-runtime exports the Outcome values).
   */
  readonly outcome: Outcome
  /** Pilotfish's reason when it answered itself ('' when the target answered), as in the access log. */
  readonly reason: string
  readonly durationMs: number
}

/** A target's response head on its way to the client. */
export interface PluginResponse {
  readonly status: number
  /** A field's value; repeated fields joined with ", " (which breaks Set-Cookie: use headerValues). */
  header (name: string): string | undefined
  /** Every field of that name, each its own value, in order (Set-Cookie, which cannot be joined). */
  headerValues (name: string): string[]
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
  http (socket: Socket, info?: ConnectionInfo): void
  /**
   * For kinds that move bytes themselves (L4): a target of the group for a connection from `clientIp`, chosen
   * by the group's selector (its algorithm, eligible targets only, its plugins' selector wrappers), or null when
   * none is eligible or `clientIp` is outside the listener's `allowFrom`. It counts as in flight until release().
   */
  pick (group: string, clientIp: string): PickedTarget | null
}

/**
 * Plain data a listener kind attaches to a connection it hands over (sink.http): every request on it carries it
 * as `req.connection`, for the kind's own hooks (a verified client certificate's identity, say).
 */
export type ConnectionInfo = Readonly<Record<string, unknown>>

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
  /** Replaces the weight: a number above 0 up to 1000, fractions allowed (a slow start ramps 1 up from 0.1). */
  readonly weight?: number
}

/** What a route hook decides: a target group (by name) to forward to, or a reply. */
export type Route = { readonly targetGroup: string } | Reply

