// The admin API's socket, bound at start; fastify and the routes (server.ts) load on the first request.
//
// Fastify and what it brings (ajv's and fast-json-stringify's compilers, avvio, find-my-way…) cost the control
// plane ~15 MiB of RSS. A sidecar's admin API is often never called, or only now and then, so that cost is paid
// when it is first used rather than by every idle sidecar. Requests that arrive meanwhile wait, paused.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { ControlPlane } from '../control-plane/control-plane.ts'
import { errorReply } from './replies.ts'

// Not an ES import of node:http: that evaluates every lazy export (undici, http2, tls…), ~12 MiB per thread.
const http = process.getBuiltinModule('node:http')

type Handler = (req: IncomingMessage, res: ServerResponse) => void

export class AdminListener {
  readonly #cp: ControlPlane
  readonly #token: string | undefined
  readonly #server: Server
  #handler: Handler | null = null
  #app: Promise<FastifyInstance> | null = null

  constructor (cp: ControlPlane, token: string | undefined) {
    this.#cp = cp
    this.#token = token
    this.#server = http.createServer((req, res) => {
      if (this.#handler !== null) return this.#handler(req, res)
      req.pause()
      this.app().then(() => this.#handler!(req, res), (err: unknown) => {
        const { status, body } = errorReply(err)
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      })
    })
  }

  /** The fastify app, built on first use; it serves this listener's socket (serverFactory), never one of its own. */
  app (): Promise<FastifyInstance> {
    this.#app ??= import('./server.ts').then(async ({ buildAdmin }) => {
      const app = buildAdmin(this.#cp, this.#token, (handler) => {
        this.#handler = handler
        return this.#server
      })
      await app.ready()
      return app
    })
    return this.#app
  }

  /** Binds; resolves with the URL, e.g. "http://127.0.0.1:9901". */
  listen (host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject)
        const addr = this.#server.address() as { address: string, port: number }
        resolve(`http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`)
      })
    })
  }

  async close (): Promise<void> {
    if (this.#app !== null) await (await this.#app.catch(() => null))?.close()
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
