// A listener's rules compiled once per config snapshot: match() tries them in priority order, first match wins,
// and the default action answers when none does (ALB listener rules [S1]).
import type { RequestCtx } from '../pipeline.ts'
import type { GroupChoice } from '../plugin-api.ts'
import type { ListenerConfig } from '../../schemas/sidecar.schema.ts'
import { compileConditions, MatchScratch, type Condition } from './conditions.ts'
import { compileAction, NO_CHOOSERS, type ForwardChoosers } from './actions.ts'
import { failCount, type PluginInstance, type PluginSet } from '../plugin/instance.ts'

export interface ForwardAction {
  readonly type: 'forward'
  /** Every group the action names, in config order, with its weight (0 = named but never picked). */
  readonly groups: readonly string[]
  readonly weights: readonly number[]
  /** Weighted random over the groups with weight > 0 (one such group: that one, no random call), as plugins wrap it. */
  readonly choice: GroupChoice
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

/**
 * What the decision stage matches against: a listener's RuleTable, or the plugin harness's stand-in. null
 * means no rule and no default action (only the harness, for a request given no `forwardTo`).
 */
export interface RuleSource {
  /** Rules in evaluation order, the default rule not included. */
  readonly rules: readonly Rule[]
  match (ctx: RequestCtx, from: number): Rule | null
}

const NO_PLUGINS: PluginSet = new Map()

interface CompiledRule {
  readonly rule: Rule
  readonly conditions: readonly Condition[]
}

export class RuleTable implements RuleSource {
  /** Rules in evaluation order (lowest priority first), the default rule not included. */
  readonly rules: readonly Rule[]
  readonly defaultRule: Rule
  readonly #compiled: readonly CompiledRule[]
  /** Shared by every match: a shard matches one request at a time, synchronously. */
  readonly #scratch = new MatchScratch()

  /** `at`: the listener's JSON pointer ('/listeners/0'), for its forward actions' group choosers. */
  constructor (listener: ListenerConfig, plugins: PluginSet = NO_PLUGINS, at = '', choosers: ForwardChoosers = NO_CHOOSERS) {
    const sorted = listener.rules.map((r, i) => ({ r, path: `${at}/rules/${i}/action` })).sort((a, b) => a.r.priority - b.r.priority)
    this.#compiled = sorted.map(({ r, path }, index) => ({
      rule: { name: r.name ?? `priority-${r.priority}`, priority: r.priority, index, action: compileAction(r.action, plugins, path, choosers) },
      conditions: compileConditions(r.conditions, plugins),
    }))
    this.rules = this.#compiled.map((c) => c.rule)
    const action = compileAction(listener.defaultAction, plugins, `${at}/defaultAction`, choosers)
    this.defaultRule = { name: 'default', priority: Infinity, index: sorted.length, action }
  }

  /**
   * The first rule from position `from` on whose conditions all hold, else the default rule: never null. When a
   * fail-closed plugin condition failed, no rule is tried after it; the caller sees that in failCount() (the
   * request gets 500, plugin/instance.ts), and matchRule() (plugin/instance.ts) says it as FAIL.
   */
  match (ctx: RequestCtx, from = 0): Rule {
    const scratch = this.#scratch
    scratch.reset()
    const compiled = this.#compiled
    const failures = failCount()
    for (let i = from; i < compiled.length; i++) {
      const conditions = compiled[i]!.conditions
      let ok = true
      for (let j = 0; j < conditions.length; j++) {
        if (!conditions[j]!.test(ctx, scratch)) { ok = false; break }
      }
      if (ok || failCount() !== failures) return compiled[i]!.rule
    }
    return this.defaultRule
  }
}
