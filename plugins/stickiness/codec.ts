// A sticky cookie's value: which target (or group) it names, until when, signed.
//
//   <token>.<expiry>.<mac>       e.g.  Zq3x0c8S1k2aB7dE.mb1z2k0.3kYp0dNq8vXw1rT6uIo9eA
//   token   16 base64url chars: HMAC(key, "t\0group\0host:port") cut to 12 bytes; names the target without its address
//   expiry  unix seconds, base 36
//   mac     22 base64url chars: HMAC(key, "cookie\0scope\0token.expiry[\0bound]") cut to 16 bytes
//
// Only the keys make and read tokens, so a replica with the same keys and the same group reads any replica's
// cookie with no shared store; a token is looked up per key, so a cookie signed with a second (older) key
// still finds its target. `bound` ties a companion cookie to the application cookie's value (app_cookie), which
// the cookie does not carry. Verified values are kept (VerifiedCache): a returning client costs a map lookup,
// not an HMAC. Expiries are rounded up to 1/256 of the duration, so every client sent to a target in the same
// step gets the same value: a group has at most a few hundred values per target alive, the cache holds them
// all however many clients there are, and issuing one is a map lookup too.
import type { Signer } from '../../core/plugin-runtime.ts'

const TOKEN_BYTES = 12
const TOKEN_CHARS = 16
const MAC_BYTES = 16
const MAC_CHARS = 22
/** 16 + 1 + up to 8 base-36 digits + 1 + 22. */
const MAX_VALUE = TOKEN_CHARS + 1 + 8 + 1 + MAC_CHARS
const DOT = 0x2e

/** A value whose MAC held, under which key, and its expiry; the caller checks the expiry against its clock. */
export interface Verified {
  readonly token: string
  /** Index of the key that signed it: 0 is the signing key, above 0 an older one still accepted. */
  readonly key: number
  readonly expiresAt: number
  readonly bound: string
}

/** A cookie's expiry is rounded up to this fraction of its duration (and to whole seconds). */
const EXPIRY_STEPS = 256

/** Entries per generation: two generations bound the cache to 2 × this per cookie (a few hundred KiB). */
const CACHE_SIZE = 4096

/** Values verified recently: a young and an old generation, swapped when the young fills (no per-entry bookkeeping). */
class VerifiedCache {
  #young = new Map<string, Verified>()
  #old = new Map<string, Verified>()

  get (value: string): Verified | undefined {
    const hit = this.#young.get(value)
    if (hit !== undefined) return hit
    const old = this.#old.get(value)
    if (old !== undefined) this.set(value, old)
    return old
  }

  set (value: string, v: Verified): void {
    if (this.#young.size >= CACHE_SIZE) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(value, v)
  }
}

export class StickyCodec {
  readonly #signer: Signer
  /** What the MAC covers beside the value: the cookie's name and what it is for (a group, or the group choice). */
  readonly #context: string
  readonly #cache = new VerifiedCache()
  readonly #durationMs: number
  readonly #stepMs: number
  /** The value last issued per token (unbound): the same until the expiry step moves on. */
  readonly #issued = new Map<string, { expiresAt: number, value: string }>()

  constructor (signer: Signer, cookieName: string, scope: string, durationMs: number) {
    this.#signer = signer
    this.#context = `${cookieName}\0${scope}\0`
    this.#durationMs = durationMs
    this.#stepMs = Math.max(1000, Math.ceil(durationMs / EXPIRY_STEPS / 1000) * 1000)
  }

  /** A value naming `token` for the duration from `now`, tied to `bound` (its expiry rounded up to the step). */
  issue (token: string, now: number, bound = ''): string {
    const expiresAt = Math.ceil((now + this.#durationMs) / this.#stepMs) * this.#stepMs
    if (bound !== '') return this.encode(token, expiresAt, bound)
    const last = this.#issued.get(token)
    if (last !== undefined && last.expiresAt === expiresAt) return last.value
    const value = this.encode(token, expiresAt)
    this.#issued.set(token, { expiresAt, value })
    return value
  }

  get keys (): number { return this.#signer.size }

  /** The token naming `name` (a target id, or a group name) under key `key`. */
  token (name: string, key: number): string {
    return this.#signer.mac(`t\0${this.#context}${name}`, key, TOKEN_BYTES)
  }

  /** A value naming `token` (made with the signing key, 0) until `expiresAt` (ms), tied to `bound`. */
  encode (token: string, expiresAt: number, bound = ''): string {
    const body = `${token}.${Math.ceil(expiresAt / 1000).toString(36)}`
    return `${body}.${this.#signer.mac(this.#data(body, bound), 0, MAC_BYTES)}`
  }

  /** The value's token, key and expiry if its MAC holds under one of the keys (for `bound`), else null. */
  decode (value: string, bound = ''): Verified | null {
    const hit = this.#cache.get(value)
    if (hit !== undefined) return hit.bound === bound ? hit : null
    if (value.length > MAX_VALUE || value.charCodeAt(TOKEN_CHARS) !== DOT) return null
    const macAt = value.length - MAC_CHARS - 1
    if (macAt <= TOKEN_CHARS + 1 || value.charCodeAt(macAt) !== DOT) return null
    const body = value.slice(0, macAt)
    const key = this.#signer.verify(this.#data(body, bound), value.slice(macAt + 1), MAC_BYTES)
    if (key === -1) return null
    const seconds = parseInt(body.slice(TOKEN_CHARS + 1), 36)
    if (!Number.isSafeInteger(seconds)) return null
    const v: Verified = { token: body.slice(0, TOKEN_CHARS), key, expiresAt: seconds * 1000, bound }
    this.#cache.set(value, v)
    return v
  }

  #data (body: string, bound: string): string {
    return bound === '' ? this.#context + body : `${this.#context}${body}\0${bound}`
  }
}
