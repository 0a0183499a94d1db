// Keep-alive connections to one target (host:port), shared by every group and snapshot that names it.
import net from 'node:net'
import type { Endpoint } from '../pipeline.ts'

/**
 * Every target socket of a shard reads into this one buffer (net's `onread`): no allocation per read, and no
 * Readable stream machinery. The bytes are valid only during onTargetData: whatever outlives it is copied.
 */
const READ_BUFFER = Buffer.allocUnsafe(65536)

/** What a pooled connection reports to while it carries a request (forwarder/exchange.ts). */
export interface ConnectionUser {
  /** A new connection is established: the request may go out now (nothing is written to it before). */
  onTargetConnect (): void
  /** `chunk` is a view of a shared read buffer, valid only during the call. */
  onTargetData (chunk: Buffer): void
  onTargetClose (hadBytes: boolean): void
  onTargetTimeout (): void
  onTargetDrain (): void
}

/**
 * What an Exchange needs from a connection to a target: the mirror of ClientSide (exchange.ts), so the engine
 * can be driven from both sides without sockets (test/core/forwarder).
 */
export interface TargetSide {
  /** Requests this connection has carried, this one included; > 1 means a close may be the stale keep-alive race. */
  readonly uses: number
  /** The TCP connection is established (a timeout before then is a connect timeout). */
  readonly connected: boolean
  /**
   * Starts one request: events go to `user`, and `responseTimeoutMs` bounds each wait for the target once it is
   * connected (user.onTargetConnect, for a connection not connected yet).
   */
  attach (user: ConnectionUser, responseTimeoutMs: number): void
  write (data: Buffer | string): boolean
  /** Holds writes back until flush(), so a head and the first body bytes leave in one segment. */
  cork (): void
  flush (): void
  pause (): void
  resume (): void
  setTimeout (ms: number): void
  /** The request is done and both sides framed it cleanly: back to the pool. */
  release (): void
  destroy (): void
}

/** Where an Exchange gets connections to one target: the endpoint's pool. */
export interface TargetConnector {
  /** An idle kept-alive connection, or null. */
  takeIdle (): TargetSide | null
  open (): TargetSide
}

/** The connectors of a shard's endpoints (EndpointRegistry): undefined for an endpoint no snapshot names. */
export interface Connectors {
  connector (endpoint: Endpoint): TargetConnector | undefined
}

/**
 * One socket to a target. Handlers are bound once per socket, never per request; while idle in the pool the
 * socket has no user and any byte or close it sees retires it.
 */
export class TargetConnection implements TargetSide {
  readonly socket: net.Socket
  readonly pool: TargetPool
  user: ConnectionUser | null = null
  /** Requests this connection has carried; > 0 means a close may be the stale keep-alive race. */
  uses = 0
  connected = false
  /** When it last went back to the pool (the pool's sweep closes it after the keep-alive timeout). */
  idleSince = 0
  #receivedAny = false
  #timeoutMs: number
  /** The user's response timeout, armed on 'connect' for a new connection (before then the connect timeout runs). */
  #responseTimeoutMs = 0

  constructor (pool: TargetPool, connectTimeoutMs: number) {
    this.pool = pool
    const socket = net.connect({
      host: pool.endpoint.host,
      port: pool.endpoint.port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n: number, buf: Buffer) => this.#onRead(n, buf) },
    })
    this.socket = socket
    this.#timeoutMs = connectTimeoutMs
    socket.setTimeout(connectTimeoutMs)
    socket.on('connect', () => this.#onConnect())
    socket.on('drain', () => this.user?.onTargetDrain())
    socket.on('timeout', () => this.#onTimeout())
    socket.on('error', () => {}) // 'close' follows and carries the consequence
    socket.on('close', () => this.#onClose())
  }

  /** Starts one request: the timeout now bounds each wait for the target (idle time, reset by any byte). */
  attach (user: ConnectionUser, responseTimeoutMs: number): void {
    this.user = user
    this.uses++
    this.#receivedAny = false
    this.#responseTimeoutMs = responseTimeoutMs
    if (this.connected) this.setTimeout(responseTimeoutMs)
  }

  /** Re-arms only on change: each socket.setTimeout() allocates a timer in Node, and requests are many. */
  setTimeout (ms: number): void {
    if (ms === this.#timeoutMs) return
    this.#timeoutMs = ms
    this.socket.setTimeout(ms)
  }

  write (data: Buffer | string): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data)
  }

  cork (): void { this.socket.cork() }
  flush (): void { if (this.socket.writableCorked > 0) this.socket.uncork() }
  pause (): void { this.socket.pause() }
  resume (): void { this.socket.resume() }

  /** Returns the connection to the pool, or closes it when the pool is full or closing. */
  release (): void {
    this.user = null
    this.pool.putIdle(this)
  }

  destroy (): void {
    this.user = null
    this.socket.destroy()
  }

  #onConnect (): void {
    this.connected = true
    const user = this.user
    if (user === null) return
    this.setTimeout(this.#responseTimeoutMs)
    user.onTargetConnect()
  }

  #onRead (n: number, buf: Buffer): boolean {
    this.#receivedAny = true
    if (this.user !== null) this.user.onTargetData(buf.subarray(0, n))
    else this.socket.destroy() // bytes on an idle connection: the target is out of step, never reuse it
    return true
  }

  #onTimeout (): void {
    if (this.user !== null) this.user.onTargetTimeout()
    else this.socket.destroy()
  }

  #onClose (): void {
    this.pool.forget(this)
    const user = this.user
    this.user = null
    if (user !== null) user.onTargetClose(this.#receivedAny)
  }
}

export interface PoolSettings {
  connectTimeoutMs: number
  keepAliveTimeoutMs: number
  maxIdle: number
}

/**
 * Idle connections in a stack, so the warmest (most recently used) is reused first; the oldest sit at the
 * bottom, where one sweep timer per pool closes them after the keep-alive timeout.
 */
export class TargetPool implements TargetConnector {
  readonly endpoint: Endpoint
  settings: PoolSettings
  #idle: TargetConnection[] = []
  #closed = false
  #sweeper: NodeJS.Timeout | null = null

  constructor (endpoint: Endpoint, settings: PoolSettings) {
    this.endpoint = endpoint
    this.settings = settings
  }

  /** An idle connection, or null when a new one must be opened. */
  takeIdle (): TargetConnection | null {
    const now = Date.now()
    for (;;) {
      const conn = this.#idle.pop()
      if (conn === undefined) return null
      if (now - conn.idleSince < this.settings.keepAliveTimeoutMs) return conn
      conn.socket.destroy() // the sweep has not come round yet; the ones below are older still
    }
  }

  open (): TargetConnection {
    return new TargetConnection(this, this.settings.connectTimeoutMs)
  }

  putIdle (conn: TargetConnection): void {
    if (this.#closed || this.#idle.length >= this.settings.maxIdle || conn.socket.destroyed) {
      conn.socket.destroy()
      return
    }
    conn.idleSince = Date.now()
    this.#idle.push(conn)
    if (this.#sweeper === null) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(250, this.settings.keepAliveTimeoutMs / 4))
      this.#sweeper.unref()
    }
  }

  #sweep (): void {
    const idle = this.#idle
    const cutoff = Date.now() - this.settings.keepAliveTimeoutMs
    let n = 0
    while (n < idle.length && idle[n]!.idleSince <= cutoff) n++
    if (n > 0) for (const conn of idle.splice(0, n)) conn.socket.destroy()
    if (idle.length === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper)
      this.#sweeper = null
    }
  }

  forget (conn: TargetConnection): void {
    const i = this.#idle.indexOf(conn)
    if (i !== -1) this.#idle.splice(i, 1)
  }

  get idleCount (): number { return this.#idle.length }

  /** Closes idle connections now; busy ones close when their request ends (putIdle refuses them). */
  close (): void {
    this.#closed = true
    if (this.#sweeper !== null) clearInterval(this.#sweeper)
    this.#sweeper = null
    const idle = this.#idle
    this.#idle = []
    for (let i = 0; i < idle.length; i++) idle[i]!.socket.destroy()
  }
}

/** The shard's endpoints by "host:port": pools and in-flight counts outlive config snapshots. */
export class EndpointState implements Endpoint {
  readonly id: string
  readonly host: string
  readonly port: number
  inFlight = 0
  readonly pool: TargetPool

  constructor (host: string, port: number, settings: PoolSettings) {
    this.host = host
    this.port = port
    this.id = endpointId(host, port)
    this.pool = new TargetPool(this, settings)
  }
}

export function endpointId (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
