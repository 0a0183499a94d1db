// A plugin as the core calls it: its hooks, and how a failing hook is contained (STYLE 14).
//
// Every hook call goes through one of two methods, each with the only try/catch of that call: sync() for hooks
// that must answer at once, call() for onRequest and route, which may answer with a promise. Either returns the
// hook's value, or a verdict when the hook failed: SKIP (fail-open: go on as if the plugin had no opinion) or
// FAIL (fail-closed: the request gets 500). The failure is counted and logged (by the shard's sink) inside, so
// a caller only branches on the verdict, and a promise from a synchronous hook can never pass for its value.
import { invalid, PilotfishError } from '../errors.ts'
import type { Rule, RuleSource } from '../rule/rule-table.ts'
import type {
  ForwardInfo, GroupChoice, PluginGroup, PluginHooks, PluginRequest, PluginResponse, PluginSelector, RequestCtx, RoutingRequest, SelectionRequest, Selector,
  Target, TargetGroup,
} from '../plugin-api.ts'

export type HookName = 'setup' | 'onRequest' | 'match' | 'route' | 'wrapSelector' | 'wrapGroupChoice' | 'onForward' | 'onResponse' | 'targetState' | 'onState' |
  'onGroups' | 'onListeners' | 'onMessage' | 'onRequestEnd' | 'onTargetFailure' | 'listen' | 'close'

/** Where failures go: the shard counts them per plugin and hook (`pilotfish_plugin_errors_total`) and logs. */
export type FailureSink = (plugin: string, hook: HookName, err: unknown) => void

/** A failed hook, fail-open: carry on without its answer. */
export const SKIP: unique symbol = Symbol('pilotfish:skip')
/** A failed hook, fail-closed: the request fails (500, reason `plugin-failed:<name>`, see closedBy()). */
export const FAIL: unique symbol = Symbol('pilotfish:fail')
export type Verdict = typeof SKIP | typeof FAIL

/**
 * FAILs given in this thread, and the plugin of the last. A thread runs one hook at a time, so a stage that calls
 * through code it does not own (a rule table's conditions, a chain of selector wrappers, where a plugin's own
 * code sees only false or null) compares the count before and after to learn that a hook failed closed, and
 * closedBy() says which plugin to name in the request's reason.
 */
let closedCount = 0
let lastClosed = ''
export function failCount (): number { return closedCount }
export function closedBy (): string { return lastClosed }

export function isThenable (v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === 'function'
}
function ignore (): void {}

export class PluginInstance {
  readonly name: string
  readonly version: string
  readonly hooks: PluginHooks
  readonly failClosed: boolean
  readonly timeoutMs: number
  /** False for the stand-ins the control plane compiles against: it never runs plugin code. */
  readonly loaded: boolean
  readonly #sink: FailureSink

  constructor (name: string, version: string, hooks: PluginHooks, failClosed: boolean, timeoutMs: number, sink: FailureSink, loaded = true) {
    this.name = name
    this.version = version
    this.hooks = hooks
    this.failClosed = failClosed
    this.timeoutMs = timeoutMs
    this.#sink = sink
    this.loaded = loaded
  }

  static standIn (name: string): PluginInstance {
    return new PluginInstance(name, '', {}, true, 0, () => {}, false)
  }

  /**
   * Calls `fn` on `self` with (a, b[, c]) for a hook that must be synchronous: its value, or the verdict when it threw
   * or returned a promise (which is not awaited; its rejection is caught, so it cannot end the shard).
   * `fn` is passed with its `this` rather than wrapped in a closure: the request path makes none.
   */
  sync<T, A, B, R, C = undefined> (hook: HookName, fn: (this: T, a: A, b: B, c: C) => R, self: T, a: A, b: B, c?: C): Exclude<R, PromiseLike<unknown>> | Verdict {
    let r: R
    try {
      r = fn.call(self, a, b, c as C)
    } catch (err) {
      return this.verdict(hook, err)
    }
    if (!isThenable(r)) return r as Exclude<R, PromiseLike<unknown>>
    r.then(undefined, ignore)
    return this.verdict(hook, new TypeError(`${hook} must be synchronous; it returned a promise`))
  }

  /** The same for a hook that may answer with a promise (onRequest, route): a promise is returned as it is. */
  call<T, A, R> (hook: HookName, fn: (this: T, a: A) => R, self: T, a: A): R | Verdict {
    try {
      return fn.call(self, a)
    } catch (err) {
      return this.verdict(hook, err)
    }
  }

  /**
   * The one place a failure becomes a verdict: recorded (counted and logged by the sink), then FAIL when the
   * plugin fails closed, SKIP when it fails open. For failures found outside a call (a promise that rejected or
   * timed out, an answer the engine cannot use).
   */
  verdict (hook: HookName, err: unknown): Verdict {
    this.#sink(this.name, hook, err)
    if (!this.failClosed) return SKIP
    closedCount++
    lastClosed = this.name
    return FAIL
  }

  /** Throws at compile time (snapshot build) when the config uses the plugin for a hook it does not have. */
  require (hook: 'match' | 'route' | 'listen'): void {
    if (this.loaded && typeof this.hooks[hook] !== 'function') {
      throw new PilotfishError('PF_ERR_PLUGIN_HOOK', [this.name, hook])
    }
  }
}

/** The plugins of one snapshot, by config name. */
export interface PluginSet {
  get (name: string): PluginInstance | undefined
}

/** A plugin's match hook as a rule condition; a failed hook does not match (the rule table sees a FAIL by failCount). */
export class PluginCondition {
  readonly #plugins: readonly PluginInstance[]
  constructor (plugins: readonly PluginInstance[]) {
    for (const p of plugins) p.require('match')
    this.#plugins = plugins
  }

  test (ctx: RequestCtx): boolean {
    const plugins = this.#plugins
    for (let i = 0; i < plugins.length; i++) {
      const p = plugins[i]!
      // The rule table is always given the engine's request, which is a RoutingRequest (decision/request.ts).
      const r = p.sync('match', p.hooks.match!, p.hooks, ctx as RoutingRequest, undefined)
      if (r === FAIL) return false
      if (r === true) return true
    }
    return false
  }
}

/**
 * A plugin's selector wrapped in containment: a fail-open failure falls back to `next`; a fail-closed one
 * answers null to whoever called (an outer wrapper's code, or the core), and select() below turns it into FAIL.
 */
class ContainedSelector implements Selector {
  readonly #plugin: PluginInstance
  readonly #inner: PluginSelector
  readonly #next: Selector
  constructor (plugin: PluginInstance, inner: PluginSelector, next: Selector) {
    this.#plugin = plugin
    this.#inner = inner
    this.#next = next
  }

  select (ctx: RequestCtx, group: TargetGroup): Target | null {
    const inner = this.#inner
    // The core selects only for its own request object, which is a SelectionRequest (decision/request.ts).
    const t = this.#plugin.sync('wrapSelector', inner.select, inner, ctx as SelectionRequest, group)
    if (t === SKIP) return this.#next.select(ctx, group)
    if (t === FAIL) return null
    return t
  }
}

/** A group's (wrapped) selector asked for a target: null when none is eligible, FAIL when a wrapper failed closed. */
export function select (selector: Selector, ctx: RequestCtx, group: TargetGroup): Target | null | typeof FAIL {
  const before = closedCount
  const t = selector.select(ctx, group)
  return closedCount === before ? t : FAIL
}

/**
 * A plugin's group choice wrapped in containment, as ContainedSelector: a fail-open failure (a throw, or an
 * answer that is not one of the action's groups) falls back to `next`; a fail-closed one answers '' and
 * chooseGroup() turns it into FAIL.
 */
class ContainedChoice implements GroupChoice {
  readonly #plugin: PluginInstance
  readonly #inner: GroupChoice
  readonly #next: GroupChoice
  readonly #names: readonly string[]
  constructor (plugin: PluginInstance, inner: GroupChoice, next: GroupChoice, names: readonly string[]) {
    this.#plugin = plugin
    this.#inner = inner
    this.#next = next
    this.#names = names
  }

  choose (req: SelectionRequest): string {
    const inner = this.#inner
    const p = this.#plugin
    let g = p.sync('wrapGroupChoice', inner.choose, inner, req, undefined)
    if (typeof g === 'string' && !this.#names.includes(g)) {
      g = p.verdict('wrapGroupChoice', new TypeError(`chose ${JSON.stringify(g)}, which is not one of the action's target groups`))
    }
    if (g === SKIP) return this.#next.choose(req)
    if (g === FAIL) return ''
    return g
  }
}

/** A plugin that chooses a forward action's group, with its section of the action (its forwardConfig keys). */
export interface GroupChooser { readonly plugin: PluginInstance, readonly config: unknown }

/** Applies the choosers' wrapGroupChoice hooks in config order: the first is the outermost. */
export function wrapGroupChoice (core: GroupChoice, path: string, groups: ForwardInfo['groups'], choosers: readonly GroupChooser[]): GroupChoice {
  let choice = core
  const names = groups.map((g) => g.name)
  for (let i = choosers.length - 1; i >= 0; i--) {
    const { plugin: p, config } = choosers[i]!
    let inner: GroupChoice
    try {
      inner = p.hooks.wrapGroupChoice!(choice, { path, groups, config })
    } catch (err) {
      p.verdict('wrapGroupChoice', err)
      throw new PilotfishError('PF_ERR_PLUGIN_HOOK_FAILED', [p.name, 'wrapGroupChoice', (err as Error)?.message ?? String(err)], { cause: err })
    }
    choice = new ContainedChoice(p, inner, choice, names)
  }
  return choice
}

/** A forward action's choice of group for `req`, or FAIL when a chooser failed closed. */
export function chooseGroup (choice: GroupChoice, req: SelectionRequest): string | typeof FAIL {
  const before = closedCount
  const g = choice.choose(req)
  return closedCount === before ? g : FAIL
}

/** The rule a request matches from position `from` on, or FAIL when a fail-closed plugin condition failed. */
export function matchRule (rules: RuleSource, ctx: RequestCtx, from: number): Rule | null | typeof FAIL {
  const before = closedCount
  const rule = rules.match(ctx, from)
  return closedCount === before ? rule : FAIL
}

/** The plugins' onForward hooks in order (each plugin given has one): FAIL at the first that failed closed. */
export function runOnForward (plugins: readonly PluginInstance[], req: PluginRequest, target: Target): typeof FAIL | undefined {
  for (let i = 0; i < plugins.length; i++) {
    const p = plugins[i]!
    if (p.sync('onForward', p.hooks.onForward!, p.hooks, req, target) === FAIL) return FAIL
  }
  return undefined
}

/** The same for onResponse hooks, before the response head goes to the client. */
export function runOnResponse (plugins: readonly PluginInstance[], req: PluginRequest, res: PluginResponse): typeof FAIL | undefined {
  for (let i = 0; i < plugins.length; i++) {
    const p = plugins[i]!
    if (p.sync('onResponse', p.hooks.onResponse!, p.hooks, req, res) === FAIL) return FAIL
  }
  return undefined
}

/** Applies the group's plugins' wrapSelector hooks in config order: the first named is the outermost. */
export function wrapSelector (core: Selector, group: TargetGroup, plugins: readonly PluginInstance[]): Selector {
  let selector = core
  for (let i = plugins.length - 1; i >= 0; i--) {
    const p = plugins[i]!
    if (typeof p.hooks.wrapSelector !== 'function') continue
    let inner: PluginSelector
    try {
      inner = p.hooks.wrapSelector(selector, group)
    } catch (err) {
      // Not a request's verdict: a snapshot that cannot be built is refused whatever the fail mode.
      p.verdict('wrapSelector', err)
      throw new PilotfishError('PF_ERR_PLUGIN_HOOK_FAILED', [p.name, 'wrapSelector', (err as Error)?.message ?? String(err)], { cause: err })
    }
    selector = new ContainedSelector(p, inner, selector)
  }
  return selector
}

/**
 * Tells a plugin the groups it serves (onGroups), as a snapshot build does. Not a request's verdict: a throw
 * refuses the build whatever the fail mode, with the plugin's JSON paths when it threw ConfigProblems (then it
 * is the config's problem, not the plugin failing: not counted, not logged).
 */
export function announceGroups (p: PluginInstance, groups: PluginGroup[]): void {
  announce(p, 'onGroups', () => p.hooks.onGroups!(groups))
}

/** A snapshot build's call of a plugin hook (onGroups, onListeners), with announceGroups' error semantics. */
export function announce (p: PluginInstance, hook: 'onGroups' | 'onListeners', call: () => void): void {
  try {
    call()
  } catch (err) {
    const problems = (err as { problems?: unknown }).problems
    if (Array.isArray(problems) && problems.length > 0) throw invalid(problems)
    p.verdict(hook, err)
    throw new PilotfishError('PF_ERR_PLUGIN_HOOK_FAILED', [p.name, hook, (err as Error)?.message ?? String(err)], { cause: err })
  }
}

/**
 * Why setup failed, as the config change's error: a ConfigProblems refuses the config with its paths (the config's
 * problem, as in announceGroups); anything else is the plugin failing.
 */
export function setupFailed (name: string, err: unknown): Error {
  const problems = (err as { problems?: unknown }).problems
  if (Array.isArray(problems) && problems.length > 0) return invalid(problems)
  return new PilotfishError('PF_ERR_PLUGIN_HOOK_FAILED', [name, 'setup', (err as Error)?.message ?? String(err)], { cause: err })
}

/** A target as the config and the control plane leave it, before any targetState answer. */
export interface TargetBase { readonly weight: number, readonly eligible: boolean }

/**
 * The group's plugins' targetState answers folded into its targets, in place, from their bases: any
 * `eligible: false` wins (no plugin brings back a target deregistration took out), the last valid weight wins.
 * A failed hook, in either fail mode, leaves a target as the other answers make it: there is no request to
 * fail, and a health plugin that breaks must not empty the group. True when any target changed.
 */
export function foldTargetState (plugins: readonly PluginInstance[], targets: readonly Target[], base: readonly TargetBase[], group: string): boolean {
  let changed = false
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    let eligible = base[i]!.eligible
    let weight = base[i]!.weight
    for (const p of plugins) {
      const info = { id: t.endpoint.id, host: t.endpoint.host, port: t.endpoint.port, weight }
      const state = p.sync('targetState', p.hooks.targetState!, p.hooks, info, group)
      if (state === SKIP || state === FAIL || state === undefined || state === null) continue
      const w = state.weight
      if (typeof w === 'number' && w > 0 && w <= 1000) weight = w
      if (state.eligible === false) eligible = false
    }
    if (t.eligible !== eligible || t.weight !== weight) {
      t.eligible = eligible
      t.weight = weight
      changed = true
    }
  }
  return changed
}
