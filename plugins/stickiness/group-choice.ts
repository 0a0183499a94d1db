// ALB's target group stickiness: on a weighted forward (a canary at 5 %), a client stays in the group it got for
// the duration, through its own cookie (PILOTFISHTG, as AWSALBTG) naming the group. Which target inside the group
// is the group's own business (its stickiness, or its algorithm). A cookie naming a group the action no longer
// sends to (removed, or weight 0) counts as target_gone, and the client gets the weighted choice again.
import type { ForwardInfo, GroupChoice, PluginCounter, SelectionRequest } from '../../core/plugin-api.ts'
import { readCookie, type Signer } from '../../core/plugin-runtime.ts'
import { StickyCodec } from './codec.ts'
import type { ForwardSection } from './schema.ts'
import { cookieField, countsFor, type Counts } from './sticky-group.ts'

/** The scope the group cookie's MAC covers: one per cookie name, so every replica's actions read each other's. */
const SCOPE = 'group'

export class StickyGroupChoice implements GroupChoice {
  readonly #next: GroupChoice
  readonly #codec: StickyCodec
  readonly #cookieName: string
  readonly #durationMs: number
  /** Per key: token → group name, for the groups the action may choose (weight > 0). */
  readonly #byToken: ReadonlyArray<ReadonlyMap<string, string>>
  /** Group name → its token under the signing key. */
  readonly #tokenOf: ReadonlyMap<string, string>
  readonly #counts: ReadonlyMap<string, Counts>
  readonly #now: () => number

  constructor (next: GroupChoice, forward: ForwardInfo<ForwardSection>, signer: Signer, counter: PluginCounter, now: () => number) {
    const s = forward.config.stickiness!
    this.#next = next
    this.#cookieName = s.cookieName ?? 'PILOTFISHTG'
    this.#durationMs = (s.durationSeconds ?? 3600) * 1000
    this.#codec = new StickyCodec(signer, this.#cookieName, SCOPE, this.#durationMs)
    this.#now = now
    const live = forward.groups.filter((g) => g.weight > 0).map((g) => g.name)
    this.#byToken = Array.from({ length: signer.size }, (_, k) => new Map(live.map((name) => [this.#codec.token(name, k), name])))
    this.#tokenOf = new Map(live.map((name) => [name, this.#codec.token(name, 0)]))
    this.#counts = new Map(forward.groups.map((g) => [g.name, countsFor(counter, g.name, this.#cookieName)]))
  }

  choose (req: SelectionRequest): string {
    const value = readCookie(req.header('cookie'), this.#cookieName)
    if (value === undefined) return this.#moved(req, 'new')
    const v = this.#codec.decode(value)
    if (v === null) return this.#moved(req, 'invalid')
    const now = this.#now()
    if (v.expiresAt <= now) return this.#moved(req, 'expired')
    const name = this.#byToken[v.key]!.get(v.token)
    if (name === undefined) return this.#moved(req, 'target_gone')
    this.#counts.get(name)?.honoured.inc()
    if (v.key !== 0 || v.expiresAt - now < this.#durationMs / 2) this.#issue(req, name, now)
    return name
  }

  #moved (req: SelectionRequest, result: 'new' | 'invalid' | 'expired' | 'target_gone'): string {
    const name = this.#next.choose(req)
    this.#counts.get(name)?.[result].inc() // '' when an inner choice failed closed: the request fails anyway
    this.#issue(req, name, this.#now())
    return name
  }

  #issue (req: SelectionRequest, name: string, now: number): void {
    const token = this.#tokenOf.get(name)
    if (token === undefined) return // a choice the core would not make (weight 0): nothing to pin
    const value = this.#codec.issue(token, now)
    req.addResponseHeader('set-cookie', cookieField(this.#cookieName, value, this.#durationMs / 1000, req.protocol === 'https'))
  }
}
