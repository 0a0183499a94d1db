// One request from routing to the last response byte: the per-request handler object of the engine.
//
// State machine (one Exchange per request; the client connection owns the request body, the Exchange owns
// everything from the target):
//
//   start ─ plugins' onRequest ─ route ─┬─ fixed response / redirect / plugin reply / fault ──► local reply
//                                       └─ forward ─ select ─ onForward ─ connect/reuse ─ write head ─► awaiting head
//   awaiting head ─┬─ 1xx ─► relay (1.1 clients) ─► awaiting head
//                  ├─ 101 to an upgrade request ─► tunnel (bytes both ways until either side closes)
//                  └─ final ─► streaming body (length / chunked / until close) ─► done
//   done = response complete AND request body complete; then the target connection goes back to its pool
//   only if both sides framed the exchange cleanly, and the client connection reads its next request.
//
// Plugin hooks (core/plugin-api.ts) run in-line; one that returns a promise parks the exchange (#wait) with
// the client's body held back until the promise settles, its time runs out, or the client goes away.
import { performance } from 'node:perf_hooks'
import { BodyKind, findHeadEnd, HttpError } from '../http1/head.ts'
import type { RequestHead } from '../http1/request-head.ts'
import { parseResponseHead } from '../http1/response-head.ts'
import { ChunkedScanner } from '../http1/chunked.ts'
import { Outcome, type Target } from '../pipeline.ts'
import type { FinishedRequest, GroupRuntime, ListenerRuntime } from '../runtime.ts'
import type { Action } from '../rule/rule-table.ts'
import type { PluginRequest, Reply } from '../plugin-api.ts'
import { closedBy, FAIL, matchRule, runOnForward, runOnResponse, select, SKIP, type HookName, type PluginInstance } from '../plugin/instance.ts'
import { ResponseEdit, removeField, setField } from '../plugin/headers.ts'
import type { ConnectionUser, TargetConnection } from './target-pool.ts'
import type { EndpointState } from './target-pool.ts'
import { pluginReplyHead, prebuiltReply, redirectHead } from './local-reply.ts'
import { rewriteRequestHead, rewriteResponseHead } from './rewrite-head.ts'

/** What an Exchange needs from the client side (listener/client-connection.ts). */
export interface ClientSide {
  readonly clientIp: string
  readonly clientPort: number
  /** The listener is draining: the response should say `connection: close`, so the client does not reuse it. */
  readonly draining: boolean
  write (data: Buffer | string): boolean
  /** Writes bytes that are valid only during the call (a view of a shared read buffer): they are copied. */
  writeTransient (chunk: Buffer): boolean
  /** Writes a head and a body; the body is copied, so it may be transient. */
  writeHeadAndBody (head: string, body: Buffer | null): boolean
  /** Called once when both the request and the response are complete (or the exchange failed). */
  onExchangeDone (keepAlive: boolean): void
  /** After a 101: the connection now carries bytes both ways. */
  startTunnel (): void
  pauseReading (): void
  resumeReading (): void
  destroy (): void
}

const MAX_RESPONSE_HEAD = 65536
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

const R_NO_TARGET = 'no-eligible-target'
const R_NO_GROUP = 'no-target-group'
const R_REFUSED = 'target-connect-failed'
const R_CLOSED = 'target-closed-early'
const R_TIMEOUT = 'target-timeout'
const R_CONNECT_TIMEOUT = 'target-connect-timeout'
const R_BAD_HEAD_TOO_BIG = 'target-head-too-large'
const R_NO_ROUTE = 'no-route'

/** Which plugin stage a parked exchange resumes in. */
const Stage = { OnRequest: 0, Route: 1 } as const
type Stage = (typeof Stage)[keyof typeof Stage]
const STAGE_HOOK: readonly HookName[] = ['onRequest', 'route']

function isThenable (v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === 'function'
}

export class Exchange implements PluginRequest, ConnectionUser, FinishedRequest {
  readonly listener: ListenerRuntime
  readonly client: ClientSide
  readonly head: RequestHead
  readonly method: string
  readonly path: string
  readonly query: string
  readonly host: string
  readonly clientIp: string
  readonly clientPort: number
  readonly protocol: string
  readonly listenerPort: number
  readonly startedAt: number
  #t0: number
  durationMs = 0

  ruleName = ''
  groupName = ''
  targetId = ''
  status = 0
  outcome: Outcome = Outcome.Ok
  reason = ''
  requestBytes = 0
  responseBytes = 0

  #target: Target | null = null
  #group: GroupRuntime | null = null
  #conn: TargetConnection | null = null
  #outHead = ''
  #retried = false
  #requestDone = false
  #responseDone = false
  #finished = false
  #keepAlive: boolean
  #tunnel = false
  #closeAfter = false
  // response parsing
  #resHead: Buffer | null = null
  #resKind: BodyKind = BodyKind.None
  #resRemaining = 0
  #scanner: ChunkedScanner | null = null
  #headSeen = false
  // plugin stages: where a hook's answer resumes, and body bytes held while one is awaited
  #stage: Stage = Stage.OnRequest
  #at = 0
  #plugin: PluginInstance | null = null
  #waiting = false
  #held: Buffer[] | null = null
  #locals: Record<string, unknown> | null = null

  constructor (listener: ListenerRuntime, client: ClientSide, head: RequestHead, path: string, query: string, host: string) {
    this.listener = listener
    this.client = client
    this.head = head
    this.method = head.method
    this.path = path
    this.query = query
    this.host = host
    this.clientIp = client.clientIp
    this.clientPort = client.clientPort
    this.protocol = listener.settings.protocol
    this.listenerPort = listener.settings.listenerPort
    this.startedAt = Date.now()
    this.#t0 = performance.now()
    this.#keepAlive = head.keepAlive
    this.#requestDone = head.bodyKind === BodyKind.None
  }

  get userAgent (): string | undefined { return this.header('user-agent') }
  get target (): Target | null { return this.#target }

  header (name: string): string | undefined {
    const names = this.head.names
    let found: string | undefined
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== name) continue
      const v = this.head.values[i]!
      found = found === undefined ? v : `${found}${name === 'cookie' ? '; ' : ', '}${v}`
    }
    return found
  }

  get locals (): Record<string, unknown> { return this.#locals ??= {} }
  setHeader (name: string, value: string): void { setField(this.head, name, value) }
  removeHeader (name: string): void { removeField(this.head, name) }

  /** Runs the listener's plugins and routes the request, then answers it or sends it on its way to a target. */
  start (): void {
    this.#onRequest(0)
  }

  // ── plugin stages ───────────────────────────────────────────────────────────────────────────────────

  /** The listener plugins' onRequest hooks from position `from` on, then the rules. */
  #onRequest (from: number): void {
    const plugins = this.listener.onRequest
    for (let i = from; i < plugins.length; i++) {
      const p = plugins[i]!
      const r = p.call('onRequest', p.hooks.onRequest!, p.hooks, this)
      if (r === undefined || r === SKIP) continue
      if (r === FAIL) return this.#hookFailed()
      this.#park(Stage.OnRequest, i, p)
      if (isThenable(r)) return this.#wait(r)
      return this.#resume(r)
    }
    this.#route(0)
  }

  /** The first matching rule from position `from` on; a plugin action may pass the request on to the next. */
  #route (from: number): void {
    const rule = matchRule(this.listener.rules, this, from)
    if (rule === FAIL) return this.#hookFailed()
    if (rule === null) return this.#fail(404, Outcome.NoRoute, R_NO_ROUTE)
    this.ruleName = rule.name
    const action = rule.action
    if (action.type !== 'plugin') return this.#dispatch(action)
    const p = action.plugin
    this.#park(Stage.Route, rule.index, p)
    const r = p.call('route', p.hooks.route!, p.hooks, this)
    if (r === FAIL) return this.#hookFailed()
    if (isThenable(r)) return this.#wait(r)
    this.#resume(r === SKIP ? undefined : r)
  }

  #park (stage: Stage, at: number, plugin: PluginInstance): void {
    this.#stage = stage
    this.#at = at
    this.#plugin = plugin
  }

  /** A hook's answer (undefined: no opinion), in the stage it was parked in. */
  #resume (v: unknown): void {
    if (v === undefined || v === null) {
      if (this.#stage === Stage.OnRequest) return this.#onRequest(this.#at + 1)
      // A plugin default action without an answer leaves the request without a route.
      if (this.#at >= this.listener.rules.rules.length) return this.#fail(404, Outcome.NoRoute, R_NO_ROUTE)
      return this.#route(this.#at + 1)
    }
    const group = this.#stage === Stage.Route ? (v as { targetGroup?: unknown }).targetGroup : undefined
    if (typeof group === 'string') return this.#forwardTo(group)
    const reply = pluginReplyHead(v as Reply)
    if (reply instanceof Error) return this.#hookError(reply)
    this.status = reply.status
    if (this.#stage === Stage.OnRequest) this.ruleName = `plugin:${this.#plugin!.name}`
    this.#replyLocal(reply.head, reply.body)
  }

  #hookError (err: unknown): void {
    if (this.#plugin!.verdict(STAGE_HOOK[this.#stage]!, err) === FAIL) return this.#hookFailed()
    this.#resume(undefined)
  }

  /** Parks the exchange until a hook's promise settles or its time is up; the client body is held meanwhile. */
  #wait (promise: PromiseLike<unknown>): void {
    this.#waiting = true
    let settled = false
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      this.#waiting = false
      return !this.#finished
    }
    const timer = setTimeout(() => {
      if (!settle()) return
      this.#hookError(new Error(`timed out after ${this.#plugin!.timeoutMs} ms`))
      this.#afterWait()
    }, this.#plugin!.timeoutMs)
    promise.then((v) => {
      if (!settle()) return
      this.#resume(v)
      this.#afterWait()
    }, (err: unknown) => {
      if (!settle()) return
      this.#hookError(err)
      this.#afterWait()
    })
  }

  #afterWait (): void {
    const held = this.#held
    this.#held = null
    if (this.#waiting) return // parked again by the next hook: the held bytes wait for it
    if (held !== null && this.#conn !== null) for (const chunk of held) this.#conn.socket.write(chunk)
    this.flush()
    this.client.resumeReading()
  }

  /** A fail-closed plugin failed (a contained call gave FAIL): the request gets 500. */
  #hookFailed (): void {
    this.#fail(500, Outcome.HookFailed, `plugin-failed:${closedBy()}`)
  }

  // ── routing ─────────────────────────────────────────────────────────────────────────────────────────

  #dispatch (action: Action): void {
    if (action.type === 'fixed-response') {
      this.status = action.statusCode
      this.#replyLocal(action.head, action.body)
      return
    }
    if (action.type === 'redirect') {
      this.status = action.statusCode
      this.#replyLocal(redirectHead(action.statusCode, action.location(this)), null)
      return
    }
    if (action.type === 'forward') this.#forwardTo(action.pick())
  }

  #forwardTo (name: string): void {
    this.groupName = name
    const group = this.listener.groups.get(name)
    if (group === undefined) return this.#fail(503, Outcome.NoTarget, R_NO_GROUP)
    const target = select(group.selector, this, group.group)
    if (target === FAIL) return this.#hookFailed()
    if (target === null) return this.#fail(503, Outcome.NoTarget, R_NO_TARGET)
    this.#group = group
    this.#target = target
    this.targetId = target.endpoint.id
    target.endpoint.inFlight++
    if (runOnForward(this.listener.onForward, this, target) === FAIL || runOnForward(group.onForward, this, target) === FAIL) return this.#hookFailed()
    const s = this.listener.settings
    const hostValue = s.preserveHost && this.host !== '' ? this.host : target.endpoint.id
    this.#outHead = rewriteRequestHead(this.head, this.query === '' ? this.path : `${this.path}?${this.query}`,
      hostValue, this.clientIp, this.clientPort, s)
    this.#connect(false)
  }

  /** Sends what start() and the first sendBody() calls queued. */
  flush (): void {
    if (this.#conn !== null && this.#conn.socket.writableCorked > 0) this.#conn.socket.uncork()
  }

  #connect (fresh: boolean): void {
    const pool = (this.#target!.endpoint as EndpointState).pool
    const conn = (fresh ? null : pool.takeIdle()) ?? pool.open()
    this.#conn = conn
    conn.attach(this, this.#group!.responseTimeoutMs)
    // On the first try the head is held back until the client connection has passed on the body bytes that
    // came with it (flush()), so head and first body bytes leave in one write.
    if (!fresh) conn.socket.cork()
    conn.socket.write(this.#outHead, 'latin1')
  }

  /** A slice of the request body from the client; false asks the client to pause until onTargetDrain. */
  sendBody (chunk: Buffer): boolean {
    this.requestBytes += chunk.length
    if (this.#waiting) {
      (this.#held ??= []).push(Buffer.from(chunk)) // the client pauses until the hook has decided
      return false
    }
    if (this.#conn === null) return true // answered locally: the body is read and dropped
    return this.#conn.socket.write(chunk)
  }

  onRequestComplete (): void {
    this.#requestDone = true
    if (this.#responseDone) this.#finish()
  }

  // ── target side ─────────────────────────────────────────────────────────────────────────────────────

  onTargetData (chunk: Buffer): void {
    if (this.#tunnel) {
      this.responseBytes += chunk.length
      if (!this.client.writeTransient(chunk)) this.#conn!.socket.pause()
      return
    }
    if (!this.#headSeen) return this.#readHead(chunk)
    this.#readBody(chunk, 0)
  }

  #readHead (chunk: Buffer): void {
    let buf = this.#resHead === null ? chunk : Buffer.concat([this.#resHead, chunk])
    for (;;) {
      const end = findHeadEnd(buf, 0, buf.length)
      if (end === -1) {
        if (buf.length > MAX_RESPONSE_HEAD) return this.#badResponse(R_BAD_HEAD_TOO_BIG)
        this.#resHead = buf === chunk ? Buffer.from(chunk) : buf // chunk is only lent to us
        return
      }
      if (end === -2) return this.#badResponse('target-bare-lf')
      const res = parseResponseHead(buf.toString('latin1', 0, end), this.listener.settings)
      if (res instanceof HttpError) return this.#badResponse(res.reason)
      this.#resHead = null
      const status = res.status
      if (status < 200) {
        if (status === 101) {
          if (!this.head.upgrade) return this.#badResponse('target-unrequested-101')
          return this.#startTunnel(rewriteResponseHead(res, true, 1, true), end < buf.length ? buf.subarray(end) : null)
        }
        // 1xx interim responses are relayed to HTTP/1.1 clients only (RFC 9110 §15.2).
        if (this.head.minor === 1) this.client.write(rewriteResponseHead(res, true, 1, false))
        if (end === buf.length) return
        buf = buf.subarray(end)
        continue
      }
      const lp = this.listener.onResponse
      const gp = this.#group!.onResponse
      if (lp.length + gp.length !== 0) {
        const edit = new ResponseEdit(res)
        if (runOnResponse(lp, this, edit) === FAIL || runOnResponse(gp, this, edit) === FAIL) {
          const conn = this.#conn
          this.#conn = null
          conn?.destroy() // the rest of this response will not be read
          return this.#hookFailed()
        }
      }
      this.#headSeen = true
      this.status = status
      const noBody = this.method === 'HEAD' || status === 204 || status === 304
      this.#resKind = noBody ? BodyKind.None : res.bodyKind
      this.#resRemaining = res.contentLength
      if (this.#resKind === BodyKind.Length && res.contentLength === 0) this.#resKind = BodyKind.None
      // The client connection is kept only if this exchange ends cleanly framed on both sides.
      this.#keepAlive = this.#keepAlive && this.#requestDone && this.#resKind !== BodyKind.Close && !this.client.draining
      this.#closeAfter = !res.keepAlive
      const out = rewriteResponseHead(res, this.#keepAlive, this.head.minor, false)
      if (this.#resKind === BodyKind.None) {
        this.client.write(out)
        if (end < buf.length) this.#closeAfter = true // bytes after a complete response: never reuse
        return this.#onResponseDone()
      }
      if (end === buf.length) {
        this.client.write(out)
        return
      }
      this.#readBody(buf, end, out)
      return
    }
  }

  /** Streams response body bytes buf[start..] to the client; `head`, when given, goes out in the same write. */
  #readBody (buf: Buffer, start: number, head?: string): void {
    let end = buf.length
    let done = false
    if (this.#resKind === BodyKind.Length) {
      if (end - start >= this.#resRemaining) {
        end = start + this.#resRemaining
        done = true
      }
      this.#resRemaining -= end - start
    } else if (this.#resKind === BodyKind.Chunked) {
      const scanner = this.#scanner ??= new ChunkedScanner()
      const r = scanner.scan(buf, start, end)
      if (r === -2) return this.#badResponse(scanner.error?.reason ?? 'target-bad-chunk')
      if (r !== -1) {
        end = r
        done = true
      }
    }
    const body = start === 0 && end === buf.length ? buf : buf.subarray(start, end)
    this.responseBytes += body.length
    const ok = head === undefined ? this.client.writeTransient(body) : this.client.writeHeadAndBody(head, body)
    if (!ok && !done) this.#conn?.socket.pause()
    if (done) {
      if (end < buf.length) this.#closeAfter = true
      this.#onResponseDone()
    }
  }

  onClientDrain (): void {
    this.#conn?.socket.resume()
  }

  onTargetDrain (): void {
    this.client.resumeReading()
  }

  onTargetClose (hadBytes: boolean): void {
    const conn = this.#conn
    this.#conn = null
    if (this.#finished) return
    if (this.#tunnel) return this.#endBoth()
    if (this.#headSeen) {
      if (this.#resKind === BodyKind.Close) return this.#onResponseDone()
      return this.#cutShort(Outcome.ConnectFailed, R_CLOSED)
    }
    // The stale keep-alive race: a reused connection closed as we sent. Safe to retry once if nothing
    // was received and the request had no body to replay.
    if (!hadBytes && conn !== null && conn.uses > 1 && !this.#retried && this.head.bodyKind === BodyKind.None &&
      IDEMPOTENT.has(this.method)) {
      this.#retried = true
      this.#connect(true)
      return
    }
    this.#fail(502, Outcome.ConnectFailed, conn !== null && conn.connected ? R_CLOSED : R_REFUSED)
  }

  onTargetTimeout (): void {
    const conn = this.#conn
    this.#conn = null
    conn?.destroy()
    if (this.#tunnel) {
      this.client.destroy()
      return this.#endBoth()
    }
    if (this.#headSeen) return this.#cutShort(Outcome.Timeout, R_TIMEOUT)
    const connecting = conn !== null && !conn.connected
    this.#fail(504, Outcome.Timeout, connecting ? R_CONNECT_TIMEOUT : R_TIMEOUT)
  }

  #badResponse (reason: string): void {
    const conn = this.#conn
    this.#conn = null
    conn?.destroy() // a target out of step is never reused
    if (this.#headSeen) return this.#cutShort(Outcome.BadResponse, reason)
    this.#fail(502, Outcome.BadResponse, reason)
  }

  #startTunnel (head: string, extra: Buffer | null): void {
    this.#tunnel = true
    this.#headSeen = true
    this.status = 101
    this.client.writeHeadAndBody(head, extra)
    this.#conn!.setTimeout(this.listener.settings.idleTimeoutMs)
    this.client.startTunnel()
  }

  /** Client bytes after a 101. */
  tunnelWrite (chunk: Buffer): void {
    this.requestBytes += chunk.length
    if (this.#conn !== null && !this.#conn.socket.write(chunk)) this.client.pauseReading()
  }

  #onResponseDone (): void {
    this.#responseDone = true
    const conn = this.#conn
    if (conn !== null && (this.#closeAfter || !this.#requestDone)) {
      this.#conn = null
      conn.destroy()
    }
    if (this.#requestDone) this.#finish()
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────────────────────

  #replyLocal (head: string, body: Buffer | null): void {
    // A client waiting on 100-continue will not send its body now: close rather than wait for it.
    if ((!this.#requestDone && this.head.expectContinue) || this.client.draining) this.#keepAlive = false
    const end = this.#keepAlive ? '\r\n' : 'connection: close\r\n\r\n'
    this.responseBytes += body === null ? 0 : body.length
    this.client.writeHeadAndBody(head + end, body)
    this.#responseDone = true
    if (this.#requestDone) this.#finish()
  }

  #fail (status: number, outcome: Outcome, reason: string): void {
    this.status = status
    this.outcome = outcome
    this.reason = reason
    if (!this.#requestDone && this.head.expectContinue) this.#keepAlive = false
    if (!this.#requestDone || this.client.draining) this.#keepAlive = false // the rest of an unforwarded body is not worth reading
    const reply = prebuiltReply(status)
    this.client.write(this.#keepAlive ? reply.keepAlive : reply.close)
    this.#responseDone = true
    this.#requestDone = true
    this.#finish()
  }

  /**
   * The client went away, or its request went bad after routing. `status` is what the client connection
   * answered itself (408, 400), or 0 when nothing more can be sent.
   */
  abort (reason: string, status = 0): void {
    if (this.#finished) return
    const conn = this.#conn
    this.#conn = null
    conn?.destroy()
    if (status !== 0) {
      this.status = status
      this.outcome = Outcome.Ok
    } else if (!this.#responseDone) {
      this.outcome = Outcome.ClientAborted
    }
    this.reason ||= reason
    this.#endBoth()
  }

  /** The response had begun: the client can learn of the failure only by its connection closing. */
  #cutShort (outcome: Outcome, reason: string): void {
    this.outcome = outcome
    this.reason = reason
    this.client.destroy()
    this.#endBoth()
  }

  /** Ends the exchange on both sides at once; the client connection is not kept. */
  #endBoth (): void {
    this.#keepAlive = false
    this.#responseDone = this.#requestDone = true
    this.#finish()
  }

  #finish (): void {
    if (this.#finished) return
    this.#finished = true
    const conn = this.#conn
    this.#conn = null
    if (conn !== null) {
      if (this.#tunnel) conn.destroy()
      else conn.release()
    }
    if (this.#target !== null) this.#target.endpoint.inFlight--
    this.durationMs = performance.now() - this.#t0
    this.listener.observer.onRequestEnd(this)
    this.client.onExchangeDone(this.#keepAlive)
  }
}

