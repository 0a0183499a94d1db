// What each stage of listener → rule → selector → forwarder promises, and the request context they share.

/** How a request ended, when it did not end with a target's response. Maps to ALB's statuses (forwarder/local-reply.ts). */
export const Outcome = {
  Ok: 0,
  NoRoute: 1, // no rule and no default action: 404
  NoTarget: 2, // no eligible target in the chosen group: 503
  ConnectFailed: 3, // target refused, reset or closed before a response: 502
  Timeout: 4, // target did not answer in time: 504
  BadResponse: 5, // target's response could not be read one way only: 502
  HookFailed: 6, // a plugin hook threw: 500
  ClientAborted: 7, // client went away before the response was complete
} as const
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

/**
 * A target as one shard sees it, shared by every target group and config snapshot that names the same
 * host:port, so keep-alive connections and in-flight counts survive a config swap.
 */
export interface Endpoint {
  readonly id: string // "host:port" ("[::1]:80" for IPv6)
  readonly host: string
  readonly port: number
  /** Requests this shard has sent to the endpoint that have not completed. */
  inFlight: number
}

/** A member of one target group in one config snapshot. */
export interface Target {
  readonly endpoint: Endpoint
  /**
   * The weight selectors use: the configured one, or a targetState answer (a slow start's ramp). The core
   * changes it and `eligible` in place (core/group.ts), then tells the group's selector (Selector.refresh).
   */
  weight: number
  /** False while draining (deregistered, waiting out the deregistration delay), in maintenance, or unhealthy. */
  eligible: boolean
}

export const Algorithm = {
  RoundRobin: 'round_robin',
  LeastOutstanding: 'least_outstanding_requests',
  WeightedRandom: 'weighted_random',
  ConsistentHash: 'consistent_hash',
} as const
export type Algorithm = (typeof Algorithm)[keyof typeof Algorithm]

/** Where a consistent hash takes its key from. */
export type HashOn = { header: string } | { cookie: string } | { sourceIp: true }

export interface TargetGroup {
  readonly name: string
  readonly targets: readonly Target[]
}

/**
 * The request as rules, selectors and plugins see it: engine-agnostic, so HTTP/2 can feed the same pipeline.
 * Strings are as received (not percent-decoded); header names are looked up lower-case.
 */
export interface RequestCtx {
  readonly method: string
  /** Request path without the query, e.g. "/api/v1/items". */
  readonly path: string
  /** Raw query string without the "?", "" when there is none. */
  readonly query: string
  /** Host header (or absolute-form authority) as received, port included if it was sent. */
  readonly host: string
  /** Client address; IPv4-mapped IPv6 addresses are given as plain IPv4. */
  readonly clientIp: string
  readonly clientPort: number
  /** "http" or "https": the scheme the client used to reach the listener. */
  readonly protocol: string
  /** Port of the listener the request came in on. */
  readonly listenerPort: number
  /** The value of a header (lower-case name); repeated fields joined with ", " (cookie with "; "). */
  header (name: string): string | undefined
}

export interface Selector {
  /** An eligible target of the group, or null when there is none (→ 503). */
  select (ctx: RequestCtx, group: TargetGroup): Target | null
  /**
   * The group's targets changed in place (eligibility, weight): update what was derived from them, keeping
   * the rest (a round-robin position, a hash ring when only eligibility changed).
   */
  refresh? (): void
}

/** Makes a group's selector once per snapshot in each shard, so selection state stays local to the shard. */
export type SelectorFactory = (group: TargetGroup) => Selector
