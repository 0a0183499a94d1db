// The selector wrapper of a sticky group, built once per snapshot: a request whose cookie names an eligible target
// of the group goes there; any other request gets the group's algorithm (the wrapped selector) and, for
// lb_cookie, a new cookie naming the target it got.
//
//   cookie ─ none ─────────────────────────────── new ──────────┐
//          ─ MAC fails (tampered, foreign key, malformed) ─ invalid ─┤
//          ─ past its expiry ───────────────────── expired ─────┤─► next.select ─► Set-Cookie for that target
//          ─ target not in the group, ineligible, or tried ─ target_gone ┘   (strict: 503 instead, for target_gone)
//          ─ its target ───────────────────────── honoured ─► that target (re-signed past half its life, or
//                                                               when an older key signed it)
//
// app_cookie reads the same way (its companion bound to the application cookie's value); the companion is
// written by companion.ts on the response, where the application's own Set-Cookie is seen.
import type { PluginSelector, SelectionRequest, Target, TargetGroup } from '../../core/plugin-api.ts'
import { readCookie } from '../../core/plugin-runtime.ts'
import { cookieField, type StickyGroup } from './sticky-group.ts'

/** In a redispatched request's locals: its move off the sticky target has been counted. */
const MOVED = 'stickiness:moved'

export class StickySelector implements PluginSelector {
  readonly #next: PluginSelector
  readonly #g: StickyGroup
  /** Per key: token → target of this snapshot's group. */
  readonly #byToken: ReadonlyArray<ReadonlyMap<string, Target>>
  readonly #now: () => number

  constructor (next: PluginSelector, group: TargetGroup, g: StickyGroup, now: () => number) {
    this.#next = next
    this.#g = g
    this.#now = now
    const byToken: Array<Map<string, Target>> = []
    for (let k = 0; k < g.codec.keys; k++) byToken.push(new Map())
    for (const t of group.targets) {
      const tokens = g.tokens(t.endpoint.id)
      for (let k = 0; k < tokens.length; k++) byToken[k]!.set(tokens[k]!, t)
    }
    this.#byToken = byToken
  }

  select (req: SelectionRequest, group: TargetGroup): Target | null {
    const g = this.#g
    const cookies = req.header('cookie')
    let bound = ''
    if (g.app) {
      const app = readCookie(cookies, g.appCookieName)
      // No application session yet: nothing to follow.
      if (app === undefined || app === '') return this.#moved(req, group, 'new', false)
      bound = app
    }
    const value = readCookie(cookies, g.cookieName)
    if (value === undefined) return this.#moved(req, group, 'new', false)
    const v = g.codec.decode(value, bound)
    if (v === null) return this.#moved(req, group, 'invalid', false)
    const now = this.#now()
    if (v.expiresAt <= now) return this.#moved(req, group, 'expired', false)
    const target = this.#byToken[v.key]!.get(v.token)
    if (target === undefined || !target.eligible || wasTried(req.tried, target)) return this.#moved(req, group, 'target_gone', g.settings.strict === true, target)
    if (req.tried.length === 0) g.counts.honoured.inc()
    // Sliding: an active client keeps its target; and a cookie of an older key is re-signed before that key goes.
    if (!g.app && (v.key !== 0 || v.expiresAt - now < g.durationMs / 2)) this.#issue(req, target, now)
    return target
  }

  /** The request gets the group's algorithm (or, strict and its target gone, no target: 503). */
  #moved (req: SelectionRequest, group: TargetGroup, result: 'new' | 'invalid' | 'expired' | 'target_gone', strict: boolean, pinned?: Target): Target | null {
    const g = this.#g
    if (this.#counts(req, pinned)) g.counts[result].inc()
    if (strict) return null
    const target = this.#next.select(req, group)
    if (target !== null && !g.app) this.#issue(req, target, this.#now())
    return target
  }

  /**
   * Whether this selection counts the request's cookie. The first selection of a request does. A redispatch
   * selects again (req.tried: the targets whose attempt failed), as often as the answer is a target tried already;
   * of those calls only the first after the cookie's own target failed counts (target_gone, once per request,
   * marked in its locals): the first selection counted everything else.
   */
  #counts (req: SelectionRequest, pinned: Target | undefined): boolean {
    const tried = req.tried
    const n = tried.length
    if (n === 0) return true
    if (pinned === undefined || tried[n - 1]!.endpoint.id !== pinned.endpoint.id) return false
    const locals = req.locals
    if (locals[MOVED] === true) return false
    locals[MOVED] = true
    return true
  }

  #issue (req: SelectionRequest, target: Target, now: number): void {
    const g = this.#g
    const value = g.codec.issue(g.tokens(target.endpoint.id)[0]!, now)
    req.addResponseHeader('set-cookie', cookieField(g.cookieName, value, g.durationMs / 1000, req.protocol === 'https'))
  }
}

/** By endpoint id, as the core compares tried targets. */
function wasTried (tried: readonly Target[], t: Target): boolean {
  for (let i = 0; i < tried.length; i++) if (tried[i]!.endpoint.id === t.endpoint.id) return true
  return false
}
