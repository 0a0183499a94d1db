// The built-in stickiness plugin: ALB's sticky sessions with signed cookies, for every target group with a
// `stickiness` section (lb_cookie, app_cookie) and every forward action with `stickiness: { enabled: true }`.
//
//   group stickiness   StickySelector wraps the group's selector: the cookie's target, or the algorithm and a new cookie
//   app_cookie         writeCompanion on the response: a companion cookie following the application's own
//   forward action     StickyGroupChoice wraps the weighted choice: the cookie's group, or the weights and a new cookie
//
// A cookie is signed with the first of `stickiness.keys` and read with any of them, and names its target by a
// keyed token: every shard and every replica with the same keys honours every other's cookies, with no store.
import type { PluginDefinition, PluginHooks } from '../../core/plugin-api.ts'
import { configProblems, Signer } from '../../core/plugin-runtime.ts'
import { writeCompanion } from './companion.ts'
import { StickyGroupChoice } from './group-choice.ts'
import { configSchema, forwardSectionSchema, groupSectionSchema, signingKeys, type ForwardSection, type GroupSection } from './schema.ts'
import { StickyGroup } from './sticky-group.ts'
import { StickySelector } from './sticky-selector.ts'

export default {
  name: 'stickiness',
  version: '1.0.0',
  configSchema,
  targetGroupConfig: groupSectionSchema,
  forwardConfig: forwardSectionSchema,
  setup (config, env) {
    const { keys, problems } = signingKeys(config, env.configPath)
    if (problems.length > 0) throw configProblems(problems)
    const signer = new Signer(keys)
    const counter = env.counter('pilotfish_stickiness_cookies_total',
      'Sticky-session cookies read, by target group, cookie and result (honoured, new, expired, invalid, target_gone)',
      ['group', 'cookie', 'result'])
    const now = (): number => env.now()
    let groups = new Map<string, StickyGroup>()

    const hooks: PluginHooks<GroupSection, ForwardSection> = {
      onGroups (next) {
        const out = new Map<string, StickyGroup>()
        for (const g of next) {
          const s = g.config.stickiness
          if (s === undefined) continue
          // Kept while its section is unchanged: its verified cookies and its targets' tokens carry over.
          const was = groups.get(g.name)
          const sticky = was !== undefined && JSON.stringify(was.settings) === JSON.stringify(s) ? was : new StickyGroup(g.name, s, signer, counter)
          sticky.retain(new Set(g.targets.map((t) => t.id)))
          out.set(g.name, sticky)
        }
        groups = out
      },
      wrapSelector (next, group) {
        const sticky = groups.get(group.name)
        return sticky === undefined ? next : new StickySelector(next, group, sticky, now)
      },
      wrapGroupChoice (next, forward) {
        return forward.config.stickiness?.enabled === true ? new StickyGroupChoice(next, forward, signer, counter, now) : next
      },
      onResponse (req, res) {
        const sticky = groups.get(req.groupName)
        if (sticky !== undefined && sticky.app) writeCompanion(sticky, req, res, env.now())
      },
    }
    return hooks
  },
} satisfies PluginDefinition<typeof configSchema>
