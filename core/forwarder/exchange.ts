// One request on the HTTP/1.1 wire, from its routed head to the last response byte: the engine's per-request
// handler object, between the client connection (ClientSide) and a target connection (TargetSide).
//
// State machine (one Exchange per request; the client connection owns the request body, the Exchange owns
// everything from the target):
//
//   start ─ decision (decision/decide.ts) ─┬─ reply / fail ────────────────────────────────────────► local reply
//                                          └─ forward ─ reuse ─ write head ─► awaiting head
//                                                     └─ connect (head and body held) ─ 'connect' ─ write them ─► awaiting head
//   a failed attempt ─ attemptFailed (decide.ts) ─ what next (attempts.ts) ─┬─ same target, fresh connection
//                                                                           ├─ redispatch (decide.ts) ─► forward
//                                                                           └─ 502 / 504, or cut short
//   awaiting head ─┬─ 1xx ─► relay (1.1 clients) ─► awaiting head
//                  ├─ 101 to an upgrade request ─► tunnel (bytes both ways until either side closes)
//                  └─ final ─ onResponse (decide.ts respond) ─► streaming body (length / chunked / until close) ─► done
//   done = response complete AND request body complete; then the target connection goes back to its pool
//   only if both sides framed the exchange cleanly, and the client connection reads its next request.
//
// The Exchange is the decision's sink: while a hook's promise is awaited (park), the client's body is held back.
import { BodyKind, findHeadEnd, HttpError } from '../http1/head.ts'
import { hasBody, type RequestHead } from '../http1/request-head.ts'
import { parseResponseHead } from '../http1/response-head.ts'
import { ChunkedScanner } from '../http1/chunked.ts'
import { Outcome, type Target } from '../pipeline.ts'
import type { GroupRuntime, ListenerRuntime } from '../runtime.ts'
import type { ConnectionInfo } from '../plugin-api.ts'
import { EngineRequest } from '../decision/request.ts'
import { addedFields, attemptFailed, decide, ended, failClosed, redispatch, respond, type DecisionSink } from '../decision/decide.ts'
import { FAIL } from '../plugin/instance.ts'
import type { ConnectionUser, TargetSide } from './target-pool.ts'
import { Attempts, Next } from './attempts.ts'
import { prebuiltReply } from './local-reply.ts'
import { rewriteRequestHead, rewriteResponseHead } from './rewrite-head.ts'

/** What an Exchange needs from the client side (listener/client-connection.ts). */
export interface ClientSide {
  readonly clientIp: string
  readonly clientPort: number
  /** What the listener kind attached to the connection (sink.http), for the request's hooks. */
  readonly connection: ConnectionInfo | null
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

const R_UNKNOWN_ENDPOINT = 'unknown-endpoint'
const R_REFUSED = 'target-connect-failed'
const R_CLOSED = 'target-closed-early'
const R_TIMEOUT = 'target-timeout'
const R_CONNECT_TIMEOUT = 'target-connect-timeout'
const R_BAD_HEAD_TOO_BIG = 'target-head-too-large'

export class Exchange implements DecisionSink, ConnectionUser {
  readonly client: ClientSide
  /** The request as plugins, rules and the access log see it. */
  readonly req: EngineRequest
  readonly head: RequestHead
  /**
   * The final response (the target's, or one of our own) has begun on the wire: the client connection can no
   * longer answer a failure of the request body with a status of its own. Interim (1xx) responses do not count.
   */
  responseStarted = false

  #target: Target | null = null
  #group: GroupRuntime | null = null
  #conn: TargetSide | null = null
  #outHead = ''
  /** A new connection is not established yet: the head waits, and body bytes wait in #held, for 'connect'. */
  #connecting = false
  /** The client connection has passed on the body bytes that came with the head (flush): no more cork. */
  #flushed = false
  /** Made on the first failed attempt: which may go again, and the targets tried. */
  #attempts: Attempts | null = null
  #requestDone: boolean
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
  // a parked decision: body bytes held until it settles
  #parked = false
  #held: Buffer[] | null = null

  constructor (listener: ListenerRuntime, client: ClientSide, head: RequestHead) {
    this.client = client
    this.head = head
    this.req = new EngineRequest(listener, head, client.clientIp, client.clientPort, client.connection)
    this.#keepAlive = head.keepAlive
    this.#requestDone = !hasBody(head)
  }

  get finished (): boolean { return this.#finished }

  /** Decides the request, then answers it or sends it on its way to a target. */
  start (): void {
    decide(this.req, this)
  }

  // ── DecisionSink ────────────────────────────────────────────────────────────────────────────────────

  park (): void { this.#parked = true }

  unpark (): void {
    this.#parked = false
    // The decision goes on now; whatever it does (forward, reply, park again) must see the held bytes after it.
    queueMicrotask(() => this.#afterWait())
  }

  #afterWait (): void {
    // Parked again by the next hook, or forwarded on a connection not established yet: the held bytes wait.
    if (this.#parked || this.#finished || this.#connecting) return
    const held = this.#held
    this.#held = null
    if (held !== null && this.#conn !== null) for (const chunk of held) this.#conn.write(chunk)
    this.flush()
    this.client.resumeReading()
  }

  forward (group: GroupRuntime, target: Target): void {
    const connector = this.req.listener.endpoints.connector(target.endpoint)
    if (connector === undefined) return this.fail(502, Outcome.ConnectFailed, R_UNKNOWN_ENDPOINT)
    this.#group = group
    this.#target = target
    target.endpoint.inFlight++
    const req = this.req
    const s = req.listener.settings
    const hostValue = s.preserveHost && req.host !== '' ? req.host : target.endpoint.id
    this.#outHead = rewriteRequestHead(this.head, req.query === '' ? req.path : `${req.path}?${req.query}`,
      hostValue, req.clientIp, req.clientPort, s)
    this.#connect(false)
  }

  reply (status: number, head: string, body: Buffer | null): void {
    this.req.status = status
    // A client waiting on 100-continue will not send its body now: close rather than wait for it.
    if ((!this.#requestDone && this.head.expectContinue) || this.client.draining) this.#keepAlive = false
    const end = this.#keepAlive ? '\r\n' : 'connection: close\r\n\r\n'
    this.req.responseBytes += body === null ? 0 : body.length
    this.responseStarted = true
    this.client.writeHeadAndBody(head + end, body)
    this.#responseDone = true
    if (this.#requestDone) this.#finish()
  }

  fail (status: number, outcome: Outcome, reason: string): void {
    const req = this.req
    req.status = status
    req.outcome = outcome
    req.reason = reason
    // The rest of an unforwarded body is not worth reading.
    if (!this.#requestDone || this.client.draining) this.#keepAlive = false
    const reply = prebuiltReply(status)
    this.responseStarted = true
    this.client.write(this.#keepAlive ? reply.keepAlive : reply.close)
    this.#responseDone = true
    this.#requestDone = true
    this.#finish()
  }

  // ── the request, from the client side ───────────────────────────────────────────────────────────────

  /** Sends what start() and the first sendBody() calls queued. */
  flush (): void {
    this.#flushed = true
    this.#conn?.flush()
  }

  #connect (fresh: boolean): void {
    const pool = this.req.listener.endpoints.connector(this.#target!.endpoint)!
    const conn = (fresh ? null : pool.takeIdle()) ?? pool.open()
    this.#conn = conn
    conn.attach(this, this.#group!.responseTimeoutMs)
    // A new connection gets no byte before it is established, so a refusal or a connect timeout leaves the
    // whole request (head, held body bytes) to send elsewhere. Loopback connects in well under a millisecond;
    // a reused connection is established already and pays nothing.
    if (conn.connected) this.#send(conn)
    else this.#connecting = true
  }

  onTargetConnect (): void {
    if (!this.#connecting) return
    this.#connecting = false
    this.#send(this.#conn!)
  }

  /** Writes the head and the body bytes held back, in one segment. */
  #send (conn: TargetSide): void {
    conn.cork()
    conn.write(this.#outHead)
    const held = this.#held
    let ok = true
    if (held !== null) {
      this.#held = null
      for (let i = 0; i < held.length; i++) ok = conn.write(held[i]!)
    }
    // Before the client connection's first flush() the cork stays, so the body bytes that came with the head
    // join the head in that one write.
    if (!this.#flushed) return
    conn.flush()
    if (held !== null && ok) this.client.resumeReading() // else onTargetDrain does
  }

  /** A slice of the request body from the client; false asks the client to pause until onTargetDrain. */
  sendBody (chunk: Buffer): boolean {
    this.req.requestBytes += chunk.length
    if (this.#parked || this.#connecting) {
      // The client pauses until the hook has decided, or the connection is established (#send resumes it).
      (this.#held ??= []).push(Buffer.from(chunk))
      return false
    }
    if (this.#conn === null) return true // answered locally: the body is read and dropped
    return this.#conn.write(chunk)
  }

  onRequestComplete (): void {
    this.#requestDone = true
    if (this.#responseDone) this.#finish()
  }

  // ── target side ─────────────────────────────────────────────────────────────────────────────────────

  onTargetData (chunk: Buffer): void {
    if (this.#tunnel) {
      this.req.responseBytes += chunk.length
      if (!this.client.writeTransient(chunk)) this.#conn!.pause()
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
      const res = parseResponseHead(buf.toString('latin1', 0, end), this.req.listener.settings)
      if (res instanceof HttpError) return this.#badResponse(res.reason)
      this.#resHead = null
      const status = res.status
      if (status < 200) {
        if (status === 101) {
          if (!this.head.upgrade) return this.#badResponse('target-unrequested-101')
          addedFields(this.req, res)
          return this.#startTunnel(rewriteResponseHead(res, true, 1, true), end < buf.length ? buf.subarray(end) : null)
        }
        // 1xx interim responses are relayed to HTTP/1.1 clients only (RFC 9110 §15.2).
        if (this.head.minor === 1) this.client.write(rewriteResponseHead(res, true, 1, false))
        if (end === buf.length) return
        buf = buf.subarray(end)
        continue
      }
      if (respond(this.req, res) === FAIL) {
        const conn = this.#conn
        this.#conn = null
        conn?.destroy() // the rest of this response will not be read
        return failClosed(this)
      }
      this.#headSeen = true
      this.req.status = status
      const noBody = this.head.method === 'HEAD' || status === 204 || status === 304
      this.#resKind = noBody ? BodyKind.None : res.bodyKind
      this.#resRemaining = res.contentLength
      if (this.#resKind === BodyKind.Length && res.contentLength === 0) this.#resKind = BodyKind.None
      // The client connection is kept only if this exchange ends cleanly framed on both sides.
      this.#keepAlive = this.#keepAlive && this.#requestDone && this.#resKind !== BodyKind.Close && !this.client.draining
      this.#closeAfter = !res.keepAlive
      const out = rewriteResponseHead(res, this.#keepAlive, this.head.minor, false)
      this.responseStarted = true
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
    this.req.responseBytes += body.length
    const ok = head === undefined ? this.client.writeTransient(body) : this.client.writeHeadAndBody(head, body)
    if (!ok && !done) this.#conn?.pause()
    if (done) {
      if (end < buf.length) this.#closeAfter = true
      this.#onResponseDone()
    }
  }

  onClientDrain (): void {
    this.#conn?.resume()
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
      attemptFailed(this.req, this.#target!, 'reset')
      return this.#cutShort(Outcome.ConnectFailed, R_CLOSED)
    }
    const attempts = this.#attempts ??= new Attempts()
    if (conn !== null && !conn.connected) {
      this.#connecting = false
      attemptFailed(this.req, this.#target!, 'connect-refused')
      return this.#next(attempts.connectFailed(), 502, Outcome.ConnectFailed, R_REFUSED)
    }
    // A reused connection closed as we sent, with nothing received, is likely the stale keep-alive race: the
    // target is well, and is not reported (if it is down, the retry on a fresh connection reports the refusal).
    const stale = !hadBytes && conn !== null && conn.uses > 1
    if (!stale) attemptFailed(this.req, this.#target!, 'reset')
    const next = hadBytes || conn === null ? Next.Fail : attempts.reset(this.head, conn.uses > 1)
    this.#next(next, 502, Outcome.ConnectFailed, R_CLOSED)
  }

  onTargetTimeout (): void {
    const conn = this.#conn
    this.#conn = null
    conn?.destroy()
    if (this.#tunnel) {
      this.client.destroy()
      return this.#endBoth()
    }
    if (conn !== null && !conn.connected) {
      this.#connecting = false
      attemptFailed(this.req, this.#target!, 'connect-timeout')
      return this.#next((this.#attempts ??= new Attempts()).connectFailed(), 504, Outcome.Timeout, R_CONNECT_TIMEOUT)
    }
    // Never retried: the target has the request and may have acted on it.
    attemptFailed(this.req, this.#target!, 'timeout')
    if (this.#headSeen) return this.#cutShort(Outcome.Timeout, R_TIMEOUT)
    this.fail(504, Outcome.Timeout, R_TIMEOUT)
  }

  /**
   * After a failed attempt: once more on a fresh connection, or to another eligible target of the group
   * (decide.ts redispatch; the in-flight count moves with the request), or the failure `status, outcome, reason`
   * when neither may be or the group has no other target.
   */
  #next (next: Next, status: number, outcome: Outcome, reason: string): void {
    if (next === Next.SameTarget) {
      this.req.retries++
      return this.#connect(true)
    }
    if (next === Next.Fail) return this.fail(status, outcome, reason)
    const failed = this.#target!
    failed.endpoint.inFlight--
    this.#target = null
    const tried = this.#attempts!.tried
    tried.push(failed)
    if (!redispatch(this.req, this, tried)) this.fail(status, outcome, reason)
  }

  #badResponse (reason: string): void {
    const conn = this.#conn
    this.#conn = null
    conn?.destroy() // a target out of step is never reused
    attemptFailed(this.req, this.#target!, 'bad-response')
    if (this.#headSeen) return this.#cutShort(Outcome.BadResponse, reason)
    this.fail(502, Outcome.BadResponse, reason)
  }

  #startTunnel (head: string, extra: Buffer | null): void {
    this.#tunnel = true
    this.#headSeen = true
    this.req.status = 101
    this.responseStarted = true
    this.client.writeHeadAndBody(head, extra)
    this.#conn!.setTimeout(this.req.listener.settings.idleTimeoutMs)
    this.client.startTunnel()
  }

  /** Client bytes after a 101. */
  tunnelWrite (chunk: Buffer): void {
    this.req.requestBytes += chunk.length
    if (this.#conn !== null && !this.#conn.write(chunk)) this.client.pauseReading()
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

  /**
   * The client went away, or its request went bad after routing. `status` is what the client connection
   * answered itself (408, 400), or 0 when nothing more can be sent.
   */
  abort (reason: string, status = 0): void {
    if (this.#finished) return
    const conn = this.#conn
    this.#conn = null
    conn?.destroy()
    const req = this.req
    if (status !== 0) {
      req.status = status
      req.outcome = Outcome.Ok
      this.responseStarted = true
    } else if (!this.#responseDone) {
      req.outcome = Outcome.ClientAborted
    }
    req.reason ||= reason
    this.#endBoth()
  }

  /** The response had begun: the client can learn of the failure only by its connection closing. */
  #cutShort (outcome: Outcome, reason: string): void {
    this.req.outcome = outcome
    this.req.reason = reason
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
    const req = this.req
    req.end()
    req.listener.observer.onRequestEnd(req)
    ended(req)
    this.client.onExchangeDone(this.#keepAlive)
  }
}
