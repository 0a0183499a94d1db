// Plugins' counters (env.counter). They belong to whoever runs the instances (a shard's metrics, the harness),
// not to an instance, so an instance set up again (a config change) counts on where the last one stopped. A
// shard emits them with its own metrics, so the control plane sums them over every shard and over the shards of
// retired generations exactly as it sums the core's counters.
import { PilotfishError } from '../errors.ts'
import type { CounterChild, PluginCounter } from '../plugin-api.ts'

/**
 * Every metric name /metrics carries from the core (sidecar/shard/metrics.ts, sidecar/control-plane/prometheus.ts):
 * a plugin's counter of one of these names would be merged into it, or fail the scrape.
 */
export const CORE_METRICS: ReadonlySet<string> = new Set([
  'pilotfish_requests_total', 'pilotfish_request_duration_seconds', 'pilotfish_requests_rejected_total',
  'pilotfish_plugin_errors_total', 'pilotfish_connections_refused_total', 'pilotfish_requests_in_flight',
  'pilotfish_connections', 'pilotfish_target_in_flight', 'pilotfish_config_version', 'pilotfish_shards',
  'pilotfish_target_state', 'pilotfish_target_state_transitions_total',
])

// Prometheus' syntax without the colon, which it reserves for recording rules ("exporters should not use them").
const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*_total$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** prom-client's JSON form of a counter (Registry.getMetricsAsJSON), which its aggregator sums. */
export interface CounterJson {
  name: string
  help: string
  type: 'counter'
  aggregator: 'sum'
  values: Array<{ labels: Record<string, string>, value: number }>
}

const refuse = (name: string, why: string): PilotfishError => new PilotfishError('PF_ERR_PLUGIN_COUNTER', [name, why])

class Child implements CounterChild {
  value = 0
  readonly labels: Readonly<Record<string, string>>
  readonly #name: string

  constructor (name: string, labels: Record<string, string>) {
    this.#name = name
    this.labels = labels
  }

  /** Per request: one check and one add. */
  inc (by = 1): void {
    if (!(Number.isFinite(by) && by >= 0)) throw refuse(this.#name, `inc() takes a finite number of at least 0, not ${String(by)}`)
    this.value += by
  }
}

class Counter implements PluginCounter {
  readonly name: string
  readonly help: string
  readonly labelNames: readonly string[]
  /** Children by their label values, JSON-encoded (unambiguous whatever the values hold). */
  readonly children = new Map<string, Child>()

  constructor (name: string, help: string, labelNames: readonly string[]) {
    this.name = name
    this.help = help
    this.labelNames = labelNames
  }

  labels (...values: string[]): CounterChild {
    const key = JSON.stringify(values)
    let c = this.children.get(key)
    if (c === undefined) {
      const names = this.labelNames
      if (values.length !== names.length) throw refuse(this.name, `labels() takes ${names.length} values (${names.join(', ')}), not ${values.length}`)
      const labels: Record<string, string> = {}
      for (let i = 0; i < names.length; i++) {
        if (typeof values[i] !== 'string') throw refuse(this.name, `the value of label ${names[i]} must be a string, not ${typeof values[i]}`)
        labels[names[i]!] = values[i]!
      }
      this.children.set(key, c = new Child(this.name, labels))
    }
    return c
  }
}

export class PluginCounters {
  readonly #counters = new Map<string, Counter>()

  /**
   * env.counter: a new counter, or the one declared before under this name (by this plugin in an earlier setup,
   * or by another plugin) when help and label names are the same. Anything else throws.
   */
  declare (name: string, help: string, labelNames: readonly string[]): PluginCounter {
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
      throw refuse(String(name), 'a counter\'s name must match [a-zA-Z_][a-zA-Z0-9_]* and end in _total')
    }
    if (CORE_METRICS.has(name)) throw refuse(name, 'the name is one of the core\'s metrics')
    if (typeof help !== 'string' || help === '') throw refuse(name, 'help must be a string of words, not empty')
    if (!Array.isArray(labelNames)) throw refuse(name, 'label names must be an array of strings')
    const seen = new Set<string>()
    for (const l of labelNames) {
      if (typeof l !== 'string' || !LABEL_NAME.test(l) || l.startsWith('__')) {
        throw refuse(name, `label name ${String(l)} must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __`)
      }
      if (seen.has(l)) throw refuse(name, `label name ${l} is given twice`)
      seen.add(l)
    }
    const known = this.#counters.get(name)
    if (known !== undefined) {
      const same = known.help === help && known.labelNames.length === labelNames.length && known.labelNames.every((l, i) => l === labelNames[i])
      if (!same) {
        throw refuse(name, `it is declared already with help ${JSON.stringify(known.help)} and labels [${known.labelNames.join(', ')}]; ` +
          'a counter keeps its help and labels for as long as the shard runs')
      }
      return known
    }
    const c = new Counter(name, help, [...labelNames])
    this.#counters.set(name, c)
    return c
  }

  /** The count for one label set (0 when never taken); throws for a counter never declared, or other label names. */
  read (name: string, labels: Readonly<Record<string, string>>): number {
    const c = this.#counters.get(name)
    if (c === undefined) throw refuse(name, 'no plugin declared it')
    const given = Object.keys(labels)
    if (given.length !== c.labelNames.length || !c.labelNames.every((l) => Object.hasOwn(labels, l))) {
      throw refuse(name, `its labels are [${c.labelNames.join(', ')}], not [${given.join(', ')}]`)
    }
    return (c.children.get(JSON.stringify(c.labelNames.map((l) => labels[l]))))?.value ?? 0
  }

  /** Every counter with every label set taken, at 0 too: a series exists from when its child is taken. */
  toJSON (): CounterJson[] {
    const out: CounterJson[] = []
    for (const c of this.#counters.values()) {
      const values: CounterJson['values'] = []
      for (const child of c.children.values()) values.push({ labels: child.labels, value: child.value })
      out.push({ name: c.name, help: c.help, type: 'counter', aggregator: 'sum', values })
    }
    return out
  }
}
