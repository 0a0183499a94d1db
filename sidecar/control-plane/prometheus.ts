// Prometheus rendering: every shard's counters and histograms merged, the final counts of retired shards, and
// gauges read at scrape time. prom-client loads on the first scrape: a sidecar nobody scrapes does not carry it
// (~6 MiB of RSS).
import type { Registry as PromRegistry } from 'prom-client'
import type { ShardPool } from './shards.ts'
import { TARGET_STATES, type TargetHealth } from './target-health.ts'

export class PrometheusRenderer {
  /** Final metrics of shards retired by plugin reloads, merged into every scrape (compacted on the way). */
  #retired: unknown[][] = []

  /** A retired shard's last counts, so counters never step down after a reload. */
  retire (metrics: unknown[]): void { this.#retired.push(metrics) }

  async render (shards: ShardPool, configVersion: number, health: TargetHealth): Promise<{ contentType: string, body: string }> {
    const { AggregatorRegistry, Counter, Gauge, Registry } = await import('prom-client')
    type Parts = Parameters<typeof AggregatorRegistry.aggregate>[0]
    // Taken before asking the shards: a shard that retires meanwhile is counted live or retired, not both.
    let retired = this.#retired.slice()
    if (retired.length > 1) {
      const compact = await AggregatorRegistry.aggregate(retired as Parts).getMetricsAsJSON()
      this.#retired = [compact, ...this.#retired.slice(retired.length)]
      retired = [compact]
    }
    const stats = await shards.stats()
    const merged = AggregatorRegistry.aggregate([...retired, ...stats.map((s) => s.metrics)] as Parts)
    const local = new Registry()
    const registers = [local]
    const inFlight = new Gauge({ name: 'pilotfish_requests_in_flight', help: 'Requests in progress, by listener', labelNames: ['listener'], registers })
    const conns = new Gauge({ name: 'pilotfish_connections', help: 'Open client connections, by listener', labelNames: ['listener'], registers })
    const targetInFlight = new Gauge({ name: 'pilotfish_target_in_flight', help: 'Requests in progress, by target', labelNames: ['target'], registers })
    const version = new Gauge({ name: 'pilotfish_config_version', help: 'Version of the running config', registers })
    const shardCount = new Gauge({ name: 'pilotfish_shards', help: 'Data-plane shard threads', registers })
    for (const s of stats) {
      for (const l of s.listeners) {
        inFlight.labels(l.name).inc(l.inFlight)
        conns.labels(l.name).inc(l.connections)
      }
      for (const e of s.endpoints) targetInFlight.labels(e.id).inc(e.inFlight)
    }
    // One series per target and state, 1 for the state it is in (as kube-state-metrics does), and the transitions.
    const state = new Gauge({ name: 'pilotfish_target_state', help: 'Target state (1 for the state it is in), by group, target and state', labelNames: ['group', 'target', 'state'], registers })
    const changes = new Counter({ name: 'pilotfish_target_state_transitions_total', help: 'Changes of target state, by group, target and the state entered', labelNames: ['group', 'target', 'state'], registers })
    for (const { group, target, view } of health.all()) {
      for (const s of TARGET_STATES) state.labels(group, target, s).set(view.state === s ? 1 : 0)
    }
    for (const [k, n] of health.transitions) {
      const [group, target, s] = k.split('\u0000') as [string, string, string]
      changes.labels(group, target, s).inc(n)
    }
    version.set(configVersion)
    shardCount.set(shards.size)
    const all = Registry.merge([merged as PromRegistry, local as PromRegistry])
    return { contentType: all.contentType, body: await all.metrics() }
  }
}
