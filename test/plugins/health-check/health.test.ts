// The active-check state machine: ALB's thresholds, the start-up verdict, flapping, and what is reported.
import { describe, expect, it } from 'vitest'
import { applyProbe, checksOff, newTarget, reportOf, type ProbeResult } from '../../../plugins/health-check/health.ts'
import { Health, T, type TargetTuple } from '../../../plugins/health-check/state.ts'

const th = { healthyThresholdCount: 3, unhealthyThresholdCount: 2 }
const PASS: ProbeResult = { ok: true }
const FAIL: ProbeResult = { ok: false, reason: 'Target.Timeout', description: 'Request timed out' }
const REFUSED: ProbeResult = { ok: false, reason: 'Target.ConnectionRefused', description: 'Connection refused' }

/** Feeds results ('+' pass, '-' fail) and gives the health after each. */
function run (t: TargetTuple, results: string, startup = false, now = 5000): string {
  let out = ''
  for (const c of results) {
    applyProbe(t, c === '+' ? PASS : FAIL, th, startup, now)
    startup = false
    out += ['i', 'h', 'u'][t[T.Health]]
  }
  return out
}

describe('active-check state machine', () => {
  it('keeps a new target initial until the healthy threshold of passes in a row', () => {
    expect(run(newTarget(true), '+++')).toBe('iih')
  })

  it('makes a new target unhealthy after the unhealthy threshold of failures', () => {
    expect(run(newTarget(true), '--')).toBe('iu')
  })

  it('starts counting again when an initial target\'s passes are broken by a failure', () => {
    expect(run(newTarget(true), '++-+++')).toBe('iiiiih')
  })

  it('decides a start-up target on its first probe, either way', () => {
    expect(run(newTarget(true), '+', true)).toBe('h')
    expect(run(newTarget(true), '-', true)).toBe('u')
  })

  it('gives a start-up verdict no slow start, and a threshold verdict one from when it was made', () => {
    const startup = newTarget(true)
    run(startup, '+', true)
    expect(startup[T.Since]).toBe(0)
    const later = newTarget(true)
    run(later, '+++', false, 7777)
    expect(later[T.Since]).toBe(7777)
  })

  it('takes a healthy target down only after the unhealthy threshold of failures in a row', () => {
    const t = newTarget(true)
    run(t, '+++')
    expect(run(t, '-+-+-')).toBe('hhhhh') // flapping: never two failures in a row
    expect(run(t, '-')).toBe('u')
  })

  it('brings an unhealthy target back only after the healthy threshold of passes in a row', () => {
    const t = newTarget(true)
    run(t, '--')
    expect(run(t, '++-++')).toBe('uuuuu')
    expect(run(t, '+')).toBe('h')
  })

  it('keeps the latest reason while a target stays unhealthy', () => {
    const t = newTarget(true)
    run(t, '--')
    expect(t[T.Reason]).toBe('Target.Timeout')
    applyProbe(t, REFUSED, th, false, 0)
    expect(t[T.Reason]).toBe('Target.ConnectionRefused')
    expect(reportOf(t)).toEqual({ state: 'unhealthy', reason: 'Target.ConnectionRefused' })
  })

  it('stops its counts at the thresholds, so a target that keeps passing leaves its tuple unchanged', () => {
    const t = newTarget(true)
    run(t, '+++')
    const before = t.join()
    run(t, '++++')
    expect(t.join()).toBe(before)
  })

  it('reports initial with Elb.InitialHealthChecking, and an ejection over any health', () => {
    const t = newTarget(true)
    expect(reportOf(t)).toEqual({ state: 'initial', reason: 'Elb.InitialHealthChecking' })
    run(t, '+++')
    expect(reportOf(t)).toEqual({ state: 'healthy', reason: null })
    t[T.EjectedUntil] = 1
    expect(reportOf(t)).toEqual({ state: 'unhealthy', reason: 'Target.OutlierEjected' })
  })

  it('makes every target healthy at once when active checks are turned off', () => {
    const t = newTarget(true)
    run(t, '--')
    expect(checksOff(t)).toBe(true)
    expect(t[T.Health]).toBe(Health.Healthy)
    expect(newTarget(false)[T.Health]).toBe(Health.Healthy)
  })
})
