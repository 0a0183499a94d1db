// Target registration (ALB RegisterTargets / DeregisterTargets): config changes on the running target lists, the
// draining of deregistered targets until they are idle in every shard or their delay is over, and maintenance
// (a registered target out of rotation, draining the same way, until the operator brings it back).
import { PilotfishError } from '../../core/errors.ts'
import { endpointId } from '../../core/forwarder/target-pool.ts'
import type { TargetGroupStatus, TargetStatus } from '../../schemas/admin.schema.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { validateConfig } from '../../schemas/validate.ts'
import type { ConfigPublisher } from './publisher.ts'
import type { ShardPool } from './shards.ts'
import { TargetHealth } from './target-health.ts'

/** How often draining targets are checked while any are draining. */
const SWEEP_MS = 250


export class TargetRegistry {
  readonly #publisher: ConfigPublisher
  readonly #shards: ShardPool
  readonly health = new TargetHealth()
  #sweeper: NodeJS.Timeout | null = null

  constructor (publisher: ConfigPublisher, shards: ShardPool) {
    this.#publisher = publisher
    this.#shards = shards
    shards.onTargetReport = (m) => this.health.report(m)
    publisher.onPublished = () => this.health.update(publisher.config, publisher.draining, publisher.maintenance, shards.usedGroups)
  }

  #group (name: string): SidecarConfig['targetGroups'][number] {
    const g = this.#publisher.config.targetGroups.find((x) => x.name === name)
    if (g === undefined) throw new PilotfishError('PF_ERR_TARGET_GROUP_UNKNOWN', [name])
    return g
  }

  register (groupName: string, host: string, port: number, weight: number): Promise<void> {
    const p = this.#publisher
    return p.serial(async () => {
      const g = this.#group(groupName)
      if (g.targets.some((t) => t.host === host && t.port === port)) {
        throw new PilotfishError('PF_ERR_TARGET_EXISTS', [endpointId(host, port), groupName])
      }
      const next = structuredClone(p.config)
      next.targetGroups.find((x) => x.name === groupName)!.targets.push({ host, port, weight })
      await p.publish(validateConfig(next), { draining: p.draining.filter((d) => !(d.group === groupName && d.host === host && d.port === port)) })
    })
  }

  /**
   * Deregisters a target: it stops getting new requests at once, keeps its in-flight ones, and leaves the
   * group when they are done or the group's deregistration delay is over (ALB semantics).
   */
  deregister (groupName: string, host: string, port: number): Promise<void> {
    const p = this.#publisher
    return p.serial(async () => {
      const g = this.#group(groupName)
      const t = g.targets.find((x) => x.host === host && x.port === port)
      if (t === undefined) throw new PilotfishError('PF_ERR_TARGET_UNKNOWN', [endpointId(host, port), groupName])
      const next = structuredClone(p.config)
      const ng = next.targetGroups.find((x) => x.name === groupName)!
      ng.targets = ng.targets.filter((x) => !(x.host === host && x.port === port))
      const draining = g.deregistrationDelaySeconds > 0
        ? [...p.draining, { group: groupName, host, port, weight: t.weight, until: Date.now() + g.deregistrationDelaySeconds * 1000 }]
        : [...p.draining]
      await p.publish(next, { draining })
      this.#startSweeper()
    })
  }

  /**
   * Maintenance on (`on`) or off for a registered target. On: no new requests at once, in-flight ones finish (a
   * WebSocket too), the target stays registered. Off: it takes part again as a new target would (through
   * `initial` and the healthy threshold when the group has health checks).
   */
  maintenance (groupName: string, host: string, port: number, on: boolean): Promise<void> {
    const p = this.#publisher
    return p.serial(async () => {
      const g = this.#group(groupName)
      if (!g.targets.some((x) => x.host === host && x.port === port)) throw new PilotfishError('PF_ERR_TARGET_UNKNOWN', [endpointId(host, port), groupName])
      const others = p.maintenance.filter((m) => !(m.group === groupName && m.host === host && m.port === port))
      if (on === (others.length !== p.maintenance.length)) return // already so
      await p.publish(p.config, { maintenance: on ? [...others, { group: groupName, host, port }] : others })
    })
  }

  #startSweeper (): void {
    if (this.#sweeper !== null || this.#publisher.draining.length === 0) return
    this.#sweeper = setInterval(() => { void this.#sweep() }, SWEEP_MS)
    this.#sweeper.unref()
  }

  /** Ends draining for targets that are idle in every shard or whose delay is over. */
  async #sweep (): Promise<void> {
    const inFlight = await this.#inFlightByEndpoint()
    const p = this.#publisher
    await p.serial(async () => {
      const now = Date.now()
      const keep = p.draining.filter((d) => d.until > now && (inFlight.get(endpointId(d.host, d.port)) ?? 0) > 0)
      if (keep.length !== p.draining.length) await p.publish(p.config, { draining: keep })
      if (p.draining.length === 0 && this.#sweeper !== null) {
        clearInterval(this.#sweeper)
        this.#sweeper = null
      }
    })
  }

  async #inFlightByEndpoint (): Promise<Map<string, number>> {
    const m = new Map<string, number>()
    for (const s of await this.#shards.stats()) {
      for (const e of s.endpoints) m.set(e.id, (m.get(e.id) ?? 0) + e.inFlight)
    }
    return m
  }

  /**
   * Every group's targets, registered and draining, with their state (target-health.ts) and their in-flight
   * requests summed over the shards.
   */
  async view (): Promise<TargetGroupStatus[]> {
    const inFlight = await this.#inFlightByEndpoint()
    const draining = this.#publisher.draining
    return this.#publisher.config.targetGroups.map((g) => {
      const view = (host: string, port: number, weight: number): TargetStatus => {
        const id = endpointId(host, port)
        const h = this.health.view(g.name, id) ?? { state: 'healthy', reason: null, description: null, since: Date.now() }
        return { id, host, port, weight, state: h.state, reason: h.reason, description: h.description, since: new Date(h.since).toISOString(), inFlight: inFlight.get(id) ?? 0 }
      }
      return {
        name: g.name,
        algorithm: g.algorithm,
        targets: [
          ...g.targets.map((t) => view(t.host, t.port, t.weight)),
          ...draining.filter((d) => d.group === g.name).map((d) => view(d.host, d.port, d.weight)),
        ],
      }
    })
  }

  stop (): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper)
    this.#sweeper = null
  }
}
