// A target group as a shard runs it for one snapshot: its targets, its selector (wrapped by its plugins), the
// plugins' per-request hooks, and the in-place refresh that env.refreshTargets() asks for.
//
// A health flip changes one group's targets in place (eligible, weight) and tells its core selector, instead
// of rebuilding the snapshot: a flapping target must not reset every round robin and every hash ring.
import type { Endpoint, Selector, SelectorFactory, Target, TargetGroup } from './pipeline.ts'
import type { TargetInfo } from './plugin-api.ts'
import type { GroupRuntime } from './runtime.ts'
import { foldTargetState, wrapSelector, type PluginInstance, type TargetBase } from './plugin/instance.ts'

/** A target of the group as the config and the control plane leave it (draining, maintenance: not eligible). */
export interface GroupMember extends TargetBase { readonly endpoint: Endpoint }

/** The members that take part, as a plugin that serves the group sees them (onGroups): eligible at the base. */
export function takingPart (members: readonly GroupMember[]): TargetInfo[] {
  return members.filter((m) => m.eligible).map((m) => ({ id: m.endpoint.id, host: m.endpoint.host, port: m.endpoint.port, weight: m.weight }))
}

type GroupHook = 'onForward' | 'onResponse' | 'onRequestEnd' | 'onTargetFailure'

export class TargetGroupRuntime implements GroupRuntime {
  readonly group: TargetGroup
  readonly selector: Selector
  readonly responseTimeoutMs: number
  readonly onForward: readonly PluginInstance[]
  readonly onResponse: readonly PluginInstance[]
  readonly onRequestEnd: readonly PluginInstance[]
  readonly onTargetFailure: readonly PluginInstance[]
  readonly #core: Selector
  readonly #base: readonly TargetBase[]
  /** The group's plugins with a targetState hook, in config order. */
  readonly #state: readonly PluginInstance[]

  /** `plugins`: the group's plugins in config order (the first named wraps the selector outermost). */
  constructor (name: string, members: readonly GroupMember[], plugins: readonly PluginInstance[], factory: SelectorFactory, responseTimeoutMs: number) {
    const targets: Target[] = members.map((m) => ({ endpoint: m.endpoint, weight: m.weight, eligible: m.eligible }))
    this.#base = members.map((m) => ({ weight: m.weight, eligible: m.eligible }))
    this.#state = plugins.filter((p) => typeof p.hooks.targetState === 'function')
    if (this.#state.length > 0) foldTargetState(this.#state, targets, this.#base, name)
    this.group = { name, targets }
    this.#core = factory(this.group)
    this.selector = wrapSelector(this.#core, this.group, plugins)
    this.responseTimeoutMs = responseTimeoutMs
    const has = (hook: GroupHook): PluginInstance[] => plugins.filter((p) => typeof p.hooks[hook] === 'function')
    this.onForward = has('onForward')
    this.onResponse = has('onResponse')
    this.onRequestEnd = has('onRequestEnd')
    this.onTargetFailure = has('onTargetFailure')
  }

  /** Asks the targetState hooks again; the targets change in place and the core selector is told. */
  refresh (): void {
    if (this.#state.length === 0) return
    if (foldTargetState(this.#state, this.group.targets, this.#base, this.group.name)) this.#core.refresh?.()
  }
}
