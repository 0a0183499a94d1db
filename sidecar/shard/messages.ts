// Messages between the control plane and its shards: plain data only (threads exchange data, never calls).
import type { SnapshotMessage } from '../../core/snapshot.ts'

/** How often a shard bumps its heartbeat for the control plane's watchdog (control-plane/shards.ts). */
export const HEARTBEAT_MS = 100
/** How often a shard checks whether a burst left memory to give back (shard/reclaim.ts). */
export const RECLAIM_CHECK_MS = 1000

export type ToShard =
  | { type: 'snapshot', snapshot: SnapshotMessage }
  | { type: 'stats', id: number }
  | { type: 'drain', deadlineMs: number, closeIdle: boolean }
  | { type: 'plugin-state', plugin: string, state: unknown }
  | { type: 'plugin-message', plugin: string, message: unknown, from: number }
  | { type: 'task-result', id: number, ok: boolean, value: unknown, message: string }

export interface EndpointStats { id: string, inFlight: number, idle: number }
export interface ListenerStats { name: string, port: number, connections: number, inFlight: number }
/** What a plugin said of a target (env.reportTarget). */
export interface TargetReportMessage { type: 'target-report', plugin: string, group: string, target: string, state: string, reason: string | null, description: string | null }
/** A snapshot a shard could not apply: the reason, its code, and JSON paths when the config was refused. */
export interface ApplyFailed { type: 'apply-failed', version: number, message: string, code?: string, problems?: Array<{ path: string, message: string }> }

export type FromShard =
  | { type: 'ready' }
  | { type: 'applied', version: number, usedGroups: string[] }
  | ApplyFailed
  | { type: 'stats', id: number, metrics: unknown[], endpoints: EndpointStats[], listeners: ListenerStats[] }
  | { type: 'drained', metrics: unknown[] } // the shard's final counts: a retired generation's requests still count
  | { type: 'plugin-state', plugin: string, state: unknown }
  | { type: 'plugin-message', plugin: string, message: unknown }
  | TargetReportMessage
  | { type: 'task', id: number, url: string, data: unknown, timeoutMs: number }
