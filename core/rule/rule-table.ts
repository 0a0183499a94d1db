// A listener's rules compiled once per config snapshot: match() tries them in priority order, first match wins,
// and the default action answers when none does (ALB listener rules [S1]).
import type { RequestCtx } from '../pipeline.ts'
import type { ListenerConfig } from '../../schemas/sidecar.schema.ts'
import { compileConditions, MatchScratch, type Condition } from './conditions.ts'
import { compileAction } from './actions.ts'
import type { PluginInstance, PluginSet } from '../plugin/instance.ts'

export interface ForwardAction {
  readonly type: 'forward'
  /** Every group the action names, in config order, with its weight (0 = named but never picked). */
  readonly groups: readonly string[]
  readonly weights: readonly number[]
  /** Weighted random over the groups with weight > 0; with one such group, that group and no random call. */
  pick (): string
}

export interface RedirectAction {
  readonly type: 'redirect'
  readonly statusCode: number
  /** The Location value for this request. */
  location (ctx: RequestCtx): string
}

export interface FixedResponseAction {
  readonly type: 'fixed-response'
  readonly statusCode: number
  readonly contentType: string
  readonly body: Buffer
  /** Status line and fields, built once per snapshot; the connection field and the blank line follow. */
  readonly head: string
}

/** A plugin's route hook decides (core/plugin-api.ts Route); no decision moves on to the next rule. */
export interface PluginAction {
  readonly type: 'plugin'
  readonly plugin: PluginInstance
}

export type Action = ForwardAction | RedirectAction | FixedResponseAction | PluginAction

export interface Rule {
  /** The config's name, else `priority-<n>`; 'default' for the default action. */
  readonly name: string
  /** Infinity for the default action. */
  readonly priority: number
  /** Position in evaluation order (the default rule comes last): where matching resumes after it. */
  readonly index: number
  readonly action: Action
}

const NO_PLUGINS: PluginSet = new Map()

interface CompiledRule {
  readonly rule: Rule
  readonly conditions: readonly Condition[]
}

export class RuleTable {
  /** Rules in evaluation order (lowest priority first), the default rule not included. */
  readonly rules: readonly Rule[]
  readonly defaultRule: Rule
  readonly #compiled: readonly CompiledRule[]
  /** Shared by every match: a shard matches one request at a time, synchronously. */
  readonly #scratch = new MatchScratch()

  constructor (listener: ListenerConfig, plugins: PluginSet = NO_PLUGINS) {
    const sorted = [...listener.rules].sort((a, b) => a.priority - b.priority)
    this.#compiled = sorted.map((r, index) => ({
      rule: { name: r.name ?? `priority-${r.priority}`, priority: r.priority, index, action: compileAction(r.action, plugins) },
      conditions: compileConditions(r.conditions, plugins),
    }))
    this.rules = this.#compiled.map((c) => c.rule)
    this.defaultRule = { name: 'default', priority: Infinity, index: sorted.length, action: compileAction(listener.defaultAction, plugins) }
  }

  /**
   * The first rule from position `from` on whose conditions all hold, else the default rule: never null. May
   * throw a HookFailure (plugin/instance.ts) when a fail-closed plugin condition failed.
   */
  match (ctx: RequestCtx, from = 0): Rule {
    const scratch = this.#scratch
    scratch.reset()
    const compiled = this.#compiled
    for (let i = from; i < compiled.length; i++) {
      const conditions = compiled[i]!.conditions
      let ok = true
      for (let j = 0; j < conditions.length; j++) {
        if (!conditions[j]!.test(ctx, scratch)) { ok = false; break }
      }
      if (ok) return compiled[i]!.rule
    }
    return this.defaultRule
  }
}
