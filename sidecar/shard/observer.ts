// Turns finished requests into metrics (always) and access log lines (where the listener asks for them).
import type { FinishedRequest, ListenerRuntime, RequestObserver } from '../../core/runtime.ts'
import type { AccessLog } from './access-log.ts'
import type { ShardMetrics } from './metrics.ts'

export class ShardObserver implements RequestObserver {
  readonly metrics: ShardMetrics
  /** Loaded only once some listener logs: pino costs every shard memory that most sidecars never need. */
  log: AccessLog | null = null

  constructor (metrics: ShardMetrics) {
    this.metrics = metrics
  }

  onRequestEnd (r: FinishedRequest): void {
    this.metrics.finished(r)
    if (r.listener.settings.accessLog) this.log?.request(r)
  }

  onRejected (listener: ListenerRuntime, clientIp: string, status: number, reason: string): void {
    this.metrics.rejected(listener.name, status, reason)
    if (listener.settings.accessLog) this.log?.rejected(listener.name, clientIp, status, reason)
  }

  /** Counted only: a refused peer can open connections far faster than a log should take lines. */
  onRefused (listener: ListenerRuntime, _clientIp: string, reason: string): void {
    this.metrics.refused(listener.name, reason)
  }
}
