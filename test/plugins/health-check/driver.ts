// A hand-made sidecar for the health-check plugin's tests: N shards' instances of the definition, wired as the
// core wires them (publish → every shard's onState and the last state kept for later instances; sendToLeader →
// the leader's onMessage; both delivered asynchronously) and the reports recorded. env.now() is Date.now(): the
// tests run under vitest's fake timers, so the clock the plugin reads and its timers move together.
// It folds targetState answers as the core does (any ineligible wins, a valid weight replaces).
import type { PluginEnv, PluginGroup, PluginHooks, TargetInfo, TargetReport, EndedRequest, PluginRequest, Target, TargetFailure } from '../../../core/plugin-api.ts'
import { Outcome } from '../../../core/plugin-runtime.ts'
import { PluginCounters } from '../../../core/plugin/counters.ts'
import plugin from '../../../plugins/health-check/index.ts'
import type { GroupSection } from '../../../plugins/health-check/schema.ts'
import type { ProbeRequest } from '../../../plugins/health-check/probe.task.ts'
import type { ProbeResult } from '../../../plugins/health-check/health.ts'
import { groupSectionSchema } from '../../../plugins/health-check/schema.ts'
import { ajv } from '../../../schemas/compile.ts'

const validateSection = ajv.compile(groupSectionSchema)

/** A group's section as the core hands it to onGroups: validated against targetGroupConfig, defaults filled. */
export function section (raw: Record<string, unknown> = {}): GroupSection {
  const copy = structuredClone(raw)
  if (!validateSection(copy)) throw new Error(JSON.stringify(validateSection.errors))
  return copy as GroupSection
}

export interface DriverGroup {
  name: string
  targets: Array<{ host: string, port: number, weight?: number }>
  /** The group's section as the core hands it: validated, defaults filled (see sections.ts). */
  config: GroupSection
}

export interface Report extends TargetReport { group: string, target: string, at: number }

export type ProbeFn = (req: ProbeRequest) => Promise<ProbeResult>

export interface Shard {
  readonly index: number
  hooks: PluginHooks
  refreshes: number
  /** The shard's counters (env.counter), as a shard keeps them across instances. */
  readonly counters: PluginCounters
}

export class Driver {
  readonly reports: Report[] = []
  readonly shards: Shard[] = []
  probes: ProbeRequest[] = []
  groups: DriverGroup[] = []
  lastState: unknown = undefined
  #probe: ProbeFn
  #generation: number

  constructor (opts: { shards?: number, probe: ProbeFn, generation?: number }) {
    this.#probe = opts.probe
    this.#generation = opts.generation ?? 1
    for (let i = 0; i < (opts.shards ?? 1); i++) this.shards.push({ index: i, hooks: {}, refreshes: 0, counters: new PluginCounters() })
  }

  /**
   * Runs setup in every shard (or only in `only`: a replaced shard), then hands the last state, then the groups
   * (or the groups first: the order is the core's business, and the plugin must take either).
   */
  async start (groups: DriverGroup[], only?: number, stateAfterGroups = false): Promise<void> {
    this.groups = groups
    for (const s of this.shards) {
      if (only !== undefined && s.index !== only) continue
      s.hooks = await plugin.setup({}, this.#env(s))
      if (this.lastState !== undefined && !stateAfterGroups) s.hooks.onState?.(structuredClone(this.lastState))
      s.hooks.onGroups?.(this.pluginGroups())
      if (this.lastState !== undefined && stateAfterGroups) s.hooks.onState?.(structuredClone(this.lastState))
    }
  }

  /** A new snapshot (config change, registration, maintenance): every shard's onGroups. */
  setGroups (groups: DriverGroup[]): void {
    this.groups = groups
    for (const s of this.shards) s.hooks.onGroups?.(this.pluginGroups())
  }

  pluginGroups (): Array<PluginGroup<GroupSection>> {
    return this.groups.map((g, i) => ({
      name: g.name,
      path: `/targetGroups/${i}`,
      config: g.config,
      targets: g.targets.map((t): TargetInfo => ({ id: `${t.host}:${t.port}`, host: t.host, port: t.port, weight: t.weight ?? 1 })),
    }))
  }

  /** The targets of a group as a shard's snapshot would have them, targetState folded in. */
  view (group: string, shard = 0): Array<{ id: string, eligible: boolean, weight: number }> {
    const g = this.pluginGroups().find((x) => x.name === group)!
    const hooks = this.shards[shard]!.hooks
    return g.targets.map((t) => {
      const a = hooks.targetState?.(t, group)
      const weight = a?.weight !== undefined && a.weight > 0 && a.weight <= 1000 ? a.weight : t.weight
      return { id: t.id, eligible: a?.eligible !== false, weight }
    })
  }

  eligible (group: string, shard = 0): string[] {
    return this.view(group, shard).filter((t) => t.eligible).map((t) => t.id)
  }

  /** The last state reported for each target of a group. */
  states (group: string): Record<string, string> {
    const out: Record<string, string> = {}
    for (const r of this.reports) if (r.group === group) out[r.target] = r.reason ? `${r.state} ${r.reason}` : r.state
    return out
  }

  /** A request to `target` through `shard` that ended with `status` from the target. */
  respond (shard: number, group: string, target: string, status: number, outcome: Outcome = Outcome.Ok): void {
    this.shards[shard]!.hooks.onRequestEnd?.(ended(group, target, status, outcome))
  }

  fail (shard: number, group: string, target: string, failure: TargetFailure = 'connect-refused'): void {
    const req = ended(group, target, 0, Outcome.ConnectFailed)
    this.shards[shard]!.hooks.onTargetFailure?.(req, req.target!, failure)
  }

  async close (): Promise<void> {
    for (const s of this.shards) await s.hooks.close?.()
  }

  /** The env a shard's instance gets. */
  shardEnv (index: number): PluginEnv {
    return this.#env(this.shards[index]!)
  }

  #env (s: Shard): PluginEnv {
    const driver = this
    return {
      name: 'health-check',
      configPath: '/plugins/0/config',
      configDir: process.cwd(),
      shard: s.index,
      generation: this.#generation,
      leader: s.index === 0,
      log () {},
      runTask (name, data) {
        if (name !== 'probe') return Promise.reject(new Error(`no task ${name}`))
        driver.probes.push(data as ProbeRequest)
        return driver.#probe(data as ProbeRequest)
      },
      publish (state) {
        const copy = structuredClone(state) // as postMessage does, at once
        driver.lastState = copy
        queueMicrotask(() => { for (const t of driver.shards) t.hooks.onState?.(structuredClone(copy)) })
      },
      refreshTargets () { s.refreshes++ },
      now: () => Date.now(),
      sendToLeader (message) {
        const copy = structuredClone(message)
        queueMicrotask(() => driver.shards[0]!.hooks.onMessage?.(copy, s.index))
      },
      reportTarget (group, targetId, report) {
        driver.reports.push({ group, target: targetId, ...report, at: Date.now() })
      },
      counter: (name, help, labelNames) => s.counters.declare(name, help, labelNames),
    }
  }
}

function ended (group: string, target: string, status: number, outcome: Outcome): EndedRequest {
  const at = target.lastIndexOf(':')
  const t: Target = { endpoint: { id: target, host: target.slice(0, at), port: Number(target.slice(at + 1)), inFlight: 0 }, weight: 1, eligible: true }
  // Only the fields the hooks read; the rest of a request is not this plugin's business.
  return { groupName: group, target: t, status, outcome, reason: '', durationMs: 1 } as unknown as EndedRequest & PluginRequest
}
