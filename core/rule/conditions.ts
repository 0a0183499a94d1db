// A rule's conditions compiled into small objects tested in turn: every condition must hold (AND), and within
// one condition any value may match (OR), as ALB rule conditions do [S1].
//
// Per-request facts several rules may need (host without port, parsed client address, decoded query) are
// computed at most once per request, on first use, into a MatchScratch the rule table owns and reuses.
import type { RequestCtx } from '../pipeline.ts'
import type { ConditionsConfig } from '../../schemas/sidecar.schema.ts'
import { compileWildcard, type StringMatcher } from './wildcard.ts'
import { IpAddress, cidrContains, parseCidr, type Cidr } from './cidr.ts'
import { QueryPairs } from './query.ts'
import { PluginCondition, type PluginInstance, type PluginSet } from '../plugin/instance.ts'
import { PilotfishError } from '../errors.ts'

/** Per-request derived values, reset by the rule table before each match. One per RuleTable (one per shard). */
export class MatchScratch {
  readonly ip = new IpAddress()
  readonly query = new QueryPairs()
  #hostEnd = -1
  #ipParsed = false
  #queryParsed = false

  reset (): void {
    this.#hostEnd = -1
    this.#ipParsed = false
    this.#queryParsed = false
  }

  /** Where the Host value's ":port" starts (its length when there is none). */
  hostEnd (host: string): number {
    if (this.#hostEnd < 0) this.#hostEnd = hostEnd(host)
    return this.#hostEnd
  }

  /** The client address, parsed once; family 0 when unparseable. */
  clientIp (ctx: RequestCtx): IpAddress {
    if (!this.#ipParsed) { this.ip.parse(ctx.clientIp); this.#ipParsed = true }
    return this.ip
  }

  queryPairs (ctx: RequestCtx): QueryPairs {
    if (!this.#queryParsed) { this.query.parse(ctx.query); this.#queryParsed = true }
    return this.query
  }
}

/** "example.com:8080" → 11, "[::1]:80" → 5, "example.com" → 11; a bare IPv6 (several ":") has no port. */
export function hostEnd (host: string): number {
  if (host.charCodeAt(0) === 91) { // "["
    const close = host.indexOf(']')
    return close < 0 ? host.length : close + 1
  }
  const colon = host.indexOf(':')
  return colon < 0 || host.indexOf(':', colon + 1) >= 0 ? host.length : colon
}

export interface Condition {
  test (ctx: RequestCtx, scratch: MatchScratch): boolean
}

class MethodCondition implements Condition {
  readonly #methods: readonly string[]
  constructor (methods: readonly string[]) { this.#methods = methods }
  test (ctx: RequestCtx): boolean {
    for (let i = 0; i < this.#methods.length; i++) if (this.#methods[i] === ctx.method) return true
    return false
  }
}

class PathCondition implements Condition {
  readonly #matchers: readonly StringMatcher[]
  constructor (patterns: readonly string[]) {
    this.#matchers = patterns.map((p) => compileWildcard(p, { ignoreCase: false }))
  }
  test (ctx: RequestCtx): boolean {
    const path = ctx.path
    return anyMatch(this.#matchers, path, path.length)
  }
}

class PathRegexCondition implements Condition {
  readonly #res: readonly RegExp[]
  constructor (sources: readonly string[]) { this.#res = sources.map((s) => new RegExp(s)) }
  test (ctx: RequestCtx): boolean {
    for (let i = 0; i < this.#res.length; i++) if (this.#res[i]!.test(ctx.path)) return true
    return false
  }
}

class HostCondition implements Condition {
  readonly #matchers: readonly StringMatcher[]
  constructor (patterns: readonly string[]) {
    this.#matchers = patterns.map((p) => compileWildcard(p, { ignoreCase: true, host: true }))
  }
  test (ctx: RequestCtx, scratch: MatchScratch): boolean {
    return anyMatch(this.#matchers, ctx.host, scratch.hostEnd(ctx.host))
  }
}

class HeaderCondition implements Condition {
  readonly #name: string
  readonly #matchers: readonly StringMatcher[]
  constructor (name: string, patterns: readonly string[]) {
    this.#name = name.toLowerCase()
    this.#matchers = patterns.map((p) => compileWildcard(p, { ignoreCase: true }))
  }
  test (ctx: RequestCtx): boolean {
    const v = ctx.header(this.#name)
    return v !== undefined && anyMatch(this.#matchers, v, v.length)
  }
}

class QueryCondition implements Condition {
  /** keys[i] is null for a pair given without a key: any key matches. */
  readonly #keys: ReadonlyArray<StringMatcher | null>
  readonly #values: readonly StringMatcher[]
  constructor (pairs: ReadonlyArray<{ key?: string, value: string }>) {
    this.#keys = pairs.map((p) => p.key === undefined ? null : compileWildcard(p.key, { ignoreCase: true }))
    this.#values = pairs.map((p) => compileWildcard(p.value, { ignoreCase: true }))
  }
  test (ctx: RequestCtx, scratch: MatchScratch): boolean {
    if (ctx.query === '') return false
    const q = scratch.queryPairs(ctx)
    for (let j = 0; j < q.count; j++) {
      const k = q.keys[j]!
      const v = q.values[j]!
      for (let i = 0; i < this.#values.length; i++) {
        const km = this.#keys[i]!
        if ((km === null || km.test(k, k.length)) && this.#values[i]!.test(v, v.length)) return true
      }
    }
    return false
  }
}

class SourceIpCondition implements Condition {
  readonly #cidrs: readonly Cidr[]
  constructor (cidrs: readonly string[]) {
    // validateConfig has checked each one parses.
    this.#cidrs = cidrs.map((c) => parseCidr(c)!)
  }
  test (ctx: RequestCtx, scratch: MatchScratch): boolean {
    const ip = scratch.clientIp(ctx)
    for (let i = 0; i < this.#cidrs.length; i++) if (cidrContains(this.#cidrs[i]!, ip)) return true
    return false
  }
}

function anyMatch (matchers: readonly StringMatcher[], s: string, end: number): boolean {
  for (let i = 0; i < matchers.length; i++) if (matchers[i]!.test(s, end)) return true
  return false
}

/** Compile a rule's conditions, cheapest first: a failing cheap test spares the regexes and the query parse. */
export function compileConditions (c: ConditionsConfig, plugins: PluginSet): Condition[] {
  const out: Condition[] = []
  if (c.method !== undefined) out.push(new MethodCondition(c.method))
  if (c.path !== undefined) out.push(new PathCondition(c.path))
  if (c.host !== undefined) out.push(new HostCondition(c.host))
  if (c.headers !== undefined) {
    for (const name of Object.keys(c.headers)) out.push(new HeaderCondition(name, c.headers[name]!))
  }
  if (c.sourceIp !== undefined) out.push(new SourceIpCondition(c.sourceIp))
  if (c.pathRegex !== undefined) out.push(new PathRegexCondition(c.pathRegex))
  if (c.query !== undefined) out.push(new QueryCondition(c.query))
  // Last: the core's own conditions are cheaper, and a plugin is not asked about requests they rule out.
  if (c.plugin !== undefined) out.push(new PluginCondition(c.plugin.map((name) => pluginOf(plugins, name))))
  return out
}

export function pluginOf (plugins: PluginSet, name: string): PluginInstance {
  const p = plugins.get(name)
  // validateConfig checks every reference; a snapshot that still misses one was built wrong.
  if (p === undefined) throw new PilotfishError('PF_ERR_CONFIG_INVALID', ['plugin', `unknown plugin ${name}`])
  return p
}
