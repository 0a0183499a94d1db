// Where a request falls in the split: a bucket in [0, BUCKETS), drawn at random or hashed from a sticky key.

/** Buckets of the split: a percent is honoured to 0.01 %. */
export const BUCKETS = 10_000

/**
 * FNV-1a over the key's UTF-16 code units, then murmur3's fmix32 finaliser: FNV alone leaves the low bits of
 * similar keys ("user-1", "user-2") correlated, and the bucket is taken from the low end (h % BUCKETS).
 */
export function bucketOf (key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return (h >>> 0) % BUCKETS
}

export function randomBucket (): number {
  return Math.floor(Math.random() * BUCKETS)
}

/** The value of cookie `name` in a Cookie field (RFC 6265 §4.2.1: `name=value` pairs joined by "; "). */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  let at = 0
  while (at < header.length) {
    let end = header.indexOf(';', at)
    if (end === -1) end = header.length
    while (header.charCodeAt(at) === 0x20) at++
    if (header.startsWith(name, at) && header.charCodeAt(at + name.length) === 0x3d) return header.slice(at + name.length + 1, end).trim()
    at = end + 1
  }
  return undefined
}
