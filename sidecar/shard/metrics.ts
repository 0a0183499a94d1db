// Per-shard request metrics, counted in plain structures (prom-client would cost every shard ~8 MiB of memory);
// the control plane merges every shard's with prom-client's aggregator and renders them.
import type { FinishedRequest } from '../../core/runtime.ts'
import { PluginCounters } from '../../core/plugin/counters.ts'

/** Bucket bounds in seconds: a sidecar adds well under a millisecond, targets take what they take. */
export const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const

/** One metric in the JSON form prom-client's Registry.getMetricsAsJSON() gives, which its aggregator merges. */
export interface MetricJson {
  name: string
  help: string
  type: 'counter' | 'histogram'
  aggregator: 'sum'
  values: Array<{ labels: Record<string, string | number>, value: number, metricName?: string }>
}

interface Count { readonly labels: Record<string, string>, n: number }
interface Timing { readonly labels: Record<string, string>, readonly buckets: Float64Array, sum: number, count: number }

/** Nested maps keyed by strings the engine already holds (their hashes are cached): no string built per request. */
type Tree<T> = Map<string, T>

function child<T> (tree: Tree<Tree<T>>, key: string): Tree<T> {
  let v = tree.get(key)
  if (v === undefined) {
    v = new Map()
    tree.set(key, v)
  }
  return v
}

export class ShardMetrics {
  // listener → rule → target group → target → counts by status class
  #requests: Tree<Tree<Tree<Tree<Count[]>>>> = new Map()
  // listener → target group → timing
  #durations: Tree<Tree<Timing>> = new Map()
  #rejected = new Map<string, Count>()
  #pluginErrors = new Map<string, Count>()
  #refused = new Map<string, Count>()
  /** What plugins count (env.counter): the shard's, so an instance set up again counts on. */
  readonly pluginCounters = new PluginCounters()

  finished (r: FinishedRequest): void {
    const listener = r.listener.name
    const byTarget = child(child(child(this.#requests, listener), r.ruleName), r.groupName)
    let counts = byTarget.get(r.targetId)
    if (counts === undefined) {
      counts = []
      for (const code of CLASSES) counts.push({ labels: { listener, rule: r.ruleName, target_group: r.groupName, target: r.targetId, code }, n: 0 })
      byTarget.set(r.targetId, counts)
    }
    counts[Math.min(5, Math.floor(r.status / 100))]!.n++
    const byGroup = child(this.#durations, listener)
    let t = byGroup.get(r.groupName)
    if (t === undefined) {
      t = { labels: { listener, target_group: r.groupName }, buckets: new Float64Array(BUCKETS.length), sum: 0, count: 0 }
      byGroup.set(r.groupName, t)
    }
    const seconds = r.durationMs / 1000
    let i = 0
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++
    if (i < BUCKETS.length) t.buckets[i]!++
    t.sum += seconds
    t.count++
  }

  rejected (listener: string, status: number, reason: string): void {
    const key = `${listener}\0${status}\0${reason}`
    let c = this.#rejected.get(key)
    if (c === undefined) {
      c = { labels: { listener, code: String(status), reason }, n: 0 }
      this.#rejected.set(key, c)
    }
    c.n++
  }

  /** A connection closed at accept (outside the listener's allowFrom). */
  refused (listener: string, reason: string): void {
    const key = `${listener}\0${reason}`
    let c = this.#refused.get(key)
    if (c === undefined) {
      c = { labels: { listener, reason }, n: 0 }
      this.#refused.set(key, c)
    }
    c.n++
  }

  /** A plugin hook threw, rejected, timed out or answered something invalid. */
  pluginError (plugin: string, hook: string): void {
    const key = `${plugin}\0${hook}`
    let c = this.#pluginErrors.get(key)
    if (c === undefined) {
      c = { labels: { plugin, hook }, n: 0 }
      this.#pluginErrors.set(key, c)
    }
    c.n++
  }

  toJSON (): MetricJson[] {
    const requests: MetricJson['values'] = []
    for (const byRule of this.#requests.values()) {
      for (const byGroup of byRule.values()) {
        for (const byTarget of byGroup.values()) {
          for (const counts of byTarget.values()) {
            for (const c of counts) if (c.n > 0) requests.push({ labels: c.labels, value: c.n })
          }
        }
      }
    }
    const name = 'pilotfish_request_duration_seconds'
    const durations: MetricJson['values'] = []
    for (const byGroup of this.#durations.values()) {
      for (const t of byGroup.values()) {
        let cumulative = 0
        for (let i = 0; i < BUCKETS.length; i++) {
          cumulative += t.buckets[i]!
          durations.push({ labels: { le: BUCKETS[i]!, ...t.labels }, value: cumulative, metricName: `${name}_bucket` })
        }
        durations.push({ labels: { le: '+Inf', ...t.labels }, value: t.count, metricName: `${name}_bucket` })
        durations.push({ labels: t.labels, value: t.sum, metricName: `${name}_sum` })
        durations.push({ labels: t.labels, value: t.count, metricName: `${name}_count` })
      }
    }
    return [
      { name: 'pilotfish_requests_total', help: 'Requests by listener, rule, target group, target and status class', type: 'counter', aggregator: 'sum', values: requests },
      { name, help: 'Time from a request head to the last response byte, by listener and target group', type: 'histogram', aggregator: 'sum', values: durations },
      {
        name: 'pilotfish_requests_rejected_total',
        help: 'Requests rejected before routing (malformed, too large, too slow), by listener, status and reason',
        type: 'counter',
        aggregator: 'sum',
        values: [...this.#rejected.values()].map((c) => ({ labels: c.labels, value: c.n })),
      },
      {
        name: 'pilotfish_plugin_errors_total',
        help: 'Plugin hooks that threw, rejected, timed out or answered something invalid, by plugin and hook',
        type: 'counter',
        aggregator: 'sum',
        values: [...this.#pluginErrors.values()].map((c) => ({ labels: c.labels, value: c.n })),
      },
      {
        name: 'pilotfish_connections_refused_total',
        help: 'Connections closed at accept, before a byte was read, by listener and reason (allow_from)',
        type: 'counter',
        aggregator: 'sum',
        values: [...this.#refused.values()].map((c) => ({ labels: c.labels, value: c.n })),
      },
      ...this.pluginCounters.toJSON(),
    ]
  }
}
