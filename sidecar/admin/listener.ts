// The admin API's socket, bound at start; fastify and the routes (server.ts) load on the first request. A config
// change to `admin` moves it: the new address is bound before anything else changes, so a bind failure refuses
// the change; the old socket closes once the change's reply has gone out on it.
//
// Fastify and what it brings (ajv's and fast-json-stringify's compilers, avvio, find-my-way…) cost the control
// plane ~15 MiB of RSS. A sidecar's admin API is often never called, or only now and then, so that cost is paid
// when it is first used rather than by every idle sidecar. Requests that arrive meanwhile wait, paused.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { PilotfishError } from '../../core/errors.ts'
import type { AdminConfig } from '../../schemas/sidecar.schema.ts'
import type { AdminBinding, AdminChange, ControlPlane } from '../control-plane/control-plane.ts'
import { errorReply } from './replies.ts'

// Not an ES import of node:http: that evaluates every lazy export (undici, http2, tls…), ~12 MiB per thread.
const http = process.getBuiltinModule('node:http')

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** "http://127.0.0.1:9901", "http://[::1]:9901". */
function urlOf (server: Server): string {
  const addr = server.address() as { address: string, port: number }
  return `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`
}

export class AdminListener implements AdminBinding {
  readonly #cp: ControlPlane
  /** The admin settings running: the token every request is checked against, the address as configured. */
  #admin: AdminConfig
  #server: Server
  #handler: Handler | null = null
  #app: Promise<FastifyInstance> | null = null

  constructor (cp: ControlPlane, admin: AdminConfig) {
    this.#cp = cp
    this.#admin = admin
    this.#server = this.#createServer()
  }

  /** The token requests must carry now (undefined: none). */
  get token (): string | undefined { return this.#admin.token }

  /** Where the admin API answers now, e.g. "http://127.0.0.1:9901". */
  get url (): string { return urlOf(this.#server) }

  #createServer (): Server {
    const server: Server = http.createServer((req, res) => {
      // A socket the API moved away from: answer what is in flight, then let its connections go.
      if (server !== this.#server) {
        res.shouldKeepAlive = false
        res.once('finish', () => setImmediate(() => server.closeIdleConnections()))
      }
      if (this.#handler !== null) return this.#handler(req, res)
      req.pause()
      this.app().then(() => this.#handler!(req, res), (err: unknown) => {
        const { status, body } = errorReply(err)
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      })
    })
    return server
  }

  /** The fastify app, built on first use; it serves this listener's sockets (serverFactory), never one of its own. */
  app (): Promise<FastifyInstance> {
    this.#app ??= import('./server.ts').then(async ({ buildAdmin }) => {
      const app = buildAdmin(this.#cp, this, (handler) => {
        this.#handler = handler
        return this.#server
      })
      await app.ready()
      return app
    })
    return this.#app
  }

  /** Binds the configured address; resolves with the URL. */
  async listen (): Promise<string> {
    const { host, port } = this.#admin
    try {
      await bind(this.#server, host, port)
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      // Most often a second sidecar on one machine: both default to 127.0.0.1:9901. Say which socket this is.
      const why = e.code === 'EADDRINUSE' ? ' (another Pilotfish, or something else, listens there)' : ''
      throw new PilotfishError('PF_ERR_ADMIN_BIND', [`${host}:${port}`, `${e.message}. That is the admin API's address${why}, ` +
        'not a listener\'s. Give this sidecar its own with --admin HOST:PORT or PILOTFISH_ADMIN=HOST:PORT (admin.port in a ' +
        'config file), or run it without an admin API: --admin off'], { cause: err })
    }
    return this.url
  }

  /**
   * Readies a change to `admin` (AdminBinding): binds the new address now if it moves, so that a port in use
   * refuses the config change before anything else is touched. `commit` switches token and socket at once.
   */
  async prepare (next: AdminConfig): Promise<AdminChange> {
    const bound = (this.#server.address() as { port: number }).port
    const moves = next.host !== this.#admin.host || (next.port !== this.#admin.port && next.port !== bound)
    if (!moves) return { commit: () => { this.#admin = next }, abort: async () => {} }
    const server = this.#createServer()
    try {
      await bind(server, next.host, next.port)
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      // 127.0.0.1:9901 → 0.0.0.0:9901 overlaps the socket being left, which is still bound.
      const hint = e.code === 'EADDRINUSE' && next.port === bound ? '; to move to another host on the same port, change the port too' : ''
      throw new PilotfishError('PF_ERR_ADMIN_BIND', [`${next.host}:${next.port}`, `${e.message}${hint}; the running config stays, and the admin API on ${this.url}`], { cause: err })
    }
    return {
      commit: () => {
        const old = this.#server
        this.#server = server
        this.#admin = next
        old.close()
      },
      abort: () => close(server),
    }
  }

  async close (): Promise<void> {
    // Fastify closes the socket it was given first, which a move may have closed already.
    if (this.#app !== null) await (await this.#app.catch(() => null))?.close().catch(() => {})
    await close(this.#server)
  }
}

function bind (server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function close (server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise<void>((resolve) => server.close(() => resolve()))
}
