// Per-shard request metrics, counted in plain structures (prom-client would cost every shard ~8 MiB);
// the control plane merges every shard's with prom-client's aggregator and renders them.
import type { FinishedRequest } from '../../core/runtime.ts'

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

export class ShardMetrics {
  // keyed by the joined label values, so a request costs a string join and two map lookups
  #requests = new Map<string, Count>()
  #durations = new Map<string, Timing>()
  #rejected = new Map<string, Count>()

  finished (r: FinishedRequest): void {
    const listener = r.listener.name
    const code = CLASSES[Math.min(5, Math.floor(r.status / 100))]!
    const key = `${listener}\0${r.ruleName}\0${r.groupName}\0${r.targetId}\0${code}`
    let c = this.#requests.get(key)
    if (c === undefined) {
      c = { labels: { listener, rule: r.ruleName, target_group: r.groupName, target: r.targetId, code }, n: 0 }
      this.#requests.set(key, c)
    }
    c.n++
    const hkey = `${listener}\0${r.groupName}`
    let t = this.#durations.get(hkey)
    if (t === undefined) {
      t = { labels: { listener, target_group: r.groupName }, buckets: new Float64Array(BUCKETS.length), sum: 0, count: 0 }
      this.#durations.set(hkey, t)
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

  toJSON (): MetricJson[] {
    const counter = (name: string, help: string, counts: Map<string, Count>): MetricJson =>
      ({ name, help, type: 'counter', aggregator: 'sum', values: [...counts.values()].map((c) => ({ labels: c.labels, value: c.n })) })
    const name = 'pilotfish_request_duration_seconds'
    const values: MetricJson['values'] = []
    for (const t of this.#durations.values()) {
      let cumulative = 0
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += t.buckets[i]!
        values.push({ labels: { le: BUCKETS[i]!, ...t.labels }, value: cumulative, metricName: `${name}_bucket` })
      }
      values.push({ labels: { le: '+Inf', ...t.labels }, value: t.count, metricName: `${name}_bucket` })
      values.push({ labels: t.labels, value: t.sum, metricName: `${name}_sum` })
      values.push({ labels: t.labels, value: t.count, metricName: `${name}_count` })
    }
    return [
      counter('pilotfish_requests_total', 'Requests by listener, rule, target group, target and status class', this.#requests),
      { name, help: 'Time from a request head to the last response byte, by listener and target group', type: 'histogram', aggregator: 'sum', values },
      counter('pilotfish_requests_rejected_total', 'Requests rejected before routing (malformed, too large, too slow), by listener, status and reason', this.#rejected),
    ]
  }
}
