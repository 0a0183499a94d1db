// Consistent hash: a key from the request (header, cookie or client IP) mapped onto a ring of virtual nodes.
import type { HashOn, RequestCtx, Selector, Target, TargetGroup } from '../pipeline.ts'
import { readCookie } from './cookie.ts'
import { RoundRobinSelector } from './round-robin.ts'

const COOKIE = 'cookie'

// Each target's points depend on its own id and weight only, never on the rest of the group, so adding or
// removing a target moves only the keys that land on it. (Scaling the ring to a minimum or maximum total size
// would change every target's point count, and so reshuffle keys between old targets, whenever the group changes.)
// 160 points per unit of weight is ketama's count: a target's share then varies by ~1/√160 ≈ 8% of its mean.
// A cap of 16,384 points (128 KiB of ring) per target keeps weights up to 102 proportional.
const POINTS_PER_WEIGHT = 160
const MAX_POINTS_PER_TARGET = 16384
// A ring point is packed as hash × 2^21 + target index into one float64 (exact below 2^53), so a plain
// numeric sort orders by hash and breaks hash ties by target index. Hence at most 2^21 targets per group.
const OWNER_SLOTS = 2 ** 21

const KeyFrom = { Header: 0, Cookie: 1, ClientIp: 2 } as const
type KeyFrom = (typeof KeyFrom)[keyof typeof KeyFrom]

/**
 * The ring, built once per group per snapshot, as two sorted, index-aligned arrays:
 *
 *   #points  [ 0x0a31…, 0x1f02…, 0x3c9e…, 0x5d10…, …, 0xf7a2… ]   hashes of "host:port-0", "host:port-1", …
 *   #owners  [    2,       0,       1,       2,    …,     0    ]   index of the target each point belongs to
 *
 *   key → h = hashKey(key) → first point ≥ h (past the end wraps to 0) → walk clockwise to an eligible owner
 *
 * Points depend only on endpoint ids and weights, never on a per-process seed, so every shard and every
 * sidecar with the same group maps a key to the same target. An ineligible target is skipped by walking on,
 * so only the keys that were on it move, and they spread over the others (each of its arcs passes to whichever
 * target owns the next point). Weight 0 gets no points: no traffic, as in ALB's weighted forwards.
 */
export class ConsistentHashSelector implements Selector {
  readonly #group: TargetGroup
  readonly #targets: readonly Target[]
  readonly #points: Uint32Array
  readonly #owners: Uint32Array
  readonly #from: KeyFrom
  readonly #name: string
  /** Requests without a key still need a target; rotating keeps them from piling onto one. */
  readonly #fallback: RoundRobinSelector

  constructor (group: TargetGroup, hashOn: HashOn) {
    this.#group = group
    this.#targets = group.targets
    this.#fallback = new RoundRobinSelector(group)
    if ('header' in hashOn) {
      this.#from = KeyFrom.Header
      this.#name = hashOn.header.toLowerCase() // RequestCtx.header looks names up lower-case
    } else if ('cookie' in hashOn) {
      this.#from = KeyFrom.Cookie
      this.#name = hashOn.cookie // cookie names are case-sensitive: RFC 6265 matches them exactly
    } else {
      this.#from = KeyFrom.ClientIp
      this.#name = ''
    }
    const packed = ringPoints(group.targets)
    this.#points = new Uint32Array(packed.length)
    this.#owners = new Uint32Array(packed.length)
    for (let i = 0; i < packed.length; i++) {
      const p = packed[i]!
      const owner = p % OWNER_SLOTS
      this.#owners[i] = owner
      this.#points[i] = (p - owner) / OWNER_SLOTS
    }
  }

  /**
   * Targets changed in place. Eligibility is read at each pick; the ring keeps the weights it was built with, so a
   * weight ramp (slow start) does not move keys every second: as Envoy, slow start is for the other algorithms.
   */
  refresh (): void {
    this.#fallback.refresh()
  }

  select (ctx: RequestCtx, _group: TargetGroup): Target | null {
    const key = this.#key(ctx)
    // An empty value identifies nobody: hashing it would send every such request to one target.
    if (key === undefined || key === '') return this.#fallback.select(ctx, this.#group)
    const points = this.#points
    const n = points.length
    if (n === 0) return null
    const h = hashKey(key)
    let lo = 0
    let hi = n
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (points[mid]! < h) lo = mid + 1
      else hi = mid
    }
    let i = lo === n ? 0 : lo
    const owner = this.#targets[this.#owners[i]!]!
    if (owner.eligible) return owner
    // Off the fast path: check there is somewhere to walk to, so a group with every target down costs O(targets)
    // per request rather than a walk around the whole ring.
    if (!this.#anyEligible()) return null
    for (let k = 1; k < n; k++) {
      i = i + 1 === n ? 0 : i + 1
      const t = this.#targets[this.#owners[i]!]!
      if (t.eligible) return t
    }
    return null
  }

  #key (ctx: RequestCtx): string | undefined {
    switch (this.#from) {
      case KeyFrom.Header: return ctx.header(this.#name)
      case KeyFrom.Cookie: return readCookie(ctx.header(COOKIE), this.#name)
      default: return ctx.clientIp
    }
  }

  #anyEligible (): boolean {
    const targets = this.#targets
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!
      if (t.eligible && t.weight > 0) return true
    }
    return false
  }
}

/** Every ring point as hash × OWNER_SLOTS + target index, sorted. */
function ringPoints (targets: readonly Target[]): Float64Array {
  let size = 0
  for (let i = 0; i < targets.length; i++) size += points(targets[i]!.weight)
  const packed = new Float64Array(size)
  let k = 0
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    const count = points(t.weight)
    for (let r = 0; r < count; r++) packed[k++] = hashKey(`${t.endpoint.id}-${r}`) * OWNER_SLOTS + i
  }
  return packed.sort()
}

function points (weight: number): number {
  return weight > 0 ? Math.min(MAX_POINTS_PER_TARGET, Math.max(1, Math.round(weight * POINTS_PER_WEIGHT))) : 0
}

/**
 * FNV-1a 32 over UTF-16 code units (the same as over bytes for ASCII, which keys and ids nearly always are).
 * Small and allocation-free, but its high bits mix poorly for strings that differ only at the end
 * ("user-1", "user-2"), which is exactly what ring points and many keys look like; hashKey fixes that.
 */
export function fnv1a32 (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** FNV-1a followed by murmur3's fmix32 finaliser, which gives every input bit an effect on every output bit. */
export function hashKey (s: string): number {
  let h = fnv1a32(s)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
