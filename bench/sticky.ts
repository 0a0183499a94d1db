// What the stickiness peer's clients need: cookies from the running peer, and its /metrics counts of what became of them.
import { get } from 'node:http'

/** GET over a fresh connection (no agent); resolves status, the Set-Cookie fields and the body's length. */
function getOnce (port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number, setCookie: string[], body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, headers, timeout: 2000 }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (s: string) => { body += s })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [], body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET 127.0.0.1:${port}${path} timed out`)))
    req.on('error', reject)
  })
}

/**
 * `n` cookie-less requests, one after another; returns the `name=value` of each response's sticky cookie, as a
 * client sends it back. Round robin hands them out over the group's targets in turn (cookies for one target made
 * in the same second are the same value: `<token>.<expiry>.<mac>`).
 */
export async function fetchCookies (port: number, path: string, n: number, name = 'PILOTFISH'): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await getOnce(port, path)
    const field = r.setCookie.find((f) => f.startsWith(`${name}=`))
    if (r.status !== 200 || field === undefined) throw new Error(`GET ${path} answered ${r.status} without a ${name} cookie`)
    out.push(field.slice(0, field.indexOf(';')))
  }
  return out
}

/** How many targets the cookies name: their distinct tokens (the part before the first dot). */
export function targetsNamed (cookies: readonly string[]): number {
  return new Set(cookies.map((c) => c.slice(c.indexOf('=') + 1, c.indexOf('.')))).size
}

/** pilotfish_stickiness_cookies_total from the admin API's /metrics, summed over groups and cookies: result → count. */
export async function stickinessCounts (admin: number): Promise<Map<string, number>> {
  const r = await getOnce(admin, '/metrics')
  if (r.status !== 200) throw new Error(`GET /metrics on the admin port answered ${r.status}`)
  const out = new Map<string, number>()
  for (const line of r.body.split('\n')) {
    if (!line.startsWith('pilotfish_stickiness_cookies_total{')) continue
    const result = /result="([a-z_]+)"/.exec(line)?.[1]
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (result !== undefined && Number.isFinite(value)) out.set(result, (out.get(result) ?? 0) + value)
  }
  return out
}
