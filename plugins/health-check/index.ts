// The built-in health-check plugin: ALB's active health checks, Envoy's passive outlier detection, fail-open and
// slow start, for every target group with a healthCheck or outlierDetection section or slowStartSeconds > 0.
//
//   leader shard: Leader (probes in the pool, merges observations, ejects, reports) ──publish──┐
//   every shard:  Observer (its own traffic) ──sendToLeader──► Leader                          │
//                 Eligibility (targetState answers) ◄── onState ◄──────────────────────────────┘
import { randomUUID } from 'node:crypto'
import type { PluginDefinition, PluginGroup, PluginHooks } from '../../core/plugin-api.ts'
import { configProblems, Outcome } from '../../core/plugin-runtime.ts'
import { Eligibility } from './eligibility.ts'
import { Leader } from './leader.ts'
import { Observer } from './observer.ts'
import { configSchema, groupSectionSchema, sectionProblems, type GroupSection } from './schema.ts'
import { RampTicker } from './slow-start.ts'
import { readMessage, readState, type PublishedState } from './state.ts'

export default {
  name: 'health-check',
  version: '1.0.0',
  configSchema,
  targetGroupConfig: groupSectionSchema,
  tasks: { probe: new URL('./probe.task.ts', import.meta.url) },
  setup (_config, env) {
    const instance = randomUUID()
    const view = new Eligibility()
    const leader = env.leader ? new Leader(env, instance) : null
    let groups: ReadonlyArray<PluginGroup<GroupSection>> = []
    let state: PublishedState | null = null
    let newestGen = -1
    // The request path reads this first: groups without outlierDetection cost one comparison per request.
    let watching = false

    const observer = new Observer(env.shard, instance, (m) => env.sendToLeader(m), () => answersMayHaveChanged(), () => env.now())
    const ramp = new RampTicker(() => env.refreshTargets(), () => view.ramping(env.now()))

    function update (): boolean {
      const changed = view.update(groups, state, (g, id) => observer.locallyEjected(g, id))
      ramp.update()
      return changed
    }
    function answersMayHaveChanged (): void {
      if (update()) env.refreshTargets()
    }

    const hooks: PluginHooks<GroupSection> = {
      // The core validated each group's section against targetGroupConfig (defaults filled) before this.
      onGroups (next) {
        const problems = next.flatMap((g) => sectionProblems(g.path, g.config))
        if (problems.length > 0) throw configProblems(problems)
        groups = next
        watching = next.some((g) => g.config.outlierDetection !== undefined)
        observer.setGroups(next.flatMap((g) => g.config.outlierDetection === undefined
          ? []
          : [{ name: g.name, cfg: g.config.outlierDetection, targetIds: g.targets.map((t) => t.id) }]))
        leader?.setGroups(next)
        update() // the snapshot being built asks targetState next: no refresh needed
      },
      onState (raw) {
        const s = readState(raw)
        // A retiring generation's leader may still publish: the newest generation's state wins.
        if (s === null || s.gen < newestGen) return
        newestGen = s.gen
        if (s.id !== instance) leader?.resume(s)
        state = s
        observer.onPublished(s)
        answersMayHaveChanged()
      },
      onMessage (raw, fromShard) {
        const m = readMessage(raw)
        if (m !== null) leader?.observe(m, fromShard)
      },
      targetState (target, group) {
        return view.answer(target, group, env.now())
      },
      onRequestEnd (req) {
        // Only what the target said counts: a client that went away, or Pilotfish's own answer, says nothing of it.
        if (!watching || req.outcome !== Outcome.Ok || req.target === null) return
        if (req.status >= 500) observer.failure(req.groupName, req.target.endpoint.id)
        else observer.success(req.groupName, req.target.endpoint.id)
      },
      onTargetFailure (req, target) {
        if (watching) observer.failure(req.groupName, target.endpoint.id)
      },
      close () {
        leader?.close()
        observer.close()
        ramp.close()
      },
    }
    return hooks
  },
} satisfies PluginDefinition<typeof configSchema>
