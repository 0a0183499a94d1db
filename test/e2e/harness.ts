// Real servers on 127.0.0.1 for end-to-end tests: backends, a running Pilotfish, and a raw socket client.
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { validateConfig } from '../../schemas/validate.ts'
import { startSidecar, type Sidecar } from '../../sidecar/main.ts'

export interface Backend {
  readonly port: number
  readonly server: http.Server
  /** Requests seen, in order, as the backend's node:http parsed them. */
  readonly seen: Array<{ method: string, url: string, headers: http.IncomingHttpHeaders, rawHeaders: string[], body: string }>
  close (): Promise<void>
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

/** A backend that answers with its name and what it received, unless given its own handler. */
export async function startBackend (name = 'backend', handler?: Handler): Promise<Backend> {
  const seen: Backend['seen'] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body })
      if (handler !== undefined) return handler(req, res, body)
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, body }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    server,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

export interface Running {
  readonly sidecar: Sidecar
  /** Port of the first listener. */
  readonly port: number
  readonly admin: string
  portOf (listener: string): number
  stop (): Promise<void>
}

/** Starts Pilotfish in this process with a config (listener ports 0 → any free port, admin on port 0). */
export async function startPilotfish (config: Record<string, unknown>, shards = 1): Promise<Running> {
  const full = validateConfig({ admin: { host: '127.0.0.1', port: 0 }, ...structuredClone(config) })
  const sidecar = await startSidecar(full, { shards })
  const cp = sidecar.controlPlane
  const first = full.listeners[0]!.name
  return {
    sidecar,
    port: cp.ports[first]!,
    admin: sidecar.adminUrl!,
    portOf: (name) => cp.ports[name]!,
    stop: () => sidecar.stop(2000),
  }
}

/** Calls an HTTP JSON API (the admin API): a body goes out as JSON, the answer is parsed as JSON. */
export async function callJson (url: string, method = 'GET', body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(url, body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

/** A one-listener, one-group config forwarding everything to the given backend ports. */
export function forwardConfig (ports: number[], listener: Record<string, unknown> = {}, group: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listeners: [{ name: 'web', host: '127.0.0.1', port: 0, defaultAction: { type: 'forward', targetGroups: [{ name: 'app' }] }, ...listener }],
    targetGroups: [{ name: 'app', targets: ports.map((port) => ({ host: '127.0.0.1', port })), ...group }],
  }
}

/**
 * Writes raw bytes and collects everything the proxy sends back until it closes the connection or goes
 * quiet for `quietMs` (tests never assert on timings; the quiet period only ends the read).
 */
export function raw (port: number, bytes: string | Buffer, quietMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let timer: NodeJS.Timeout | null = null
    const done = (): void => { if (timer !== null) clearTimeout(timer); socket.destroy(); resolve(Buffer.concat(chunks).toString('latin1')) }
    const arm = (): void => { if (timer !== null) clearTimeout(timer); timer = setTimeout(done, quietMs) }
    socket.on('connect', () => { socket.write(bytes); arm() })
    socket.on('data', (c: Buffer) => { chunks.push(c); arm() })
    socket.on('close', done)
    socket.on('error', (e) => (chunks.length > 0 ? done() : reject(e)))
  })
}

/** Status codes of every response in a raw HTTP/1.1 byte stream, in order. */
export function statuses (text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]))
}

/**
 * A port on 127.0.0.1 that nothing listens on (bound, then closed). Taken below the kernel's ephemeral range
 * (32768 and up), so no other test's `listen(0)` or outgoing connection is handed it meanwhile, and a test can
 * bring a server up on it later.
 */
export async function deadPort (): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000)
    const s = net.createServer()
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false))
      s.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (!ok) continue
    await new Promise((resolve) => s.close(resolve))
    return port
  }
}
