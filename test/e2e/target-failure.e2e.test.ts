// A target killed under load and restarted (test/e2e/scenarios/target-failure.ts, run short): health checks take
// it out within the configured bound, bring it back after the healthy threshold, and no body-less GET fails.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runInOwnNetns } from './netns.ts'

const interval = 1
const timeout = 1
const unhealthy = 2
const healthy = 2

describe('a target killed under load and restarted (in a network namespace of the test\'s own)', () => {
  it('is unhealthy within interval × unhealthy threshold + timeout, healthy and used again after its restart, and fails no GET', async () => {
    const script = fileURLToPath(new URL('./scenarios/target-failure.ts', import.meta.url))
    const run = await runInOwnNetns(script, ['--warmup', '1', '--seconds', '5', '--after', '1', '--max-after', '15', '--workers', '4', '--shards', '2',
      '--interval', String(interval), '--timeout', String(timeout), '--unhealthy', String(unhealthy), '--healthy', String(healthy)], 90_000)
    expect(run.code, run.stderr.slice(-2000)).toBe(0)
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
    const all = JSON.stringify(r) // in every failure message: what the whole run saw
    expect(r.startState, all).toEqual(['healthy', 'healthy', 'healthy'])
    expect(r.ok, all).toBeGreaterThan(100)

    // The behavioural bound from the config: `unhealthy` failing probes, each up to an interval apart (+10 % jitter,
    // prober.ts), the last one taking up to the timeout. The margin of 1 s is for what the config does not
    // bound: the verdict's way from the pool to the leader shard and the control plane, the 50 ms admin poll, and
    // event loops delayed on a 2-core machine that other tests load too. Outlier ejection may come much sooner.
    const detectBoundMs = (interval * unhealthy * 1.1 + timeout) * 1000 + 1000
    expect(r.detectMs, all).not.toBeNull()
    expect(r.detectMs, all).toBeLessThanOrEqual(detectBoundMs)
    expect(r.detectMs, all).toBeLessThan(r.downMs) // seen while it was still down

    // Back: healthy again, and answering clients again (its share of the after-restart responses is not zero), but
    // only after the healthy threshold: `healthy` passing probes at least 0.9 × interval apart (the first may come
    // right after the restart). Being late never breaks this bound; only a target let in too early does.
    const thresholdMs = (healthy - 1) * interval * 0.9 * 1000
    expect(r.recoverMs, all).not.toBeNull()
    expect(r.recoverMs, all).toBeGreaterThanOrEqual(thresholdMs)
    expect(r.firstServedMs, all).not.toBeNull()
    expect(r.firstServedMs, all).toBeGreaterThanOrEqual(thresholdMs)
    expect(r.phases.after.byName.b, all).toBeGreaterThan(0)
    expect(r.transitions.at(-1).state, all).toBe('healthy')
    expect(r.othersNotHealthy, all).toBe(0)

    // Body-less idempotent requests are redispatched (refused) or retried (reset) on another target: none fails.
    expect([r.failed, r.phases.before.errors, r.phases.down.errors, r.phases.after.errors], all).toEqual([0, [], [], []])
  }, 120_000)
})
