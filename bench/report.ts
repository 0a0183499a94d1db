// The benchmark's results: medians with min–max across repetitions, Pilotfish's ratios, the targets, as Markdown.
import { bodies } from './peers.ts'

/** One wrk run of one peer at one body size. */
export interface LoadSample {
  rps: number
  p50ms: number
  p99ms: number
  errors: number
  cpuUsPerRequest?: number // undefined for "direct" (no proxy process)
  rssIdle?: number // bytes, before any load in this round
  rssPeak?: number // bytes, highest summed VmRSS seen during the run
  foreignPct: number // CPU other processes on the machine used during the run, % of one core
}

/** One fixed-rate run of one peer (12 B body). */
export interface RateSample { p50ms: number, p99ms: number, achievedRps: number, backlogged: number, errors: number, foreignPct: number }

export interface Results {
  load: Map<string, Map<string, LoadSample[]>> // peer → body label → one sample per repetition
  rate: Map<string, RateSample[]> // peer → one sample per repetition, same order for every peer
  checks: Map<string, Check[]> // peer → its check after the measurements (Running.check), one per repetition
  idleShards2: number[] // bytes, Pilotfish --shards 2, one per repetition
  /** The plugin reload scenario (test/e2e/scenarios/reload-under-load.ts), when it ran. */
  reload?: ReloadScenario
  /** The target killed and restarted under load (test/e2e/scenarios/target-failure.ts), when it ran. */
  targetFailure?: TargetFailureScenario
}

/** What a peer's load exercised, checked after its measurements: the stickiness peer's cookies honoured. */
export interface Check { ok: boolean, line: string }

export interface ReloadScenario {
  seconds: number
  ok: number
  failed: number
  errors: string[]
  byCode: Record<string, number>
  loaded: string[]
  reloadStatuses: number[]
  generation: number
  wsBefore: string
  wsAfter: string
  retiringWhileWsOpen: number
  retiringAtEnd: number
}

interface Phase { ok: number, failed: number, errors: string[], byName: Record<string, number> }

/** What target-failure.ts prints (times in ms, null when it did not happen within the run). */
export interface TargetFailureScenario {
  seconds: number
  config: { shards: number, workers: number, healthCheck: Record<string, unknown>, outlierDetection?: Record<string, unknown> }
  ok: number
  failed: number
  phases: { before: Phase, down: Phase, after: Phase }
  detectMs: number | null
  detectReason: string | null
  noTrafficMs: number | null
  refusedConnects: number
  recoverMs: number | null
  firstServedMs: number | null
  downMs: number
}

export const pilotfish = 'Pilotfish'
const withNoop = 'Pilotfish + no-op plugin'
const withHealth = 'Pilotfish + health checks'
const fourTargets = 'Pilotfish (4 targets)'
const withSticky = 'Pilotfish + stickiness (lb_cookie)'
const reference = 'undici reference'
const haproxy = 'HAProxy'
const MiB = 1024 * 1024

export function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** "median (min–max)", or just the value for one repetition. */
function cell (xs: readonly (number | undefined)[], digits: number, scale = 1): string {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).map((x) => x / scale)
  if (v.length === 0) return '—'
  const m = median(v).toFixed(digits)
  return v.length === 1 ? m : `${m} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`
}

function samples (r: Results, peer: string, body: string): LoadSample[] { return r.load.get(peer)?.get(body) ?? [] }
function med (r: Results, peer: string, body: string, pick: (s: LoadSample) => number | undefined): number {
  return median(samples(r, peer, body).map(pick).filter((x): x is number => x !== undefined))
}
/** The peak over both body sizes, per repetition: what a container's memory limit would have to hold. */
function peakPerRep (r: Results, peer: string): number[] {
  const runs = bodies.map((b) => samples(r, peer, b.label))
  const reps = Math.max(...runs.map((x) => x.length))
  return Array.from({ length: reps }, (_, i) => {
    const peaks = runs.map((x) => x[i]?.rssPeak ?? NaN).filter(Number.isFinite)
    return peaks.length === 0 ? NaN : Math.max(...peaks)
  })
}
/** Added latency per repetition (peer minus direct in the same round), so both numbers saw the same conditions. */
function added (r: Results, peer: string, pick: (s: RateSample) => number): number[] {
  const direct = r.rate.get('direct') ?? []
  return (r.rate.get(peer) ?? []).map((s, i) => pick(s) - pick(direct[i] ?? { p50ms: NaN, p99ms: NaN, achievedRps: NaN, backlogged: 0, errors: 0, foreignPct: NaN }))
}
/** peer ÷ other per round (each round ran both minutes apart), for the rounds both have. */
function perRound (r: Results, peer: string, other: string, b: string, f: (s: LoadSample) => number | undefined): number[] {
  const o = samples(r, other, b)
  return samples(r, peer, b).map((s, i) => (f(s) ?? NaN) / (o[i] === undefined ? NaN : f(o[i]) ?? NaN)).filter(Number.isFinite)
}
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`
const ratio = (a: number, b: number): string => Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—'

export function renderTables (r: Results, peers: readonly string[]): string {
  const lines: string[] = []
  lines.push('| peer | body | requests/s | p50 ms | p99 ms | CPU µs/request | RSS idle MiB | RSS peak MiB | errors |')
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|')
  for (const peer of peers) {
    for (const b of bodies) {
      const s = samples(r, peer, b.label)
      lines.push(`| ${peer} | ${b.label} | ${cell(s.map((x) => x.rps), 0)} | ${cell(s.map((x) => x.p50ms), 2)} | ${cell(s.map((x) => x.p99ms), 2)} | ` +
        `${cell(s.map((x) => x.cpuUsPerRequest), 1)} | ${cell(s.map((x) => x.rssIdle), 1, MiB)} | ${cell(s.map((x) => x.rssPeak), 1, MiB)} | ${s.reduce((a, x) => a + x.errors, 0)} |`)
    }
  }
  lines.push('', 'Pilotfish ÷ peer (medians; above 1 is better for requests/s, below 1 is better for CPU and memory):', '')
  lines.push('| peer | requests/s 12 B | requests/s 16 KiB | CPU/request 12 B | CPU/request 16 KiB | peak RSS |')
  lines.push('|---|--:|--:|--:|--:|--:|')
  for (const peer of peers.filter((p) => p !== pilotfish)) {
    const [small, large] = [bodies[0].label, bodies[1].label]
    const cpu = (p: string, b: string): number => med(r, p, b, (s) => s.cpuUsPerRequest)
    lines.push(`| ${peer} | ${ratio(med(r, pilotfish, small, (s) => s.rps), med(r, peer, small, (s) => s.rps))} | ` +
      `${ratio(med(r, pilotfish, large, (s) => s.rps), med(r, peer, large, (s) => s.rps))} | ${ratio(cpu(pilotfish, small), cpu(peer, small))} | ` +
      `${ratio(cpu(pilotfish, large), cpu(peer, large))} | ${ratio(median(peakPerRep(r, pilotfish)), median(peakPerRep(r, peer)))} |`)
  }
  // Stickiness against plain Pilotfish (the issue's bar) and against round robin over the same four targets (the plugin alone).
  const costs = ([[withNoop, pilotfish], [withHealth, pilotfish], [fourTargets, pilotfish], [withSticky, pilotfish], [withSticky, fourTargets]] as const)
    .filter(([p, base]) => peers.includes(p) && peers.includes(base))
  if (costs.length > 0) {
    lines.push('', 'What a feature costs: peer ÷ the Pilotfish without it, per round (both minutes apart), median (min–max) over rounds:', '')
    lines.push('| ratio | requests/s 12 B | requests/s 16 KiB | CPU/request 12 B | CPU/request 16 KiB |')
    lines.push('|---|--:|--:|--:|--:|')
    for (const [peer, base] of costs) {
      const [small, large] = [bodies[0].label, bodies[1].label]
      const rps = (s: LoadSample): number => s.rps
      const cpu = (s: LoadSample): number | undefined => s.cpuUsPerRequest
      lines.push(`| ${peer} ÷ ${base} | ${cell(perRound(r, peer, base, small, rps), 2)} | ${cell(perRound(r, peer, base, large, rps), 2)} | ` +
        `${cell(perRound(r, peer, base, small, cpu), 2)} | ${cell(perRound(r, peer, base, large, cpu), 2)} |`)
    }
  }
  for (const [peer, checks] of r.checks) {
    lines.push('', `${peer}, after its measurements (outside the timing), per round: ${checks.map((c, i) => `${i + 1}: ${c.ok ? '' : '**FAILED** '}${c.line}`).join('; ')}.`)
  }
  lines.push('', 'At a fixed ~1,000 requests/s (12 B, bench/rate.ts, 10 keep-alive connections); added = peer − direct in the same round:', '')
  lines.push('| peer | achieved req/s | p50 ms | p99 ms | added p50 ms | added p99 ms |')
  lines.push('|---|--:|--:|--:|--:|--:|')
  for (const peer of peers) {
    const s = r.rate.get(peer) ?? []
    const dash = peer === 'direct'
    lines.push(`| ${peer} | ${cell(s.map((x) => x.achievedRps), 0)} | ${cell(s.map((x) => x.p50ms), 3)} | ${cell(s.map((x) => x.p99ms), 3)} | ` +
      `${dash ? '—' : cell(added(r, peer, (x) => x.p50ms), 3)} | ${dash ? '—' : cell(added(r, peer, (x) => x.p99ms), 3)} |`)
  }
  // What other processes used during each measurement (after up to two repeats of a disturbed one).
  const foreign = peers.flatMap((p) => [
    ...bodies.flatMap((b) => samples(r, p, b.label).map((s, i) => ({ pct: s.foreignPct, at: `${p} ${b.label} round ${i + 1}` }))),
    ...(r.rate.get(p) ?? []).map((s, i) => ({ pct: s.foreignPct, at: `${p} at 1,000 requests/s round ${i + 1}` })),
  ])
  const disturbed = foreign.filter((x) => x.pct > 10)
  lines.push('', `Other processes' CPU during the measurements (machine busy time minus the benchmark's own processes, % of one core): ` +
    `median ${median(foreign.map((x) => x.pct)).toFixed(1)} %; ` + (disturbed.length === 0
    ? 'no measurement above 10 %.'
    : `**still above 10 % after two repeats, treat with care:** ${disturbed.map((x) => `${x.at} (${x.pct.toFixed(0)} %)`).join(', ')}.`))
  lines.push('', `Pilotfish \`--shards 2\` idle RSS (listener answering, then 2 s): ${cell(r.idleShards2, 1, MiB)} MiB.`)
  return lines.join('\n')
}

/** The issue's targets, each PASS, FAIL or SKIP (a peer it needs was not run), with the numbers behind it. */
export function renderTargets (r: Results): string {
  const out: string[] = []
  // A target whose peers were not in the run names itself only: its numbers would read NaN.
  const verdict = (ok: boolean | undefined, text: string): void => {
    out.push(ok === undefined ? `- SKIP: ${text.split(':')[0]} (a peer it needs was not in this run)` : `- ${ok ? 'PASS' : 'FAIL'}: ${text}`)
  }
  const known = (...xs: number[]): boolean => xs.every(Number.isFinite)
  for (const [b, need] of [[bodies[0].label, 1.7], [bodies[1].label, 1.5]] as const) {
    const pf = med(r, pilotfish, b, (s) => s.rps)
    const ref = med(r, reference, b, (s) => s.rps)
    verdict(known(pf, ref) ? pf >= need * ref : undefined, `throughput ${b}: Pilotfish ${(pf / ref).toFixed(2)}× the undici reference (target ≥ ${need}×)`)
  }
  const cpuPf = med(r, pilotfish, bodies[0].label, (s) => s.cpuUsPerRequest)
  const cpuHa = med(r, haproxy, bodies[0].label, (s) => s.cpuUsPerRequest)
  verdict(known(cpuPf, cpuHa) ? cpuPf <= 2 * cpuHa : undefined,
    `CPU per request 12 B: Pilotfish ${cpuPf.toFixed(1)} µs, ${(cpuPf / cpuHa).toFixed(2)}× HAProxy's ${cpuHa.toFixed(1)} µs (target ≤ 2×)`)
  const peakPf = median(peakPerRep(r, pilotfish))
  const peakRef = median(peakPerRep(r, reference))
  verdict(known(peakPf, peakRef) ? peakPf <= 0.5 * peakRef : undefined,
    `peak RSS under load: Pilotfish ${(peakPf / MiB).toFixed(1)} MiB, ${(peakPf / peakRef).toFixed(2)}× the undici reference's ${(peakRef / MiB).toFixed(1)} MiB (target ≤ 0.5×)`)
  const idle = median(r.idleShards2)
  verdict(known(idle) ? idle < 100e6 : undefined, `idle RSS with --shards 2: ${(idle / 1e6).toFixed(1)} MB = ${(idle / MiB).toFixed(1)} MiB (target < 100 MB)`)
  for (const [peer, what] of [[withNoop, 'one no-op plugin with a request hook'], [withHealth, 'active health checks and outlier detection on the group']] as const) {
    for (const b of bodies) {
      // Per round, against plain Pilotfish in the same round: the two ran minutes apart at most.
      const ratios = perRound(r, peer, pilotfish, b.label, (s) => s.rps)
      const ratio = median(ratios)
      verdict(ratios.length > 0 ? ratio >= 0.95 : undefined,
        `${what}, ${b.label}: ${(ratio * 100).toFixed(1)} % of plain Pilotfish's throughput, per-round ${cell(ratios.map((x) => x * 100), 1)} % (target: overhead < 5 %)`)
    }
  }
  const checks = r.checks.get(withSticky) ?? []
  for (const b of bodies) {
    const ratios = perRound(r, withSticky, pilotfish, b.label, (s) => s.rps)
    const ratio = median(ratios)
    const honoured = checks.length > 0 && checks.every((c) => c.ok)
    verdict(ratios.length > 0 ? ratio >= 0.9 && honoured : undefined,
      `lb_cookie stickiness, clients sending their cookies, ${b.label}: ${(ratio * 100).toFixed(1)} % of plain Pilotfish's throughput, per-round ` +
      `${cell(ratios.map((x) => x * 100), 1)} %; cookies honoured in ${checks.filter((c) => c.ok).length} of ${checks.length} rounds (target ≥ 90 %, all honoured)`)
  }
  const rl = r.reload
  if (rl !== undefined) {
    const ok = rl.failed === 0 && rl.reloadStatuses.every((s) => s === 200) && rl.wsAfter === 'echo after' &&
      Object.keys(rl.byCode).every((c) => rl.loaded.includes(c))
    verdict(ok, `plugin code reloaded ${rl.reloadStatuses.length}× in ${rl.seconds.toFixed(0)} s under keep-alive and new-connection load: ` +
      `${rl.ok} requests, ${rl.failed} failed${rl.errors.length > 0 ? ` (${rl.errors.slice(0, 3).join('; ')})` : ''}; ` +
      `${Object.keys(rl.byCode).length} generations answered, each response from one; WebSocket held across all reloads: ${rl.wsAfter === 'echo after' ? 'yes' : `no (${rl.wsAfter})`} (target: zero failed)`)
  }
  const tf = r.targetFailure
  if (tf !== undefined) {
    verdict(tf.failed === 0 && tf.recoverMs !== null, `one of 3 targets killed under GET load and restarted: ${tf.ok} requests, ${tf.failed} failed` +
      `${tf.failed > 0 ? ` (${[...tf.phases.down.errors, ...tf.phases.after.errors, ...tf.phases.before.errors].slice(0, 3).join('; ')})` : ''}; ` +
      `unhealthy after ${tf.detectMs ?? '—'} ms, healthy again ${tf.recoverMs ?? '—'} ms after its restart (target: zero failed body-less requests)`)
  }
  const addPf = median(added(r, pilotfish, (x) => x.p99ms))
  const addHa = median(added(r, haproxy, (x) => x.p99ms))
  verdict(known(addPf, addHa) ? addPf - addHa <= 0.3 : undefined,
    `added p99 at ~1,000 requests/s: Pilotfish ${signed(addPf)} ms, HAProxy ${signed(addHa)} ms, difference ${(addPf - addHa).toFixed(3)} ms (target ≤ 0.3 ms)`)
  return out.join('\n')
}

/**
 * The work tree's ratios to HAProxy and the undici reference beside the baseline's, per round (each round ran
 * both minutes apart): a change regressed only if its ratio falls by more than the rounds' own spread.
 */
export function renderBaseline (r: Results, base: string): string {
  const out: string[] = []
  const row = (what: string, other: string, b: string, f: (s: LoadSample) => number | undefined): void => {
    if (samples(r, other, b).length === 0) return // that peer was not in the run
    out.push(`| ${what} | ${cell(perRound(r, pilotfish, other, b, f), 2)} | ${cell(perRound(r, base, other, b, f), 2)} |`)
  }
  out.push(`| ratio, per round: median (min–max) | work tree | ${base} |`, '|---|--:|--:|')
  for (const b of bodies) row(`throughput ${b.label} ÷ undici reference`, reference, b.label, (s) => s.rps)
  for (const b of bodies) row(`throughput ${b.label} ÷ HAProxy`, haproxy, b.label, (s) => s.rps)
  for (const b of bodies) row(`CPU µs per request ${b.label} ÷ HAProxy`, haproxy, b.label, (s) => s.cpuUsPerRequest)
  return out.join('\n')
}

/** The target-failure scenario as a section of its own: what failed in each phase, and how long each step took. */
export function renderTargetFailure (tf: TargetFailureScenario): string {
  const hc = tf.config.healthCheck
  const od = tf.config.outlierDetection
  const ms = (x: number | null): string => x === null ? 'not within the run' : `${x} ms`
  const out = [
    `One of 3 backends killed (connections reset, port refusing) under GET load (${tf.config.workers} clients, half keep-alive, half a new connection ` +
    `per request; Pilotfish --shards ${tf.config.shards}, not pinned), down ${(tf.downMs / 1000).toFixed(1)} s, then listening again on its port; ` +
    `healthCheck \`${JSON.stringify(hc)}\`, outlierDetection ${od === undefined ? 'off' : `\`${JSON.stringify(od)}\``} (test/e2e/scenarios/target-failure.ts, in a network namespace of its own):`, '',
    '| phase | ok | failed | first errors |', '|---|--:|--:|---|',
  ]
  for (const [name, p] of [['before the kill', tf.phases.before], ['down', tf.phases.down], ['after the restart', tf.phases.after]] as const) {
    out.push(`| ${name} | ${p.ok} | ${p.failed} | ${p.errors.slice(0, 2).join('; ').replace(/\|/g, '\\|') || '—'} |`)
  }
  out.push('', `- detected (admin API shows it unhealthy${tf.detectReason === null ? '' : `, ${tf.detectReason}`}): ${ms(tf.detectMs)} after the kill`)
  out.push(`- no more proxied connection attempts to the dead port (last 50 ms with more than one refused connect): ${ms(tf.noTrafficMs)} after the kill; ` +
    `${tf.refusedConnects} refused connects while down, probes included`)
  out.push(`- recovered (healthy again): ${ms(tf.recoverMs)} after the restart; first response from it: ${ms(tf.firstServedMs)} after the restart`)
  return out.join('\n')
}
