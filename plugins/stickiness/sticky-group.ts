// One target group's stickiness as it lives across snapshots: its settings, its cookie codec (with the values it
// verified), the targets' tokens, and its counters. Made again only when the group's section or the keys change.
import type { CounterChild, PluginCounter } from '../../core/plugin-api.ts'
import { serializeCookie, type Signer } from '../../core/plugin-runtime.ts'
import { StickyCodec } from './codec.ts'
import { DEFAULT_APP_COMPANION, DEFAULT_COOKIE, type TargetStickiness } from './schema.ts'

/** What became of a request's sticky cookie (the `result` label of pilotfish_stickiness_cookies_total). */
export const RESULTS = ['honoured', 'new', 'expired', 'invalid', 'target_gone'] as const
export type Result = (typeof RESULTS)[number]
export type Counts = Readonly<Record<Result, CounterChild>>

export function countsFor (counter: PluginCounter, group: string, cookie: string): Counts {
  const out = {} as Record<Result, CounterChild>
  for (const r of RESULTS) out[r] = counter.labels(group, cookie, r)
  return out
}

/** Set-Cookie attributes (RFC 6265 §4.1.2): the whole site, not for scripts, sent on top-level navigations. */
export function cookieField (name: string, value: string, maxAgeSeconds: number | undefined, secure: boolean, expires?: Date): string {
  return serializeCookie(name, value, { maxAge: maxAgeSeconds, expires, path: '/', httpOnly: true, secure, sameSite: 'Lax' })
}

export class StickyGroup {
  readonly name: string
  readonly settings: TargetStickiness
  readonly app: boolean
  /** lb_cookie: the cookie Pilotfish sets; app_cookie: its companion. */
  readonly cookieName: string
  readonly appCookieName: string
  readonly durationMs: number
  readonly codec: StickyCodec
  readonly counts: Counts
  /** Target id → its token under each key (HMACs made once per target, not once per snapshot). */
  readonly #tokens = new Map<string, string[]>()

  constructor (name: string, settings: TargetStickiness, signer: Signer, counter: PluginCounter) {
    this.name = name
    this.settings = settings
    this.app = settings.type === 'app_cookie'
    this.cookieName = settings.cookieName ?? (this.app ? DEFAULT_APP_COMPANION : DEFAULT_COOKIE)
    this.appCookieName = settings.appCookieName ?? ''
    this.durationMs = (settings.durationSeconds ?? 86400) * 1000
    this.codec = new StickyCodec(signer, this.cookieName, name, this.durationMs)
    this.counts = countsFor(counter, name, this.cookieName)
  }

  /** The target's token under each key, index-aligned with the keys. */
  tokens (targetId: string): readonly string[] {
    let t = this.#tokens.get(targetId)
    if (t === undefined) {
      t = []
      for (let k = 0; k < this.codec.keys; k++) t.push(this.codec.token(targetId, k))
      this.#tokens.set(targetId, t)
    }
    return t
  }

  /** Forgets the tokens of targets no longer in the group. */
  retain (ids: ReadonlySet<string>): void {
    for (const id of this.#tokens.keys()) if (!ids.has(id)) this.#tokens.delete(id)
  }
}
