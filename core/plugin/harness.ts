// The SDK's test harness: runs one plugin's hooks against synthetic requests and target groups through the
// decision stage a shard runs (core/decision/decide.ts), with the same containment, without starting a sidecar.
//
//   const h = await pluginHarness(plugin, { percent: 10 }, { targetGroups: { stable: [{ host: '10.0.0.1', port: 80 }] } })
//   const r = await h.request({ path: '/x', headers: { 'x-canary': 'always' } })
//   expect(r.route).toEqual({ targetGroup: 'canary' })
//   await h.close()
//
// The plugin is taken to be named wherever its hooks apply: in the listener's `plugins` (onRequest, onForward,
// onResponse), in a rule condition (match), as a rule action (route) and in every group's `plugins` (wrapSelector).
import { invalid } from '../../schemas/validate.ts'
import { pluginEntrySchema } from '../../schemas/sidecar.schema.ts'
import { PilotfishError } from '../errors.ts'
import { Algorithm, Outcome, type Endpoint, type HashOn, type RequestCtx, type Target, type TargetGroup } from '../pipeline.ts'
import type { FailMode, PluginDefinition, PluginEnv, PluginHooks, Reply, Route, TargetFailure, TargetReport } from '../plugin-api.ts'
import type { GroupRuntime, ListenerRuntime } from '../runtime.ts'
import type { Rule, RuleSource } from '../rule/rule-table.ts'
import { selectorFactory } from '../selector/index.ts'
import { Forward } from '../rule/actions.ts'
import { attemptFailed, decide, ended, respond, type DecisionSink } from '../decision/decide.ts'
import { EngineRequest, Stage } from '../decision/request.ts'
import { plain, responseHead, syntheticHead, type Fields, type SyntheticRequestInit } from './harness-request.ts'
import { checkDefinition } from './manifest.ts'
import { PluginCounters } from './counters.ts'
import { FORWARD_PATH, forwardSection, groupSections, validate } from './harness-config.ts'
import { announceGroups, setupFailed, FAIL, PluginCondition, PluginInstance, type HookName } from './instance.ts'
import { takingPart, TargetGroupRuntime, type GroupMember } from '../group.ts'

export interface HarnessTarget { host: string, port: number, weight?: number, eligible?: boolean }

export interface HarnessOptions {
  /** Target groups by name; each is built and wrapped once, as a snapshot's are, so selector state persists. */
  targetGroups?: Readonly<Record<string, readonly HarnessTarget[]>>
  /** Every group's algorithm (default round_robin); consistent_hash needs `hashOn`. */
  algorithm?: Algorithm
  hashOn?: HashOn
  /** As `plugins[].failMode`: overrides the definition's own (whose default is 'closed'). */
  failMode?: FailMode
  /** As `plugins[].hookTimeoutSeconds`: an async hook that takes longer counts as failed. */
  hookTimeoutSeconds?: number
  /** The plugin's name in the config (env.name); the definition's name by default. */
  name?: string
  /**
   * Each group's values of the definition's targetGroupConfig keys, as a group in the config would have them
   * (`{ api: { healthCheck: { path: '/health' } } }`): validated as the sidecar does, problems at
   * /targetGroups/<i>/…, and handed to onGroups.
   */
  groupConfig?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  /**
   * The forward action's values of the definition's forwardConfig keys (`{ stickiness: { enabled: true } }`):
   * validated as the sidecar does (problems at /listeners/0/defaultAction/…), and the plugin's wrapGroupChoice
   * then chooses among every `forwardTo` list's groups.
   */
  forwardConfig?: Readonly<Record<string, unknown>>
}

export type { Fields, SyntheticRequestInit }

export interface HarnessRequestInit extends SyntheticRequestInit {
  /**
   * The group to forward to when no route hook picks one, as a forward action in a later rule would; or its
   * weighted groups (`[{ name: 'stable', weight: 95 }, { name: 'canary', weight: 5 }]`), one chosen per request.
   */
  forwardTo?: string | ReadonlyArray<{ readonly name: string, readonly weight?: number }>
  /** The target's response head; onResponse hooks run only when it is given. */
  response?: { status: number, headers?: Fields }
  /** The chosen target's attempt fails so (onTargetFailure), and the request ends 502 (504 for a timeout). */
  failure?: TargetFailure
}

export interface HarnessFailure { hook: HookName, error: unknown }

export interface HarnessResult {
  /** The reply a hook answered with (onRequest's, or route's), already checked as the engine checks it. */
  reply: Reply | undefined
  /** The match hook's verdict; undefined without a match hook, or when the request was answered before. */
  matched: boolean | undefined
  /** What the route hook decided; undefined for "not mine" (and without a route hook). */
  route: Route | undefined
  /** The target the (wrapped) selector chose. */
  target: Target | null
  /** The request head the target would get, after every edit (lower-case names, repeats joined as header() does). */
  requestHeaders: Record<string, string>
  /** The response head after onResponse edits; undefined when no response was given or none reached a client. */
  responseHeaders: Record<string, string> | undefined
  /** The same fields one by one, in order, as the client gets them: [lower-case name, value] (Set-Cookie, unjoined). */
  responseFields: ReadonlyArray<readonly [string, string]> | undefined
  /** The group the request was forwarded to (a forward's choice, or route's), '' when none. */
  group: string
  /** Failures in this request, as counted in pilotfish_plugin_errors_total{plugin,hook}. */
  failures: HarnessFailure[]
  /**
   * What the client would get: a reply's status, 500 when a fail-closed hook failed, 503 when the chosen group
   * does not exist or has no eligible target, the given response's status; null when no decision was made
   * (the next rule would decide) or the request went to a target without a `response` given.
   */
  status: number | null
}

export interface PluginHarness {
  request (init?: HarnessRequestInit): Promise<HarnessResult>
  /** The groups as built: flip a target's `eligible` to see the selector react. */
  readonly groups: ReadonlyMap<string, TargetGroup>
  /** Every failure so far (wrapSelector while the groups were built, and close, included): the counter's view. */
  readonly failures: readonly HarnessFailure[]
  /** What the plugin wrote through env.log. */
  readonly logs: ReadonlyArray<{ message: string, fields?: Record<string, unknown> }>
  /** What the plugin told the control plane through env.reportTarget, in order. */
  readonly reports: ReadonlyArray<{ group: string, target: string } & TargetReport>
  /** env.now() in the harness: the real clock plus every advance(). */
  now (): number
  /**
   * A counter's count for one label set (`{ group: 'web', result: 'honoured' }`; none for a counter without labels),
   * 0 before the first inc(). Throws for a name the plugin never declared, or labels other than the declared ones.
   */
  counter (name: string, labels?: Readonly<Record<string, string>>): number
  /** Moves env.now() on by `ms` (timers the plugin set are real and do not move). */
  advance (ms: number): void
  /**
   * Replaces a group's targets, as a registration or a maintenance change does: the groups are built again
   * (onGroups, targetState), as a new snapshot is.
   */
  setTargets (group: string, targets: readonly HarnessTarget[]): void
  /** Resolves once published state, refreshes and messages to the leader queued so far have been delivered. */
  settle (): Promise<void>
  /** Calls the hooks' close(), once; a throw is recorded as a 'close' failure, as the shard does. */
  close (): Promise<void>
}

/**
 * Any plugin definition. The harness never needs the config's type, and computing FromSchema<S> for an inferred
 * S is too deep for tsc (STYLE 10); a setup taking `never` accepts every setup.
 */
export type AnyDefinition = Pick<PluginDefinition, 'name' | 'version' | 'configSchema' | 'failMode' | 'tasks'> & {
  setup (config: never, env: PluginEnv): PluginHooks | Promise<PluginHooks>
}

/** The config entry's default, so a harness times hooks out as a sidecar with the default config does. */
const DEFAULT_TIMEOUT_S = pluginEntrySchema.properties.hookTimeoutSeconds.default

/**
 * Validates `config` against the plugin's schema (filling its defaults), sets the plugin up and wraps each
 * group's core selector with its wrapSelector. Throws PF_ERR_CONFIG_INVALID with paths under /config (or at
 * /from when the schema itself does not compile), or PF_ERR_PLUGIN_HOOK_FAILED when setup or wrapSelector throws.
 */
export async function pluginHarness (definition: AnyDefinition, config: unknown = {}, options: HarnessOptions = {}): Promise<PluginHarness> {
  const manifest = checkDefinition(definition)
  if (typeof manifest === 'string') throw invalid([{ path: '/from', message: `could not load: ${manifest}` }])
  const name = options.name ?? definition.name
  const checked = validate(definition.configSchema, structuredClone(config)) // a copy: ajv fills defaults in place
  const log = new FailureLog()
  const logs: Array<{ message: string, fields?: Record<string, unknown> }> = []
  let h: Harness | null = null
  const clock = { offset: 0 }
  const reports: Array<{ group: string, target: string } & TargetReport> = []
  const sections = groupSections(definition, options)
  const tasks = (definition as { tasks?: Readonly<Record<string, URL | string>> }).tasks ?? {}
  const counters = new PluginCounters()
  const env: PluginEnv = {
    name,
    configPath: '/config',
    configDir: process.cwd(),
    shard: 0,
    generation: 1,
    leader: true, // the harness is the only shard
    log: (message, fields) => { logs.push({ message, fields }) },
    // A task runs in this thread: the same module and the same plain-data contract as in the worker pool.
    runTask: async (task, data) => {
      const url = Object.hasOwn(tasks, task) ? tasks[task] : undefined
      if (url === undefined) throw new Error(`plugin ${name} has no task ${task}`)
      const mod = await import(String(url)) as { default: (data: unknown) => unknown }
      return structuredClone(await mod.default(structuredClone(data)))
    },
    publish: (state) => { queueMicrotask(() => h?.deliver(structuredClone(state))) },
    refreshTargets: () => { queueMicrotask(() => h?.refreshTargets()) },
    now: () => Date.now() + clock.offset,
    // The harness's one instance is the leader, as shard 0.
    sendToLeader: (message) => { queueMicrotask(() => h?.message(structuredClone(message))) },
    reportTarget: (group, target, r) => { reports.push({ group, target, ...structuredClone(r) }) },
    counter: (counter, help, labelNames) => counters.declare(counter, help, labelNames),
  }
  let hooks: PluginHooks
  try {
    hooks = (await definition.setup(checked as never, env)) ?? {} // the schema has just vouched for it
  } catch (err) {
    throw setupFailed(name, err)
  }
  const failClosed = (options.failMode ?? definition.failMode ?? 'closed') === 'closed'
  const timeoutMs = (options.hookTimeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000
  const plugin = new PluginInstance(name, definition.version, hooks, failClosed, timeoutMs, (_p, hook, err) => log.record(hook, err))
  h = new Harness(plugin, log, logs, reports, clock, counters, sections, forwardSection(definition, options), options)
  try {
    h.build()
  } catch (err) {
    await h.close() // a snapshot that cannot be built is discarded, and what setup opened for it is closed
    throw err
  }
  return h
}

/** Where the instance's failure sink writes: every failure, and the ones of the request being run. */
class FailureLog {
  readonly all: HarnessFailure[] = []
  /** Set before every synchronous call that may fail, so concurrent requests keep their failures apart. */
  current: HarnessFailure[] | null = null
  record (hook: HookName, error: unknown): void {
    const f = { hook, error }
    this.all.push(f)
    this.current?.push(f)
  }
}

class Harness implements PluginHarness {
  readonly plugin: PluginInstance
  readonly groups = new Map<string, TargetGroup>()
  readonly logs: ReadonlyArray<{ message: string, fields?: Record<string, unknown> }>
  readonly reports: ReadonlyArray<{ group: string, target: string } & TargetReport>
  readonly #log: FailureLog
  readonly #runtimes = new Map<string, GroupRuntime>()
  readonly #options: HarnessOptions
  readonly #clock: { offset: number }
  readonly #counters: PluginCounters
  readonly #sections: ReadonlyMap<string, { path: string, config: unknown }>
  readonly #targets: Map<string, readonly HarnessTarget[]>
  #condition: PluginCondition | null = null
  readonly #forwardSection: unknown
  /** Forward actions by their groups, compiled once per build, as a snapshot compiles its rules. */
  #forwards = new Map<string, Forward>()
  #closed = false

  constructor (plugin: PluginInstance, log: FailureLog, logs: Harness['logs'], reports: Harness['reports'], clock: { offset: number }, counters: PluginCounters,
    sections: ReadonlyMap<string, { path: string, config: unknown }>, forwardSection: unknown, options: HarnessOptions) {
    this.plugin = plugin
    this.#forwardSection = forwardSection
    this.#log = log
    this.logs = logs
    this.reports = reports
    this.#clock = clock
    this.#counters = counters
    this.#sections = sections
    this.#options = options
    this.#targets = new Map(Object.entries(options.targetGroups ?? {}))
  }

  now (): number { return Date.now() + this.#clock.offset }
  advance (ms: number): void { this.#clock.offset += ms }
  counter (name: string, labels: Readonly<Record<string, string>> = {}): number { return this.#counters.read(name, labels) }

  setTargets (group: string, targets: readonly HarnessTarget[]): void {
    if (!this.#targets.has(group)) throw new Error(`the harness has no target group ${group}`)
    this.#targets.set(group, targets)
    this.build()
  }

  async settle (): Promise<void> {
    // Deliveries are queued as microtasks and may queue more: a macrotask turn runs them all.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
  }

  /** env.sendToLeader: the harness's instance is the leader. */
  message (message: unknown): void {
    const hooks = this.plugin.hooks
    if (this.#closed || hooks.onMessage === undefined) return
    this.#log.current = null
    this.plugin.sync('onMessage', hooks.onMessage, hooks, message, 0)
  }

  /** env.publish: the state reaches onState, as every shard's instance gets it. */
  deliver (state: unknown): void {
    const hooks = this.plugin.hooks
    if (this.#closed || hooks.onState === undefined) return
    this.#log.current = null
    this.plugin.sync('onState', hooks.onState, hooks, state, undefined)
  }

  /** env.refreshTargets: each group asks targetState again and changes in place, as in a shard. */
  refreshTargets (): void {
    if (this.#closed) return
    this.#log.current = null
    for (const g of this.#runtimes.values()) g.refresh()
  }

  get failures (): readonly HarnessFailure[] { return this.#log.all }

  /** The groups as a snapshot builds them: onGroups told, targetState answers folded in, the selector wrapped. */
  /** The forward action for `forwardTo`; the plugin chooses its group when the harness was given forwardConfig. */
  #forward (to: NonNullable<HarnessRequestInit['forwardTo']>): Forward {
    const groups = typeof to === 'string' ? [{ name: to, weight: 1 }] : to.map((g) => ({ name: g.name, weight: g.weight ?? 1 }))
    const key = JSON.stringify(groups)
    let f = this.#forwards.get(key)
    if (f === undefined) {
      const section = this.#options.forwardConfig
      const choosers = section !== undefined && typeof this.plugin.hooks.wrapGroupChoice === 'function'
        ? [{ plugin: this.plugin, config: this.#forwardSection }]
        : []
      this.#forwards.set(key, f = new Forward({ targetGroups: groups }, FORWARD_PATH, choosers))
    }
    return f
  }

  build (): void {
    this.#forwards.clear()
    const options = this.#options
    const endpoints = new Map<string, Endpoint>() // one host:port is one endpoint across groups, as in a shard
    const factory = selectorFactory(options.algorithm ?? Algorithm.RoundRobin, options.hashOn)
    const members = new Map<string, GroupMember[]>()
    for (const [name, list] of this.#targets) {
      members.set(name, list.map((t) => {
        const id = t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`
        let endpoint = endpoints.get(id)
        if (endpoint === undefined) endpoints.set(id, endpoint = { id, host: t.host, port: t.port, inFlight: 0 })
        return { endpoint, weight: t.weight ?? 1, eligible: t.eligible ?? true }
      }))
    }
    this.#log.current = null
    this.#announce(members)
    for (const [name, list] of members) {
      // The plugin's onForward and onResponse run once, as a listener plugin's (harnessListener); its request-end
      // and failure hooks run as a group's.
      const runtime = new TargetGroupRuntime(name, list, [this.plugin], factory, 0)
      this.groups.set(name, runtime.group)
      this.#runtimes.set(name, {
        group: runtime.group,
        selector: runtime.selector,
        responseTimeoutMs: 0,
        onForward: [],
        onResponse: [],
        onRequestEnd: runtime.onRequestEnd,
        onTargetFailure: runtime.onTargetFailure,
        refresh: () => runtime.refresh(),
      })
    }
    if (typeof this.plugin.hooks.match === 'function') this.#condition = new PluginCondition([this.plugin])
    // As a sidecar refuses such a config: the groups a route plugin declares must be among the harness's.
    if (options.targetGroups !== undefined) {
      for (const g of this.plugin.hooks.targetGroups ?? []) {
        if (!this.groups.has(g)) throw new PilotfishError('PF_ERR_PLUGIN_TARGET_GROUP', [this.plugin.name, g])
      }
    }
  }

  /** onGroups, as a snapshot build calls it (core/snapshot.ts): a throw refuses the build, with paths if given. */
  #announce (members: ReadonlyMap<string, readonly GroupMember[]>): void {
    if (this.plugin.hooks.onGroups === undefined) return
    announceGroups(this.plugin, [...members].map(([name, list]) => ({
      name,
      path: this.#sections.get(name)!.path,
      targets: takingPart(list),
      config: structuredClone(this.#sections.get(name)!.config),
    })))
  }

  /** The decision stage the shard runs (decision/decide.ts), on a listener that names the plugin everywhere. */
  request (init: HarnessRequestInit = {}): Promise<HarnessResult> {
    const r: HarnessResult = {
      reply: undefined, matched: undefined, route: undefined, target: null, requestHeaders: {}, responseHeaders: undefined, responseFields: undefined,
      group: '', failures: [], status: null,
    }
    const forward = init.forwardTo === undefined ? null : this.#forward(init.forwardTo)
    const listener = harnessListener(this.plugin, new HarnessRules(this.plugin, this.#condition, forward, r), this.#runtimes, init)
    const req = new EngineRequest(listener, syntheticHead(init), init.clientIp ?? '192.0.2.1', init.clientPort ?? 40000, init.connection ?? null)
    return new Promise((resolve) => {
      const run = new HarnessRun(req, r, init, this.#log, resolve)
      this.#log.current = r.failures
      decide(req, run)
    })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#log.current = null
    try {
      await this.plugin.hooks.close?.()
    } catch (err) {
      this.plugin.verdict('close', err)
    }
  }
}

/** A listener whose plugins list, rules and groups all name the plugin, as the harness takes it to be named. */
function harnessListener (p: PluginInstance, rules: RuleSource, groups: ReadonlyMap<string, GroupRuntime>, init: HarnessRequestInit): ListenerRuntime {
  const has = (hook: 'onRequest' | 'onForward' | 'onResponse'): PluginInstance[] => p.hooks[hook] === undefined ? [] : [p]
  return {
    name: 'harness',
    settings: {
      idleTimeoutMs: 0, headerTimeoutMs: 0, bodyTimeoutMs: 0, minBodyRate: 0, minBodyRateGraceMs: 0, maxHeadBytes: 0, maxHeaderCount: 0, accessLog: false,
      xForwardedFor: 'append', xForwardedClientPort: false, preserveHost: false,
      protocol: init.protocol ?? 'http', listenerPort: init.listenerPort ?? 80,
    },
    rules,
    groups,
    observer: { onRequestEnd () {}, onRejected () {}, onRefused () {} },
    allowFrom: null,
    endpoints: { connector: () => undefined },
    onRequest: has('onRequest'),
    onForward: has('onForward'),
    onResponse: has('onResponse'),
    onRequestEnd: [], // the plugin's runs as its groups' (HarnessRun)
  }
}

/**
 * The harness's rules: the plugin's match hook as a condition whose verdict is reported (not one that gates the
 * route hook, so a test sees both), then its route hook as a rule's action, then `forwardTo` as the default.
 */
class HarnessRules implements RuleSource {
  readonly rules: readonly Rule[]
  readonly #condition: PluginCondition | null
  readonly #fallback: Rule | null
  readonly #result: HarnessResult

  constructor (p: PluginInstance, condition: PluginCondition | null, forward: Forward | null, result: HarnessResult) {
    this.rules = p.hooks.route === undefined ? [] : [{ name: p.name, priority: 1, index: 0, action: { type: 'plugin', plugin: p } }]
    this.#condition = condition
    this.#result = result
    this.#fallback = forward === null ? null : { name: 'default', priority: Infinity, index: this.rules.length, action: forward }
  }

  match (ctx: RequestCtx, from: number): Rule | null {
    if (from === 0 && this.#condition !== null) this.#result.matched = this.#condition.test(ctx)
    return from < this.rules.length ? this.rules[from]! : this.#fallback
  }
}

/** The decision's sink in the harness: what the engine would have sent, as a HarnessResult. */
class HarnessRun implements DecisionSink {
  readonly finished = false
  readonly #req: EngineRequest
  readonly #r: HarnessResult
  readonly #init: HarnessRequestInit
  readonly #log: FailureLog
  readonly #resolve: (r: HarnessResult) => void

  constructor (req: EngineRequest, r: HarnessResult, init: HarnessRequestInit, log: FailureLog, resolve: (r: HarnessResult) => void) {
    this.#req = req
    this.#r = r
    this.#init = init
    this.#log = log
    this.#resolve = resolve
  }

  park (): void {}
  /** A parked hook settled: the failures from here on are this request's again. */
  unpark (): void { this.#log.current = this.#r.failures }

  reply (status: number): void {
    this.#r.reply = this.#req.answer as Reply
    this.#done(status)
  }

  forward (_group: GroupRuntime, target: Target): void {
    const req = this.#req
    const r = this.#r
    r.target = target
    const failure = this.#init.failure
    if (failure !== undefined) {
      this.#log.current = r.failures
      attemptFailed(req, target, failure)
      const timeout = failure === 'timeout' || failure === 'connect-timeout'
      req.outcome = timeout ? Outcome.Timeout : Outcome.ConnectFailed
      return this.#end(timeout ? 504 : 502)
    }
    const response = this.#init.response
    if (response === undefined) return this.#done(null)
    const head = responseHead(response.status, response.headers)
    this.#log.current = r.failures
    if (respond(req, head) === FAIL) return this.#end(500)
    r.responseHeaders = plain(head)
    r.responseFields = head.names.map((n, i) => [n, head.values[i]!] as const)
    this.#end(head.status)
  }

  /** The request has ended with `status` on the client's side: its onRequestEnd hooks run, as in a shard. */
  #end (status: number): void {
    const req = this.#req
    req.status = status
    req.end()
    this.#log.current = this.#r.failures
    ended(req)
    this.#done(status)
  }

  /** No route is not an answer in the harness: the next rule, which the test does not have, would decide. */
  fail (status: number, outcome: Outcome): void {
    this.#r.target = this.#req.target
    this.#done(outcome === Outcome.NoRoute ? null : status)
  }

  #done (status: number | null): void {
    const req = this.#req
    // What the route hook decided, whatever became of it (a group that does not exist still shows here).
    if (req.stage === Stage.Route && req.answer !== undefined) this.#r.route = req.answer as Route
    this.#r.status = status
    this.#r.group = req.groupName
    this.#r.requestHeaders = plain(req.head)
    this.#resolve(this.#r)
  }
}
