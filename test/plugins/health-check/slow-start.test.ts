// Slow start's share of a target's weight over the window, and the ticker that refreshes while a ramp runs.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MIN_WEIGHT, RampTicker, rampFactor, ramping } from '../../../plugins/health-check/slow-start.ts'

describe('slow-start factor', () => {
  it.each([
    { elapsed: 0, factor: 0.1 },
    { elapsed: 15_000, factor: 0.55 },
    { elapsed: 30_000, factor: 1 },
    { elapsed: 45_000, factor: 1 },
    { elapsed: -5, factor: 0.1 }, // a clock a little behind the leader's
  ])('after $elapsed ms of a 30 s window: $factor', ({ elapsed, factor }) => {
    expect(rampFactor(1_000_000, 1_000_000 + elapsed, 30_000)).toBeCloseTo(factor, 10)
  })

  it('grows linearly from MIN_WEIGHT to 1', () => {
    const f = [0, 1, 2, 3, 4].map((k) => rampFactor(1000, 1000 + k * 10_000, 40_000))
    const steps = f.slice(1).map((x, i) => x - f[i]!)
    expect(f[0]).toBe(MIN_WEIGHT)
    for (const s of steps) expect(s).toBeCloseTo((1 - MIN_WEIGHT) / 4, 10)
  })

  it('is 1 without a ramp start or without a window', () => {
    expect(rampFactor(0, 5, 30_000)).toBe(1)
    expect(rampFactor(5, 5, 0)).toBe(1)
    expect(ramping(0, 5, 30_000)).toBe(false)
    expect(ramping(5, 6, 30_000)).toBe(true)
  })
})

describe('ramp ticker', () => {
  afterEach(() => { vi.useRealTimers() })

  it('ticks about once a second while a ramp is under way, once more when it ends, then stops', () => {
    vi.useFakeTimers()
    const end = Date.now() + 3500 // the ramp ends between the third and the fourth tick
    let ticks = 0
    const t = new RampTicker(() => { ticks++ }, () => Date.now() < end)
    t.update()
    t.update() // already running: one timer
    vi.advanceTimersByTime(10_000)
    expect(ticks).toBe(4)
    expect(t.running).toBe(false)
  })

  it('does not start without a ramp, and close() stops it', () => {
    vi.useFakeTimers()
    let ticks = 0
    const idle = new RampTicker(() => ticks++, () => false)
    idle.update()
    expect(idle.running).toBe(false)
    const busy = new RampTicker(() => ticks++, () => true)
    busy.update()
    vi.advanceTimersByTime(2500)
    busy.close()
    vi.advanceTimersByTime(5000)
    expect(ticks).toBe(2)
  })
})
