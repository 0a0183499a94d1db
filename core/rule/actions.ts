// The three ALB actions [S2] compiled once per snapshot: forward picks a group, redirect builds a Location,
// fixed-response holds its body as a Buffer ready to write. A plugin action hands the decision to a route hook.
import type { RequestCtx } from '../pipeline.ts'
import type {
  ActionConfig, FixedResponseActionConfig, ForwardActionConfig, RedirectActionConfig,
} from '../../schemas/sidecar.schema.ts'
import type { Action, FixedResponseAction, ForwardAction, PluginAction, RedirectAction } from './rule-table.ts'
import type { GroupChoice } from '../plugin-api.ts'
import { wrapGroupChoice, type GroupChooser, type PluginInstance, type PluginSet } from '../plugin/instance.ts'
import { pluginOf } from './conditions.ts'
import { RedirectTemplate } from './redirect.ts'
import { fixedReplyHead } from '../forwarder/local-reply.ts'

/** The plugins that choose a forward action's group (wrapGroupChoice), by the action's JSON pointer. */
export type ForwardChoosers = (path: string) => readonly GroupChooser[]
export const NO_CHOOSERS: ForwardChoosers = () => []

/**
 * The core's weighted choice among the groups with weight > 0 (ALB: weights 0–999 per group [S2]):
 *
 *   groups  [a, b, c]   weights [1, 0, 3]   → choices [a, c]   cumulative [1, 4]
 *   r = random() * 4:   r < 1 → a,   1 ≤ r < 4 → c
 */
class WeightedChoice implements GroupChoice {
  readonly #choices: string[] = []
  readonly #cumulative: number[] = []
  readonly #total: number

  constructor (groups: readonly string[], weights: readonly number[]) {
    let total = 0
    for (let i = 0; i < groups.length; i++) {
      if (weights[i]! === 0) continue
      total += weights[i]!
      this.#choices.push(groups[i]!)
      this.#cumulative.push(total)
    }
    // validateConfig rejects all-zero weights; the first group is the fallback should a snapshot carry them.
    if (this.#choices.length === 0) this.#choices.push(groups[0]!)
    this.#total = total
  }

  choose (): string {
    const n = this.#choices.length
    if (n === 1) return this.#choices[0]!
    const r = Math.random() * this.#total
    for (let i = 0; i < n - 1; i++) if (r < this.#cumulative[i]!) return this.#choices[i]!
    return this.#choices[n - 1]!
  }
}

/** A forward action: the core's weighted choice, wrapped by the plugins whose forwardConfig keys it sets. */
export class Forward implements ForwardAction {
  readonly type = 'forward'
  readonly groups: readonly string[]
  readonly weights: readonly number[]
  readonly choice: GroupChoice

  constructor (config: Pick<ForwardActionConfig, 'targetGroups'>, path = '', choosers: readonly GroupChooser[] = []) {
    const groups = config.targetGroups.map((g) => ({ name: g.name, weight: g.weight ?? 1 }))
    this.groups = groups.map((g) => g.name)
    this.weights = groups.map((g) => g.weight)
    const core = new WeightedChoice(this.groups, this.weights)
    this.choice = choosers.length === 0 ? core : wrapGroupChoice(core, path, groups, choosers)
  }
}

class Redirect implements RedirectAction {
  readonly type = 'redirect'
  readonly statusCode: number
  readonly #template: RedirectTemplate
  constructor (config: RedirectActionConfig) {
    this.statusCode = config.statusCode
    this.#template = new RedirectTemplate(config)
  }
  location (ctx: RequestCtx): string { return this.#template.location(ctx) }
}

class FixedResponse implements FixedResponseAction {
  readonly type = 'fixed-response'
  readonly statusCode: number
  readonly contentType: string
  readonly body: Buffer
  readonly head: string
  constructor (config: FixedResponseActionConfig) {
    this.statusCode = config.statusCode
    this.contentType = config.contentType
    this.body = Buffer.from(config.body, 'utf8')
    this.head = fixedReplyHead(this.statusCode, this.contentType, this.body.length)
  }
}

class PluginRoute implements PluginAction {
  readonly type = 'plugin'
  readonly plugin: PluginInstance
  constructor (plugin: PluginInstance) {
    plugin.require('route')
    this.plugin = plugin
  }
}

/** `path`: the action's JSON pointer, by which its group choosers are found. */
export function compileAction (config: ActionConfig, plugins: PluginSet, path = '', choosers: ForwardChoosers = NO_CHOOSERS): Action {
  switch (config.type) {
    case 'forward': return new Forward(config, path, choosers(path))
    case 'redirect': return new Redirect(config)
    case 'fixed-response': return new FixedResponse(config)
    case 'plugin': return new PluginRoute(pluginOf(plugins, config.plugin))
  }
}
