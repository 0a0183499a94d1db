// Per-shard Prometheus metrics; the control plane merges every shard's (prom-client AggregatorRegistry).
import { Counter, Histogram, Registry } from 'prom-client'
import type { FinishedRequest } from '../../core/runtime.ts'

// Bucket bounds in seconds: a sidecar adds well under a millisecond, targets take what they take.
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'] as const

type CounterChild = ReturnType<Counter['labels']>
type HistogramChild = ReturnType<Histogram['labels']>

export class ShardMetrics {
  readonly registry = new Registry()
  readonly #requests: Counter
  readonly #duration: Histogram
  readonly #rejected: Counter
  // label lookups cost a hash per call in prom-client: keep the bound children per label set
  #counterChildren = new Map<string, CounterChild>()
  #histogramChildren = new Map<string, HistogramChild>()

  constructor () {
    const registers = [this.registry]
    this.#requests = new Counter({
      name: 'pilotfish_requests_total',
      help: 'Requests by listener, rule, target group, target and status class',
      labelNames: ['listener', 'rule', 'target_group', 'target', 'code'],
      registers,
    })
    this.#duration = new Histogram({
      name: 'pilotfish_request_duration_seconds',
      help: 'Time from a request head to the last response byte, by listener and target group',
      labelNames: ['listener', 'target_group'],
      buckets: BUCKETS,
      registers,
    })
    this.#rejected = new Counter({
      name: 'pilotfish_requests_rejected_total',
      help: 'Requests rejected before routing (malformed, too large, too slow), by listener and status',
      labelNames: ['listener', 'code', 'reason'],
      registers,
    })
  }

  finished (r: FinishedRequest): void {
    const listener = r.listener.name
    const code = CLASSES[Math.min(5, Math.floor(r.status / 100))]!
    const key = `${listener}\0${r.ruleName}\0${r.groupName}\0${r.targetId}\0${code}`
    let c = this.#counterChildren.get(key)
    if (c === undefined) {
      c = this.#requests.labels(listener, r.ruleName, r.groupName, r.targetId, code)
      this.#counterChildren.set(key, c)
    }
    c.inc()
    const hkey = `${listener}\0${r.groupName}`
    let h = this.#histogramChildren.get(hkey)
    if (h === undefined) {
      h = this.#duration.labels(listener, r.groupName)
      this.#histogramChildren.set(hkey, h)
    }
    h.observe(r.durationMs / 1000)
  }

  rejected (listener: string, status: number, reason: string): void {
    this.#rejected.labels(listener, String(status), reason).inc()
  }
}
