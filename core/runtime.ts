// What a shard runs for one listener and one target group in one config snapshot (built by core/snapshot.ts).
import type { RuleSource } from './rule/rule-table.ts'
import type { Selector, TargetGroup, Outcome } from './pipeline.ts'
import type { ForwardSettings } from './forwarder/rewrite-head.ts'
import type { Connectors } from './forwarder/target-pool.ts'
import type { Limits } from './http1/head.ts'
import type { PluginInstance } from './plugin/instance.ts'
import type { AllowFrom } from './listener/allow-from.ts'

export interface ListenerSettings extends ForwardSettings, Limits {
  readonly idleTimeoutMs: number
  readonly headerTimeoutMs: number
  readonly bodyTimeoutMs: number
  /** Minimum average request body rate in bytes/s once the grace period is over; 0: no minimum. */
  readonly minBodyRate: number
  readonly minBodyRateGraceMs: number
  readonly maxHeadBytes: number
  readonly accessLog: boolean
}

export interface GroupRuntime {
  readonly group: TargetGroup
  readonly selector: Selector
  readonly responseTimeoutMs: number
  /** The group's plugins that have each hook, in config order: a request walks only lists of its stage. */
  readonly onForward: readonly PluginInstance[]
  readonly onResponse: readonly PluginInstance[]
  readonly onRequestEnd: readonly PluginInstance[]
  readonly onTargetFailure: readonly PluginInstance[]
  /** Asks the group's targetState hooks again and changes its targets in place (env.refreshTargets). */
  refresh (): void
}

/** What the engine reports when a request ends: the sidecar turns it into metrics and an access log line. */
export interface FinishedRequest {
  readonly listener: ListenerRuntime
  readonly method: string
  readonly path: string
  readonly query: string
  readonly host: string
  readonly clientIp: string
  readonly clientPort: number
  readonly ruleName: string
  readonly groupName: string
  readonly targetId: string
  /** Status sent to the client; 0 when the client went away first. */
  readonly status: number
  readonly outcome: Outcome
  /** Why Pilotfish answered itself or cut the exchange short ('' when the target answered). */
  readonly reason: string
  readonly startedAt: number
  readonly durationMs: number
  readonly requestBytes: number
  readonly responseBytes: number
  readonly userAgent: string | undefined
}

export interface RequestObserver {
  onRequestEnd (req: FinishedRequest): void
  /** A request rejected before it could be routed (malformed head, timeout): no rule, no target. */
  onRejected (listener: ListenerRuntime, clientIp: string, status: number, reason: string): void
  /** A connection closed at accept, before a byte of it was read (reason: 'allow_from'). */
  onRefused (listener: ListenerRuntime, clientIp: string, reason: string): void
}

export interface ListenerRuntime {
  readonly name: string
  readonly settings: ListenerSettings
  readonly rules: RuleSource
  readonly groups: ReadonlyMap<string, GroupRuntime>
  readonly observer: RequestObserver
  /** Where a chosen target's connections come from (the shard's endpoint registry). */
  readonly endpoints: Connectors
  /** The source addresses that may connect; null (no `allowFrom`) lets everyone in. */
  readonly allowFrom: AllowFrom | null
  /** The listener's plugins that have each hook, in config order (empty lists cost a request one length check). */
  readonly onRequest: readonly PluginInstance[]
  readonly onForward: readonly PluginInstance[]
  readonly onResponse: readonly PluginInstance[]
  readonly onRequestEnd: readonly PluginInstance[]
}
