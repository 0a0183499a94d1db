// A plugin as the core calls it: its hooks, and how a failing hook is contained (STYLE 14).
//
// Call sites in the core hold one try/catch each. A hook that throws is recorded here (counted and logged by the
// shard), then either fails its request with 500 (fail-closed) or is skipped as if it had no opinion (fail-open).
import { PilotfishError } from '../errors.ts'
import type { PluginHooks, PluginRequest, PluginResponse, RequestCtx, RoutingRequest, Selector, Target, TargetGroup } from '../plugin-api.ts'

export type HookName = 'setup' | 'onRequest' | 'match' | 'route' | 'wrapSelector' | 'onForward' | 'onResponse' | 'targetState' | 'onState' | 'listen' | 'close'

/** Where failures go: the shard counts them per plugin and hook (`pilotfish_plugin_errors_total`) and logs. */
export type FailureSink = (plugin: string, hook: HookName, err: unknown) => void

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

  /** Records a failure; true when the request must fail (fail-closed), false to carry on without the plugin. */
  failed (hook: HookName, err: unknown): boolean {
    this.#sink(this.name, hook, err)
    return this.failClosed
  }

  /**
   * For hooks that must be synchronous: true when `result` is a promise, which is not awaited and counts as a
   * failure of the hook (the caller then fails the request if failClosed, else goes on without the answer). Its
   * rejection is caught here, so that it can never become an unhandled rejection that ends the shard.
   */
  stray (hook: HookName, result: unknown): boolean {
    if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') return false
    ;(result as Promise<unknown>).then(undefined, () => {})
    this.failed(hook, new TypeError(`${hook} must be synchronous; it returned a promise`))
    return true
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

/** Thrown through rule matching and selection when a fail-closed plugin's hook failed: the request gets 500. */
export class HookFailure {
  readonly plugin: string
  constructor (plugin: string) { this.plugin = plugin }
}

/** A plugin's match hook as a rule condition. */
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
      let r: unknown
      try {
        // The rule table is always given the engine's request, which is a RoutingRequest (exchange.ts).
        r = p.hooks.match!(ctx as RoutingRequest)
      } catch (err) {
        if (p.failed('match', err)) throw new HookFailure(p.name)
        continue
      }
      if (p.stray('match', r) && p.failClosed) throw new HookFailure(p.name)
      if (r === true) return true
    }
    return false
  }
}

/** A plugin's selector wrapped in containment: a throw fails the request (closed) or falls back to `next`. */
class ContainedSelector implements Selector {
  readonly #plugin: PluginInstance
  readonly #inner: Selector
  readonly #next: Selector
  constructor (plugin: PluginInstance, inner: Selector, next: Selector) {
    this.#plugin = plugin
    this.#inner = inner
    this.#next = next
  }

  select (ctx: RequestCtx, group: TargetGroup): Target | null {
    const p = this.#plugin
    let t: Target | null
    try {
      t = this.#inner.select(ctx, group)
    } catch (err) {
      if (p.failed('wrapSelector', err)) throw new HookFailure(p.name)
      return this.#next.select(ctx, group)
    }
    if (!p.stray('wrapSelector', t)) return t
    if (p.failClosed) throw new HookFailure(p.name)
    return this.#next.select(ctx, group)
  }
}

/**
 * The plugins' onForward hooks in order (each plugin given has one). Returns the first that failed closed (the
 * request gets 500), else null; a fail-open failure is counted and the next plugin runs.
 */
export function runOnForward (plugins: readonly PluginInstance[], req: PluginRequest, target: Target): PluginInstance | null {
  for (let i = 0; i < plugins.length; i++) {
    const p = plugins[i]!
    try {
      if (p.stray('onForward', p.hooks.onForward!(req, target)) && p.failClosed) return p
    } catch (err) {
      if (p.failed('onForward', err)) return p
    }
  }
  return null
}

/** The same for onResponse hooks, before the response head goes to the client. */
export function runOnResponse (plugins: readonly PluginInstance[], req: PluginRequest, res: PluginResponse): PluginInstance | null {
  for (let i = 0; i < plugins.length; i++) {
    const p = plugins[i]!
    try {
      if (p.stray('onResponse', p.hooks.onResponse!(req, res)) && p.failClosed) return p
    } catch (err) {
      if (p.failed('onResponse', err)) return p
    }
  }
  return null
}

/** Applies the group's plugins' wrapSelector hooks in config order: the first named is the outermost. */
export function wrapSelector (core: Selector, group: TargetGroup, plugins: readonly PluginInstance[]): Selector {
  let selector = core
  for (let i = plugins.length - 1; i >= 0; i--) {
    const p = plugins[i]!
    if (typeof p.hooks.wrapSelector !== 'function') continue
    let inner: Selector
    try {
      inner = p.hooks.wrapSelector(selector, group)
    } catch (err) {
      p.failed('wrapSelector', err)
      throw new PilotfishError('PF_ERR_PLUGIN_HOOK_FAILED', [p.name, 'wrapSelector', (err as Error)?.message ?? String(err)], { cause: err })
    }
    selector = new ContainedSelector(p, inner, selector)
  }
  return selector
}

/** A plugin's targetState answers folded into the targets (a throwing hook leaves the targets as they were). */
export function applyTargetState (p: PluginInstance, targets: Target[], group: string): void {
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    let state
    try {
      state = p.hooks.targetState!({ id: t.endpoint.id, host: t.endpoint.host, port: t.endpoint.port, weight: t.weight }, group)
    } catch (err) {
      p.failed('targetState', err)
      continue
    }
    if (p.stray('targetState', state)) continue
    if (state === undefined || state === null) continue
    const w = state.weight
    const weight = typeof w === 'number' && Number.isInteger(w) && w >= 1 && w <= 1000 ? w : t.weight
    targets[i] = { endpoint: t.endpoint, weight, eligible: t.eligible && state.eligible !== false }
  }
}

