// One health probe of one target, run in the worker pool (env.runTask('probe', …)): plain data in, plain data
// out. http: a GET on a fresh connection, closed after, whose status the matcher must accept; tcp: a
// connection that opens. The timeout covers connect and response together, as ALB's HealthCheckTimeoutSeconds.
import net from 'node:net'
import { Client, errors } from 'undici'
import { statusMatcher } from '../../core/plugin-runtime.ts'
import type { ProbeResult } from './health.ts'
import { Reason } from './state.ts'

export interface ProbeRequest {
  readonly protocol: 'http' | 'tcp'
  readonly host: string
  readonly port: number
  readonly path: string
  /** ALB syntax, checked when the config was applied. */
  readonly matcher: string
  readonly timeoutMs: number
}

const USER_AGENT = 'Pilotfish-HealthChecker/1.0' // ALB sends ELB-HealthChecker/2.0
const PASS: ProbeResult = { ok: true }
const TIMED_OUT: ProbeResult = { ok: false, reason: Reason.Timeout, description: 'Request timed out' }
const REFUSED: ProbeResult = { ok: false, reason: Reason.Refused, description: 'Connection refused' }

export default async function probe (req: ProbeRequest): Promise<ProbeResult> {
  return req.protocol === 'tcp' ? probeTcp(req) : probeHttp(req)
}

async function probeHttp (req: ProbeRequest): Promise<ProbeResult> {
  const matches = statusMatcher(req.matcher, 200, 499)
  if (typeof matches === 'string') return { ok: false, reason: Reason.Failed, description: `matcher ${matches}` }
  const host = req.host.includes(':') ? `[${req.host}]` : req.host
  const authority = `${host}:${req.port}`
  // pipelining 0 and a client per probe: the probe must open its own connection, never reuse a pooled one that
  // would hide a target that stopped accepting.
  const client = new Client(`http://${authority}`, { pipelining: 0, connectTimeout: req.timeoutMs, headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs })
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), req.timeoutMs)
  try {
    const res = await client.request({
      method: 'GET',
      path: req.path,
      headers: { host: authority, 'user-agent': USER_AGENT, connection: 'close' },
      signal: deadline.signal,
    })
    await res.body.dump({ limit: 64 * 1024 }) // drained, so the connection ends cleanly; a big body is cut short
    if (matches(res.statusCode)) return PASS
    return { ok: false, reason: Reason.CodeMismatch, description: `Health checks failed with these codes: [${res.statusCode}]` }
  } catch (err) {
    return failure(err, deadline.signal.aborted)
  } finally {
    clearTimeout(timer)
    void client.destroy().catch(() => {})
  }
}

function failure (err: unknown, timedOut: boolean): ProbeResult {
  if (timedOut || err instanceof errors.ConnectTimeoutError || err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) return TIMED_OUT
  if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return REFUSED
  return { ok: false, reason: Reason.Failed, description: err instanceof Error ? err.message : String(err) }
}

function probeTcp (req: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: req.host, port: req.port })
    const done = (r: ProbeResult): void => { socket.destroy(); resolve(r) }
    socket.setTimeout(req.timeoutMs, () => done(TIMED_OUT))
    socket.once('connect', () => done(PASS))
    socket.once('error', (err) => done(failure(err, false)))
  })
}
