// Maps a target group's algorithm name to the selector that implements it.
import { PilotfishError } from '../errors.ts'
import { Algorithm } from '../pipeline.ts'
import type { HashOn, SelectorFactory, TargetGroup } from '../pipeline.ts'
import { ConsistentHashSelector } from './consistent-hash.ts'
import { LeastOutstandingSelector } from './least-outstanding.ts'
import { RoundRobinSelector } from './round-robin.ts'
import { WeightedRandomSelector } from './weighted-random.ts'

export { ConsistentHashSelector, LeastOutstandingSelector, RoundRobinSelector, WeightedRandomSelector }
export { readCookie } from './cookie.ts'

/**
 * The factory a shard calls once per group per snapshot (STYLE 19: selection state stays in the shard).
 * Called while compiling a snapshot, never per request, so a config the schema should have refused throws
 * a coded error here instead of failing requests later.
 */
export function selectorFactory (algorithm: Algorithm, hashOn?: HashOn): SelectorFactory {
  switch (algorithm) {
    case Algorithm.RoundRobin: return createRoundRobin
    case Algorithm.LeastOutstanding: return createLeastOutstanding
    case Algorithm.WeightedRandom: return createWeightedRandom
    case Algorithm.ConsistentHash: {
      if (hashOn === undefined) {
        throw new PilotfishError('PF_ERR_CONFIG_INVALID', ['hashOn', 'consistent_hash needs a header, cookie or sourceIp key'])
      }
      return (group) => new ConsistentHashSelector(group, hashOn)
    }
  }
  throw new PilotfishError('PF_ERR_CONFIG_INVALID', ['algorithm', `unknown algorithm ${String(algorithm)}`])
}

function createRoundRobin (group: TargetGroup): RoundRobinSelector {
  return new RoundRobinSelector(group)
}

function createLeastOutstanding (group: TargetGroup): LeastOutstandingSelector {
  return new LeastOutstandingSelector(group)
}

function createWeightedRandom (group: TargetGroup): WeightedRandomSelector {
  return new WeightedRandomSelector(group)
}
