// Benchmark peer, the "usual fast Node proxy": node:http server + one undici Pool, bodies streamed both ways. Args: LISTEN_PORT UPSTREAM_PORT.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Pool, type Dispatcher } from 'undici'

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number)
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { keepAliveTimeout: 60_000 })
// Hop-by-hop fields are the connection's own, never forwarded (and undici refuses some of them).
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

function forwardable (headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !hopByHop.has(k)) out[k] = v
  return out
}

// One handler object per request with methods (undici's dispatch handler API), backpressure both ways.
class Forward implements Dispatcher.DispatchHandler {
  res: ServerResponse
  constructor (res: ServerResponse) { this.res = res }
  onRequestStart (): void {} // its presence is how undici tells this API from the legacy one
  onResponseStart (controller: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    this.res.writeHead(status, forwardable(headers))
  }
  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) { controller.pause(); this.res.once('drain', () => controller.resume()) }
  }
  onResponseEnd (): void { this.res.end() }
  onResponseError (_controller: Dispatcher.DispatchController, _err: Error): void {
    if (!this.res.headersSent) this.res.writeHead(502)
    this.res.end()
  }
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.url ?? '/', headers: forwardable(req.headers), body: hasBody ? req : null }, new Forward(res))
})
server.keepAliveTimeout = 60_000
server.listen(listenPort, '127.0.0.1')
process.on('SIGTERM', () => { server.close(); void pool.close().then(() => process.exit(0)) })
