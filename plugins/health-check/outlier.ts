// Outlier detection's decisions, made by the leader on the failures every shard reports (Envoy's consecutive_5xx
// detector, outlier_detection.cc): when a target is ejected, for how long, and how many of a group may be out
// at once. Pure functions on a target's published tuple.
import type { OutlierConfig } from './schema.ts'
import { T, type TargetTuple } from './state.ts'

/**
 * How many targets of a group of `n` may be ejected at once: maxEjectionPercent of them, but at least one (Envoy
 * ejects one host even when the percent rounds down to zero), and none at 0 %.
 */
export function maxEjected (n: number, percent: number): number {
  if (percent <= 0 || n === 0) return 0
  return Math.max(1, Math.floor((n * percent) / 100))
}

/**
 * The ejection multiplier after a clean spell: one step less per baseEjectionSeconds since the last ejection
 * ended (Envoy decrements it each interval the host stays un-ejected), never below 0.
 */
export function decayed (ejections: number, cleanSince: number, now: number, cfg: OutlierConfig): number {
  if (ejections === 0 || cleanSince === 0) return ejections
  const steps = Math.floor((now - cleanSince) / (cfg.baseEjectionSeconds * 1000))
  return Math.max(0, ejections - Math.max(0, steps))
}

/** Envoy: base_ejection_time × times ejected, capped at max_ejection_time. */
export function ejectionMs (times: number, cfg: OutlierConfig): number {
  return Math.min(cfg.baseEjectionSeconds * times, cfg.maxEjectionSeconds) * 1000
}

/**
 * Merges one shard's observation: a success that ended its run of failures resets the target's consecutive
 * count (any success does, in Envoy), then its failures add up. Ignored while ejected: the requests still in
 * flight then say nothing new, and the count starts over when the target is back.
 */
export function merge (t: TargetTuple, reset: 0 | 1, failures: number): void {
  if (t[T.EjectedUntil] > 0) return
  if (reset === 1) t[T.Failures] = 0
  t[T.Failures] += failures
}

export function eject (t: TargetTuple, cfg: OutlierConfig, now: number): void {
  const times = decayed(t[T.Ejections], t[T.CleanSince], now, cfg) + 1
  t[T.Ejections] = times
  t[T.EjectedUntil] = now + ejectionMs(times, cfg)
  t[T.Failures] = 0
}

/** Back in: its time is up, or an active probe passed (Envoy's successful_active_health_check_uneject_host). */
export function uneject (t: TargetTuple, now: number): void {
  t[T.EjectedUntil] = 0
  t[T.CleanSince] = now
  t[T.Failures] = 0
}
