// One client connection: reads request heads and bodies strictly, one request at a time, in order.
//
//   idle ──first byte──► head ──complete head──► body (Content-Length or chunked, validated) ──► waiting
//     ▲                    │ malformed / too big / too slow: 4xx, close                            │
//     └──────────── response done and both sides framed cleanly (keep-alive) ◄────────────────────┘
//
// Pipelined bytes that arrive while a request is in flight wait in #buf with the socket paused, so
// responses go out in request order (RFC 9112 §9.3.2). After a 101 the connection becomes a tunnel.
import type net from 'node:net'
import { BodyKind, findHeadEnd, HttpError, skipLeadingCrlf } from '../http1/head.ts'
import { hasBody, parseRequestHead, type RequestHead } from '../http1/request-head.ts'
import { ChunkedScanner } from '../http1/chunked.ts'
import { Exchange, type ClientSide } from '../forwarder/exchange.ts'
import { prebuiltReply } from '../forwarder/local-reply.ts'
import type { ListenerRuntime } from '../runtime.ts'
import type { ConnectionInfo } from '../plugin-api.ts'

/** Bodies up to this size go out in one buffer with their head (a copy costs less than a writev). */
const SMALL_BODY = 16384

const Phase = { Idle: 0, Head: 1, Body: 2, Waiting: 3, Tunnel: 4, Closed: 5 } as const
type Phase = (typeof Phase)[keyof typeof Phase]

/** The listener's view of its connections: the current snapshot, and bookkeeping for drain. */
export interface ConnectionOwner {
  readonly runtime: ListenerRuntime
  readonly draining: boolean
  onConnectionClosed (conn: ClientConnection): void
}

export class ClientConnection implements ClientSide {
  readonly socket: net.Socket
  readonly owner: ConnectionOwner
  readonly clientIp: string
  readonly clientPort: number
  readonly connection: ConnectionInfo | null
  #phase: Phase = Phase.Idle
  #buf: Buffer | null = null
  #exchange: Exchange | null = null
  /** When the head being read began: accept for the first request (HAProxy's `timeout http-request`), its first byte after. */
  #headStartedAt = Date.now()
  #requests = 0
  #bodyRemaining = 0
  // Body-rate accounting (Kestrel's MinRequestBodyDataRate): time the proxy held the client back does not count.
  #bodyStartedAt = 0
  #bodyBytes = 0
  #pausedAt = 0
  #pausedMs = 0
  #scanner: ChunkedScanner | null = null
  #driving = false
  #clientEnded = false
  /** The socket's armed timeout: re-armed only on change, as each setTimeout() allocates a timer in Node. */
  #timeoutMs = 0

  constructor (socket: net.Socket, owner: ConnectionOwner, connection: ConnectionInfo | null = null) {
    this.socket = socket
    this.owner = owner
    this.connection = connection
    const ip = socket.remoteAddress ?? ''
    this.clientIp = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
    this.clientPort = socket.remotePort ?? 0
    socket.setNoDelay(true)
    this.#setTimeout(owner.runtime.settings.headerTimeoutMs) // the first head is due this long after accept
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#exchange?.onClientDrain())
    socket.on('timeout', () => this.#onTimeout())
    socket.on('end', () => this.#onEnd())
    socket.on('error', () => {}) // 'close' follows
    socket.on('close', () => this.#onClose())
  }

  /** A request is in progress (routed, not yet answered in full). */
  get busy (): boolean { return this.#exchange !== null }

  get draining (): boolean { return this.owner.draining }

  // ── ClientSide, for the Exchange ────────────────────────────────────────────────────────────────────

  write (data: Buffer | string): boolean {
    if (this.socket.destroyed) return true
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data)
  }

  writeTransient (chunk: Buffer): boolean {
    if (this.socket.destroyed) return true
    return this.socket.write(Buffer.from(chunk))
  }

  writeHeadAndBody (head: string, body: Buffer | null): boolean {
    if (this.socket.destroyed) return true
    if (body === null || body.length === 0) return this.socket.write(head, 'latin1')
    if (body.length <= SMALL_BODY) {
      // One buffer, one plain write: cheaper in Node than cork + writev of a string and a buffer.
      const out = Buffer.allocUnsafe(head.length + body.length)
      out.write(head, 0, 'latin1')
      body.copy(out, head.length)
      return this.socket.write(out)
    }
    this.socket.cork()
    this.socket.write(head, 'latin1')
    const ok = this.socket.write(Buffer.from(body))
    this.socket.uncork()
    return ok
  }

  #setTimeout (ms: number): void {
    if (ms === this.#timeoutMs) return
    this.#timeoutMs = ms
    this.socket.setTimeout(ms)
  }

  pauseReading (): void { this.socket.pause() }

  resumeReading (): void {
    if (this.#phase !== Phase.Body && this.#phase !== Phase.Tunnel) return
    if (this.#pausedAt !== 0) {
      this.#pausedMs += Date.now() - this.#pausedAt
      this.#pausedAt = 0
    }
    this.socket.resume()
  }

  /** Holds the client's body back (the target or a hook is not ready for more): the body's clocks stop. */
  #holdBody (): void {
    if (this.#pausedAt === 0) this.#pausedAt = Date.now()
    this.socket.pause()
  }
  destroy (): void { this.socket.destroy() }

  startTunnel (): void {
    this.#phase = Phase.Tunnel
    this.#setTimeout(this.owner.runtime.settings.idleTimeoutMs)
    const rest = this.#buf
    this.#buf = null
    if (rest !== null) this.#exchange!.tunnelWrite(rest)
    this.socket.resume()
  }

  onExchangeDone (keepAlive: boolean): void {
    this.#exchange = null
    if (!keepAlive || this.#clientEnded || this.owner.draining) {
      this.#close()
      return
    }
    this.#phase = Phase.Idle
    this.#setTimeout(this.owner.runtime.settings.idleTimeoutMs)
    this.socket.resume()
    if (this.#buf !== null && !this.#driving) this.#drive()
  }

  // ── reading ─────────────────────────────────────────────────────────────────────────────────────────

  #onData (chunk: Buffer): void {
    switch (this.#phase) {
      case Phase.Body:
        return this.#readBody(chunk, 0)
      case Phase.Tunnel:
        return this.#exchange!.tunnelWrite(chunk)
      case Phase.Waiting:
        this.#stash(chunk, 0)
        this.socket.pause() // pipelined: answer in order, read on when this response is done
        return
      case Phase.Closed:
        return
      default:
        this.#buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk])
        this.#drive()
    }
  }

  #stash (chunk: Buffer, from: number): void {
    const rest = from === 0 ? chunk : chunk.subarray(from)
    this.#buf = this.#buf === null ? rest : Buffer.concat([this.#buf, rest])
  }

  /** Parses as many complete request heads from #buf as the phase allows. */
  #drive (): void {
    this.#driving = true
    const settings = this.owner.runtime.settings
    while (this.#buf !== null && (this.#phase === Phase.Idle || this.#phase === Phase.Head)) {
      const buf = this.#buf
      // RFC 9112 §2.2: ignore at least one empty line before a request-line.
      const start = this.#phase === Phase.Idle ? skipLeadingCrlf(buf, 0, buf.length) : 0
      if (start === buf.length) {
        this.#buf = null
        if (this.#requests === 0 && Date.now() - this.#headStartedAt > settings.headerTimeoutMs) this.#close()
        break
      }
      const end = findHeadEnd(buf, start, buf.length)
      if (end === -1) {
        if (buf.length - start > settings.maxHeadBytes) return this.#reject(431, 'head-too-large')
        if (this.#phase === Phase.Idle) {
          this.#phase = Phase.Head
          if (this.#requests !== 0) this.#headStartedAt = Date.now()
          this.#setTimeout(settings.headerTimeoutMs)
        }
        if (Date.now() - this.#headStartedAt > settings.headerTimeoutMs) return this.#reject(408, 'header-timeout')
        this.#buf = start === 0 ? buf : buf.subarray(start)
        break
      }
      if (end === -2) return this.#reject(400, 'bare-lf')
      if (end - start > settings.maxHeadBytes) return this.#reject(431, 'head-too-large')
      const head = parseRequestHead(buf.toString('latin1', start, end), settings)
      if (head instanceof HttpError) return this.#reject(head.status, head.reason)
      this.#buf = end < buf.length ? buf.subarray(end) : null
      this.#startRequest(head)
    }
    this.#driving = false
  }

  #startRequest (head: RequestHead): void {
    if (head.method === 'CONNECT') return this.#reject(405, 'connect-not-supported')
    const runtime = this.owner.runtime
    const ex = new Exchange(runtime, this, head)
    this.#exchange = ex
    this.#requests++
    if (!hasBody(head)) {
      this.#phase = Phase.Waiting
    } else {
      this.#phase = Phase.Body
      this.#bodyRemaining = head.contentLength
      this.#bodyStartedAt = this.#bodyBytes = this.#pausedAt = this.#pausedMs = 0
      if (head.bodyKind === BodyKind.Chunked) (this.#scanner ??= new ChunkedScanner()).reset()
      this.#setTimeout(runtime.settings.bodyTimeoutMs)
    }
    ex.start()
    if (this.#phase === Phase.Body && this.#buf !== null) {
      const buf = this.#buf
      this.#buf = null
      this.#readBody(buf, 0)
    }
    ex.flush()
  }

  /** Request body bytes chunk[from..]: passes them on (validated) and notices where the body ends. */
  #readBody (chunk: Buffer, from: number): void {
    const ex = this.#exchange!
    if (this.owner.runtime.settings.minBodyRate !== 0 && this.#tooSlow(chunk.length - from)) {
      if (!ex.responseStarted) return this.#rejectInExchange(408, 'body-rate-too-low')
      ex.abort('body-rate-too-low')
      return this.#close()
    }
    let end = chunk.length
    let done = false
    if (ex.head.bodyKind === BodyKind.Length) {
      if (end - from >= this.#bodyRemaining) {
        end = from + this.#bodyRemaining
        done = true
      }
      this.#bodyRemaining -= end - from
    } else {
      const scanner = this.#scanner!
      const r = scanner.scan(chunk, from, end)
      if (r === -2) {
        const reason = scanner.error?.reason ?? 'bad-chunk'
        if (!ex.responseStarted) return this.#rejectInExchange(400, reason)
        ex.abort(reason)
        return
      }
      if (r !== -1) {
        end = r
        done = true
      }
    }
    if (end > from) {
      const ok = ex.sendBody(from === 0 && end === chunk.length ? chunk : chunk.subarray(from, end))
      if (!ok && !done) this.#holdBody()
    }
    if (!done) return
    if (end < chunk.length) this.#stash(chunk, end)
    this.#phase = Phase.Waiting
    if (this.#buf !== null) this.socket.pause()
    ex.onRequestComplete()
  }

  /**
   * The body's average rate, counting these `n` bytes, is below the listener's minimum after its grace period.
   * Checked as bytes arrive, so a trickle is cut at its next byte; a client that stops sending altogether is
   * bounded by the body timeout instead. The clock starts with the first body byte, not the head: a client that
   * sent `Expect: 100-continue` rightly waits for the target's 100 before it sends any.
   */
  #tooSlow (n: number): boolean {
    const now = Date.now()
    if (this.#bodyStartedAt === 0) this.#bodyStartedAt = now
    this.#bodyBytes += n
    const s = this.owner.runtime.settings
    const active = now - this.#bodyStartedAt - this.#pausedMs
    return active > s.minBodyRateGraceMs && this.#bodyBytes * 1000 < s.minBodyRate * active
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────────────────────

  /** Answers a request that could not be read one way only, and closes: the rest of the stream is unframed. */
  #reject (status: number, reason: string): void {
    this.#driving = false
    this.owner.runtime.observer.onRejected(this.owner.runtime, this.clientIp, status, reason)
    this.socket.write(prebuiltReply(status).close)
    this.#close()
  }

  /** The same, for a request already routed (its body went bad or stalled before any response byte). */
  #rejectInExchange (status: number, reason: string): void {
    const ex = this.#exchange!
    this.socket.write(prebuiltReply(status).close)
    ex.abort(reason, status) // ends the exchange, and with it this connection
  }

  #onTimeout (): void {
    switch (this.#phase) {
      case Phase.Idle: // no byte of a next request (or, for a first one, none since accept): close quietly
        return this.#close()
      case Phase.Head:
        return this.#reject(408, 'header-timeout')
      case Phase.Body: {
        if (this.#pausedAt !== 0) return // held back by us: the target's timeouts bound the wait
        const ex = this.#exchange
        if (ex !== null && !ex.responseStarted) return this.#rejectInExchange(408, 'body-timeout')
        ex?.abort('body-timeout')
        return this.#close()
      }
      case Phase.Tunnel:
        this.#exchange?.abort('idle-timeout')
        return this.#close()
      default:
        // Waiting on the target: its connect and response timeouts bound the wait, not the client's.
    }
  }

  #onEnd (): void {
    this.#clientEnded = true
    // Half-closed after a complete request: the response still goes out, then we close.
    if (this.#phase === Phase.Idle || this.#phase === Phase.Head) this.#close()
    else if (this.#phase === Phase.Body || this.#phase === Phase.Tunnel) {
      this.#exchange?.abort('client-closed')
      this.#close()
    }
  }

  #close (): void {
    if (this.#phase === Phase.Closed) return
    this.#phase = Phase.Closed
    this.#buf = null
    this.socket.end()
    // A client that neither reads nor closes must not hold the socket: give it one idle period to finish.
    this.socket.setTimeout(this.owner.runtime.settings.idleTimeoutMs, () => this.socket.destroy())
  }

  #onClose (): void {
    this.#phase = Phase.Closed
    const ex = this.#exchange
    this.#exchange = null
    ex?.abort('client-closed')
    this.owner.onConnectionClosed(this)
  }

  /** Drain: close now if idle; otherwise close after the current exchange (whose response says so). */
  closeIfIdle (): void {
    if (this.#phase === Phase.Idle) this.#close()
  }
}
