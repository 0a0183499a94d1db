// Keyed MACs with key rotation, for values a client carries and hands back (stickiness cookies).
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

const DEFAULT_BYTES = 16
const MAX_BYTES = 32 // SHA-256's output

// base64url's alphabet: character code → its 6-bit value, or -1.
const SEXTETS = (() => {
  const t = new Int8Array(128).fill(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (let i = 0; i < alphabet.length; i++) t[alphabet.charCodeAt(i)] = i
  return t
})()

/**
 * HMAC-SHA-256 with a list of keys: the first signs, every one verifies, so a new key can be put first while
 * the old one still verifies what it signed, and be removed once those values have expired.
 *
 * Keys are held as KeyObjects made once: createHmac with a KeyObject costs about a quarter of createHmac with
 * the key's bytes, which Node imports into a new key for each call. The keys are #private, so neither
 * util.inspect nor JSON.stringify shows them.
 */
export class Signer {
  /** How many keys. */
  readonly size: number
  readonly #keys: KeyObject[]

  /** Strings are their UTF-8 bytes. Throws a TypeError when there is no key or a key is empty. */
  constructor (keys: ReadonlyArray<string | Uint8Array>) {
    if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('a Signer needs at least one key')
    this.#keys = keys.map((key, i) => {
      const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`key ${i} is neither a string nor a Uint8Array`)
      // An empty HMAC key is valid to HMAC, and so is anyone's guess.
      if (bytes.length === 0) throw new TypeError(`key ${i} is empty`)
      return createSecretKey(bytes) // copies, so the caller's array may change afterwards
    })
    this.size = this.#keys.length
  }

  /** base64url (no padding) of the first `bytes` bytes (1–32) of HMAC-SHA-256(keys[keyIndex], data). */
  mac (data: string, keyIndex = 0, bytes = DEFAULT_BYTES): string {
    const key = this.#keys[keyIndex]
    if (key === undefined || !Number.isInteger(keyIndex)) throw new RangeError(`keyIndex must be an integer in 0-${this.size - 1}, not ${keyIndex}`)
    checkBytes(bytes)
    return createHmac('sha256', key).update(data).digest().toString('base64url', 0, bytes)
  }

  /**
   * The index of the first key under which `mac` is data's MAC of `bytes` bytes, or -1. Only the canonical
   * encoding is accepted (the one mac() writes: exact length, base64url alphabet, unused low bits zero), so no
   * second spelling of a MAC verifies. Comparisons are constant-time; malformed input gives -1, never a throw.
   * Throws a RangeError only for a `bytes` outside 1–32, which is the caller's constant, not the client's input.
   */
  verify (data: string, mac: string, bytes = DEFAULT_BYTES): number {
    checkBytes(bytes)
    if (typeof data !== 'string' || !isCanonical(mac, bytes)) return -1
    const given = Buffer.from(mac, 'base64url')
    for (let i = 0; i < this.#keys.length; i++) {
      const digest = createHmac('sha256', this.#keys[i]!).update(data).digest()
      if (timingSafeEqual(digest.subarray(0, bytes), given)) return i
    }
    return -1
  }
}

function checkBytes (bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_BYTES) throw new RangeError(`bytes must be an integer in 1-${MAX_BYTES}, not ${bytes}`)
}

/** `mac` is exactly how base64url without padding writes `bytes` bytes. */
function isCanonical (mac: unknown, bytes: number): boolean {
  if (typeof mac !== 'string') return false
  const rest = bytes % 3
  if (mac.length !== Math.floor(bytes / 3) * 4 + (rest === 0 ? 0 : rest + 1)) return false
  let last = 0
  for (let i = 0; i < mac.length; i++) {
    const c = mac.charCodeAt(i)
    last = c < 128 ? SEXTETS[c]! : -1
    if (last === -1) return false
  }
  // The last character carries 2 (one byte left over) or 4 (two bytes) bits of data; the rest must be zero.
  return rest === 0 || (last & (rest === 1 ? 0x0f : 0x03)) === 0
}
