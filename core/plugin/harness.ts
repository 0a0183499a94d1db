// The SDK's test harness: runs one plugin's hooks against synthetic requests and target groups in the order, and
// with the containment, a shard applies (core/forwarder/exchange.ts), without starting a sidecar.
//
//   const h = await pluginHarness(plugin, { percent: 10 }, { targetGroups: { stable: [{ host: '10.0.0.1', port: 80 }] } })
//   const r = await h.request({ path: '/x', headers: { 'x-canary': 'always' } })
//   expect(r.route).toEqual({ targetGroup: 'canary' })
//   await h.close()
//
// The plugin is taken to be named wherever its hooks apply: in the listener's `plugins` (onRequest, onForward,
// onResponse), in a rule condition (match), as a rule action (route) and in every group's `plugins` (wrapSelector).
import type { ValidateFunction } from 'ajv'
import { ajv } from '../../schemas/compile.ts'
import { invalid, schemaProblems } from '../../schemas/validate.ts'
import { pluginEntrySchema } from '../../schemas/sidecar.schema.ts'
import { PilotfishError } from '../errors.ts'
import { pluginReplyHead } from '../forwarder/local-reply.ts'
import { Algorithm, type Endpoint, type HashOn, type Selector, type Target, type TargetGroup } from '../pipeline.ts'
import type { FailMode, JSONSchema, PluginDefinition, PluginEnv, PluginHooks, Reply, Route } from '../plugin-api.ts'
import { selectorFactory } from '../selector/index.ts'
import { ResponseEdit } from './headers.ts'
import { HarnessRequest, plain, responseHead, type Fields, type SyntheticRequestInit } from './harness-request.ts'
import { checkDefinition } from './manifest.ts'
import { applyTargetState, FAIL, failCount, PluginCondition, PluginInstance, runOnForward, runOnResponse, select, SKIP, wrapSelector, type HookName } from './instance.ts'

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
}

export type { Fields, SyntheticRequestInit }

export interface HarnessRequestInit extends SyntheticRequestInit {
  /** The group to forward to when no route hook picks one, as a forward action in a later rule would. */
  forwardTo?: string
  /** The target's response head; onResponse hooks run only when it is given. */
  response?: { status: number, headers?: Fields }
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
/** Compiled once per schema object: ajv keeps every schema it compiles. */
const validators = new WeakMap<object, ValidateFunction>()

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
  const tasks = (definition as { tasks?: Readonly<Record<string, URL | string>> }).tasks ?? {}
  const env: PluginEnv = {
    name,
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
  }
  let hooks: PluginHooks
  try {
    hooks = (await definition.setup(checked as never, env)) ?? {} // the schema has just vouched for it
  } catch (err) {
    throw new PilotfishError('PF_ERR_PLUGIN_HOOK_FAILED', [name, 'setup', (err as Error)?.message ?? String(err)], { cause: err })
  }
  const failClosed = (options.failMode ?? definition.failMode ?? 'closed') === 'closed'
  const timeoutMs = (options.hookTimeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000
  const plugin = new PluginInstance(name, definition.version, hooks, failClosed, timeoutMs, (_p, hook, err) => log.record(hook, err))
  h = new Harness(plugin, log, logs, options)
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

function validate (schema: JSONSchema, config: unknown): unknown {
  if (typeof schema !== 'object') throw invalid([{ path: '/from', message: 'could not load: configSchema must be a JSON Schema object' }])
  let check = validators.get(schema)
  if (check === undefined) {
    // ajv keeps schemas by $id, so two versions of one plugin (or two harnesses) would collide (plugins.ts).
    const { $id: _, ...rest } = schema as { $id?: string }
    try {
      check = ajv.compile(rest)
    } catch (err) {
      throw invalid([{ path: '/from', message: `could not load: its configSchema is not a valid JSON Schema: ${(err as Error).message}` }])
    }
    validators.set(schema, check)
  }
  if (!check(config)) throw invalid(schemaProblems(check.errors ?? [], '/config'))
  return config
}

/** A parked answer: the hook's value, or that it failed (and whether that fails the request). */
type Answer = { failed: false, value: unknown } | { failed: true, closed: boolean }

class Harness implements PluginHarness {
  readonly plugin: PluginInstance
  readonly groups = new Map<string, TargetGroup>()
  readonly logs: ReadonlyArray<{ message: string, fields?: Record<string, unknown> }>
  readonly #log: FailureLog
  readonly #selectors = new Map<string, Selector>()
  readonly #options: HarnessOptions
  #condition: PluginCondition | null = null
  #closed = false

  constructor (plugin: PluginInstance, log: FailureLog, logs: ReadonlyArray<{ message: string, fields?: Record<string, unknown> }>, options: HarnessOptions) {
    this.plugin = plugin
    this.#log = log
    this.logs = logs
    this.#options = options
  }

  /** env.publish: the state reaches onState, as every shard's instance gets it. */
  deliver (state: unknown): void {
    if (this.#closed || this.plugin.hooks.onState === undefined) return
    this.#log.current = null
    this.plugin.sync('onState', this.plugin.hooks.onState, this.plugin.hooks, state, undefined)
  }

  /** env.refreshTargets: the groups are built again, as a shard rebuilds its snapshot. */
  refreshTargets (): void {
    if (!this.#closed) this.build()
  }

  get failures (): readonly HarnessFailure[] { return this.#log.all }

  /** The groups as a snapshot builds them: targetState answers folded in, the selector wrapped. */
  build (): void {
    const options = this.#options
    const endpoints = new Map<string, Endpoint>() // one host:port is one endpoint across groups, as in a shard
    const factory = selectorFactory(options.algorithm ?? Algorithm.RoundRobin, options.hashOn)
    for (const [name, list] of Object.entries(options.targetGroups ?? {})) {
      const targets: Target[] = list.map((t) => {
        const id = t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`
        let endpoint = endpoints.get(id)
        if (endpoint === undefined) endpoints.set(id, endpoint = { id, host: t.host, port: t.port, inFlight: 0 })
        return { endpoint, weight: t.weight ?? 1, eligible: t.eligible ?? true }
      })
      this.#log.current = null
      if (this.plugin.hooks.targetState !== undefined) applyTargetState(this.plugin, targets, name)
      const group: TargetGroup = { name, targets }
      this.groups.set(name, group)
      this.#selectors.set(name, wrapSelector(factory(group), group, [this.plugin]))
    }
    if (typeof this.plugin.hooks.match === 'function') this.#condition = new PluginCondition([this.plugin])
    // As a sidecar refuses such a config: the groups a route plugin declares must be among the harness's.
    if (options.targetGroups !== undefined) {
      for (const g of this.plugin.hooks.targetGroups ?? []) {
        if (!this.groups.has(g)) throw new PilotfishError('PF_ERR_PLUGIN_TARGET_GROUP', [this.plugin.name, g])
      }
    }
  }

  async request (init: HarnessRequestInit = {}): Promise<HarnessResult> {
    const req = new HarnessRequest(init)
    const failures: HarnessFailure[] = []
    const r: HarnessResult = { reply: undefined, matched: undefined, route: undefined, target: null, requestHeaders: {}, responseHeaders: undefined, failures, status: null }
    const done = (status: number | null): HarnessResult => {
      r.status = status
      r.requestHeaders = plain(req.fields, '; ')
      return r
    }
    const hooks = this.plugin.hooks

    if (hooks.onRequest !== undefined) {
      const a = await this.#ask('onRequest', failures, () => hooks.onRequest!(req))
      if (a.failed && a.closed) return done(500)
      if (!a.failed && a.value !== undefined && a.value !== null) {
        const reply = this.#reply('onRequest', failures, a.value)
        if (reply === 500) return done(500)
        if (reply !== null) { r.reply = reply; return done(reply.statusCode) }
      }
    }

    if (this.#condition !== null) {
      this.#log.current = failures
      const before = failCount()
      r.matched = this.#condition.test(req)
      if (failCount() !== before) return done(500)
    }

    let group = init.forwardTo
    if (hooks.route !== undefined) {
      const a = await this.#ask('route', failures, () => hooks.route!(req))
      if (a.failed && a.closed) return done(500)
      if (!a.failed && a.value !== undefined && a.value !== null) {
        const picked = (a.value as { targetGroup?: unknown }).targetGroup
        if (typeof picked === 'string') {
          r.route = a.value as Route
          group = picked
        } else {
          const reply = this.#reply('route', failures, a.value)
          if (reply === 500) return done(500)
          if (reply !== null) { r.route = r.reply = reply; return done(reply.statusCode) }
        }
      }
    }
    if (group === undefined) return done(null)
    return this.#forward(req, r, group, init, done)
  }

  #forward (req: HarnessRequest, r: HarnessResult, name: string, init: HarnessRequestInit, done: (s: number | null) => HarnessResult): HarnessResult {
    const group = this.groups.get(name)
    const selector = this.#selectors.get(name)
    if (group === undefined || selector === undefined) return done(503)
    this.#log.current = r.failures
    const target = select(selector, req, group)
    if (target === FAIL) return done(500)
    if (target === null) return done(503)
    req.target = r.target = target
    const p = this.plugin
    this.#log.current = r.failures
    if (p.hooks.onForward !== undefined && runOnForward([p], req, target) === FAIL) return done(500)
    if (init.response === undefined) return done(null)
    const head = responseHead(init.response.status, init.response.headers)
    this.#log.current = r.failures
    if (p.hooks.onResponse !== undefined && runOnResponse([p], req, new ResponseEdit(head)) === FAIL) return done(500)
    r.responseHeaders = plain(head, ', ')
    return done(head.status)
  }

  /** Calls a hook that may answer asynchronously; a promise is awaited for at most the hook timeout. */
  async #ask (hook: HookName, failures: HarnessFailure[], call: () => unknown): Promise<Answer> {
    let v: unknown
    try {
      v = call()
    } catch (err) {
      return { failed: true, closed: this.#failed(hook, failures, err) }
    }
    if (typeof (v as PromiseLike<unknown> | null)?.then !== 'function') return { failed: false, value: v }
    const ms = this.plugin.timeoutMs
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
    })
    try {
      return { failed: false, value: await Promise.race([v as PromiseLike<unknown>, timeout]) }
    } catch (err) {
      return { failed: true, closed: this.#failed(hook, failures, err) }
    } finally {
      clearTimeout(timer)
    }
  }

  /** A hook's answer as the engine would send it; an invalid one is the hook's failure (500, or null: skipped). */
  #reply (hook: HookName, failures: HarnessFailure[], v: unknown): Reply | 500 | null {
    const checked = pluginReplyHead(v as Reply)
    if (!(checked instanceof Error)) return v as Reply
    return this.#failed(hook, failures, checked) ? 500 : null
  }

  #failed (hook: HookName, failures: HarnessFailure[], err: unknown): boolean {
    this.#log.current = failures
    return this.plugin.verdict(hook, err) === FAIL
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
