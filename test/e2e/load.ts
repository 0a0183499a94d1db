// A bounded load loop for tests: keep-alive and new-connection clients, counting every failed request.
import http from 'node:http'

export interface LoadResult {
  ok: number
  failed: number
  errors: string[]
  byName: Map<string, number>
  /** Responses by the value of the header named in underLoad's `countHeader` ('' when absent). */
  byHeader: Map<string, number>
}

function once (port: number, path: string, keepAlive: http.Agent | false): Promise<{ status: number, body: string, headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: keepAlive }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

/**
 * Runs `workers` clients (half keep-alive, half a new connection per request) until `stop()` resolves,
 * at most `maxMs`. Bodies are expected to be JSON with a `name`; the count per name is returned.
 */
export async function underLoad (port: number, during: () => Promise<void>, workers = 8, maxMs = 20_000, countHeader?: string): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: 0, errors: [], byName: new Map(), byHeader: new Map() }
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers })
  let running = true
  const deadline = Date.now() + maxMs
  const loop = async (keepAlive: boolean): Promise<void> => {
    while (running && Date.now() < deadline) {
      try {
        const r = await once(port, '/load', keepAlive ? agent : false)
        if (r.status !== 200) {
          result.failed++
          if (result.errors.length < 10) result.errors.push(`status ${r.status}: ${r.body.slice(0, 80)}`)
          continue
        }
        result.ok++
        const name = (JSON.parse(r.body) as { name: string }).name
        result.byName.set(name, (result.byName.get(name) ?? 0) + 1)
        if (countHeader !== undefined) {
          const v = String(r.headers[countHeader] ?? '')
          result.byHeader.set(v, (result.byHeader.get(v) ?? 0) + 1)
        }
      } catch (e) {
        result.failed++
        if (result.errors.length < 10) result.errors.push((e as Error).message)
      }
    }
  }
  const loops = Array.from({ length: workers }, (_, i) => loop(i % 2 === 0))
  try {
    await during()
  } finally {
    running = false
    await Promise.all(loops)
    agent.destroy()
  }
  return result
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
