// An HTTP/1.1 listener on one (host, port), bound with reusePort so every shard can bind the same port. For a
// protocol a plugin provides (https…), the plugin's listen hook binds and hands connections over; the engine
// and the drain are the same. Every way a connection reaches the core (accept, sink.admit, sink.http,
// sink.pick) passes the listener's allowFrom through one method, admit().
import net from 'node:net'
import { PilotfishError } from '../errors.ts'
import type { ConnectionInfo, PickedTarget, PluginServer, RequestCtx } from '../plugin-api.ts'
import { FAIL, select, type PluginInstance } from '../plugin/instance.ts'
import type { ListenerRuntime } from '../runtime.ts'
import { ClientConnection, type ConnectionOwner } from './client-connection.ts'
import { REFUSED_ALLOW_FROM } from './allow-from.ts'

export class HttpListener implements ConnectionOwner {
  /** Swapped whole when a new config snapshot arrives; a request reads it once, when its head is parsed. */
  runtime: ListenerRuntime
  readonly host: string
  readonly port: number
  /** The plugin whose listen hook binds this listener; null for the core's http. */
  readonly kind: PluginInstance | null
  draining = false
  #server: net.Server | null = null
  #pluginServer: PluginServer | null = null
  #connections = new Set<ClientConnection>()
  #drained: (() => void) | null = null

  constructor (runtime: ListenerRuntime, host: string, port: number, kind: PluginInstance | null = null) {
    this.runtime = runtime
    this.host = host
    this.port = port
    this.kind = kind
  }

  /** A connection that carries HTTP/1.1 from its first byte on. */
  accept (socket: net.Socket, info: ConnectionInfo | null = null): void {
    if (this.draining) {
      socket.destroy()
      return
    }
    if (!this.admit(socket)) return
    this.#connections.add(new ClientConnection(socket, this, info))
  }

  /**
   * The listener's security group, read from the runtime of the moment (a reload applies to new connections).
   * A peer outside it is destroyed here, in the tick it was accepted, before any read: nothing of it is parsed.
   */
  admit (socket: net.Socket): boolean {
    if (this.#allowed(socket.remoteAddress ?? '')) return true
    socket.destroy()
    return false
  }

  #allowed (clientIp: string): boolean {
    const runtime = this.runtime
    if (runtime.allowFrom === null || runtime.allowFrom.allows(clientIp)) return true
    runtime.observer.onRefused(runtime, clientIp, REFUSED_ALLOW_FROM)
    return false
  }

  /** Binds; resolves with the bound port (useful when the config asks for port 0). */
  async listen (): Promise<number> {
    if (this.kind !== null) return this.#listenThroughPlugin(this.kind)
    // allowHalfOpen: a client that shuts down its sending side after a request still gets its response.
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket))
    const server = this.#server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: this.host, port: this.port, reusePort: true, backlog: 2048 }, () => {
        server.off('error', reject)
        const addr = server.address()
        resolve(typeof addr === 'object' && addr !== null ? addr.port : this.port)
      })
    })
  }

  async #listenThroughPlugin (kind: PluginInstance): Promise<number> {
    const info = { name: this.runtime.name, host: this.host, port: this.port, protocol: this.runtime.settings.protocol }
    try {
      this.#pluginServer = await kind.hooks.listen!(info, {
        http: (socket, info) => this.accept(socket, info ?? null),
        admit: (socket) => this.admit(socket),
        pick: (group, ip) => this.#pick(group, ip),
      })
    } catch (err) {
      kind.verdict('listen', err)
      throw new PilotfishError('PF_ERR_LISTENER_BIND', [this.runtime.name, `${this.host}:${this.port}`, `plugin ${kind.name}: ${(err as Error)?.message ?? String(err)}`], { cause: err })
    }
    return this.port
  }

  /** A target for an L4 connection: the group's selector asked with what a connection has (its source address). */
  #pick (name: string, clientIp: string): PickedTarget | null {
    // A kind that did not ask admit() at accept is still held to allowFrom here, where it first reaches the core.
    if (!this.#allowed(clientIp)) return null
    const runtime = this.runtime
    const group = runtime.groups.get(name)
    if (group === undefined) return null
    const ctx: RequestCtx = {
      method: '', path: '', query: '', host: '', clientIp, clientPort: 0,
      protocol: runtime.settings.protocol, listenerPort: runtime.settings.listenerPort, header: () => undefined,
    }
    const target = select(group.selector, ctx, group.group)
    if (target === null || target === FAIL) return null // FAIL: a fail-closed selector wrapper failed, counted already
    const endpoint = target.endpoint
    endpoint.inFlight++
    let released = false
    return {
      host: endpoint.host,
      port: endpoint.port,
      release () {
        if (released) return
        released = true
        endpoint.inFlight--
      },
    }
  }

  get connectionCount (): number { return this.#connections.size }

  /** Connections with a request in progress; counted when asked, so requests pay nothing for it. */
  get busyCount (): number {
    let n = 0
    for (const conn of this.#connections) if (conn.busy) n++
    return n
  }

  onConnectionClosed (conn: ClientConnection): void {
    this.#connections.delete(conn)
    if (this.#drained !== null && this.#connections.size === 0) this.#drained()
  }

  /**
   * Stops accepting, lets in-flight requests finish (their responses say `connection: close`), and destroys
   * whatever is left at the deadline. Idle keep-alive connections close at once with `closeIdle`; without it
   * each is closed after answering its next request (HAProxy's idle-close-on-response), or by its idle
   * timeout, since closing an idle connection races a client that is sending on it right then.
   */
  async drain (deadlineMs: number, closeIdle = true): Promise<void> {
    this.draining = true
    this.#server?.close() // its callback waits for every connection; the deadline below is ours
    if (this.#pluginServer !== null) {
      try {
        await this.#pluginServer.close()
      } catch (err) {
        this.kind?.verdict('close', err)
      }
    }
    if (closeIdle) for (const conn of this.#connections) conn.closeIfIdle()
    if (this.#connections.size === 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const conn of this.#connections) conn.socket.destroy()
        resolve()
      }, deadlineMs)
      this.#drained = () => { clearTimeout(timer); resolve() }
    })
  }
}
