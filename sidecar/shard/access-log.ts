// JSON access log lines (pino), written after the response so logging never delays a client.
import pino, { type Logger } from 'pino'
import type { FinishedRequest } from '../../core/runtime.ts'

/**
 * One line per request. The query string is left out on purpose: it often carries tokens, and secrets
 * never go to logs. The reason field says why Pilotfish answered itself (e.g. "target-timeout").
 */
export class AccessLog {
  readonly #log: Logger

  constructor (destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false })) {
    this.#log = pino({ base: null, messageKey: 'msg', timestamp: pino.stdTimeFunctions.isoTime }, destination)
  }

  request (r: FinishedRequest): void {
    this.#log.info({
      type: 'request',
      listener: r.listener.name,
      client: r.clientIp,
      client_port: r.clientPort,
      method: r.method,
      host: r.host,
      path: r.path,
      status: r.status,
      rule: r.ruleName,
      target_group: r.groupName || undefined,
      target: r.targetId || undefined,
      duration_ms: Math.round(r.durationMs * 1000) / 1000,
      bytes_in: r.requestBytes,
      bytes_out: r.responseBytes,
      reason: r.reason || undefined,
      retries: r.retries || undefined, // attempts after the first (redispatch, retry); `target` is the last one's
      user_agent: r.userAgent,
    })
  }

  rejected (listener: string, client: string, status: number, reason: string): void {
    this.#log.info({ type: 'rejected', listener, client, status, reason })
  }

  flush (): void { this.#log.flush() }
}
