// Cookie stickiness (plugins/stickiness/, lb_cookie) end to end: real sidecars (in this process with 2 shards, and
// `pilotfish run` processes) in front of real targets on 127.0.0.1 that answer their name. Each client below is a
// cookie jar that stores what it is set and sends it back, as a browser does. Counts come from /metrics
// (pilotfish_stickiness_cookies_total, summed over the shards) and, per shard, from the shards' own stats.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool, request, type Dispatcher } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { parseSetCookie, Signer } from '../../core/plugin-runtime.ts'
import { StickyCodec } from '../../plugins/stickiness/codec.ts'
import { callJson, deadPort, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { startCli } from './process.ts'

const KEY = 'test-signing-key-0123456789abcdef-one'
const NEW_KEY = 'test-signing-key-0123456789abcdef-two'
const FOREIGN_KEY = 'test-signing-key-0123456789abcdef-other'
const COUNTER = 'pilotfish_stickiness_cookies_total'
const COOKIE = 'PILOTFISH'

/** A user agent's cookies: what it was last set, sent back on each request beside a cookie of the site's own. */
class Jar {
  readonly #cookies = new Map<string, string>([['theme', 'dark']])
  /** The sticky cookie's value (undefined before the first response). */
  get sticky (): string | undefined { return this.#cookies.get(COOKIE) }
  set sticky (value: string | undefined) { if (value !== undefined) this.#cookies.set(COOKIE, value) }
  header (): string { return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
  take (fields: readonly string[]): void {
    for (const f of fields) {
      const c = parseSetCookie(f)!
      this.#cookies.set(c.name, c.value)
    }
  }
}

interface Answer { status: number, name: string, setCookies: string[] }

/**
 * One GET with the jar's cookies; the jar takes what the response sets. To a port, it goes on a connection of its
 * own (`connection: close`), so the kernel spreads such requests over the shards bound to the port; or through a
 * pool of keep-alive connections.
 */
async function send (to: number | Dispatcher, jar: Jar): Promise<Answer> {
  const cookie = jar.header()
  const res = typeof to === 'number'
    ? await request(`http://127.0.0.1:${to}/page`, { headers: { cookie, connection: 'close' } })
    : await to.request({ method: 'GET', path: '/page', headers: { cookie } })
  const name = await res.body.text()
  const raw = res.headers['set-cookie']
  const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  jar.take(setCookies)
  return { status: res.statusCode, name, setCookies }
}

/** Targets that answer every request with their name. */
const targets = (names: string[]): Promise<Backend[]> =>
  Promise.all(names.map((name) => startBackend(name, (_req, res) => res.end(name))))

function stickyConfig (ports: number[], keys = [KEY], section: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...forwardConfig(ports, {}, { stickiness: { type: 'lb_cookie', ...section } }), stickiness: { keys } }
}

type Counts = Record<'honoured' | 'new' | 'expired' | 'invalid' | 'target_gone', number>

/** The group's series of the counter in /metrics (every shard's sum), by result. */
async function counts (admin: string, group = 'app'): Promise<Counts> {
  const text = await (await fetch(`${admin}/metrics`)).text()
  const out: Record<string, number> = {}
  const re = new RegExp(`^${COUNTER}\\{group="${group}",cookie="[^"]+",result="([a-z_]+)"\\} (\\d+)$`, 'gm')
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2])
  return out as Counts
}

/** Each shard's own count of one result for the group (from the shard stats /metrics sums up). */
async function perShard (pf: Running, result: keyof Counts, group = 'app'): Promise<number[]> {
  type Metric = { name: string, values: Array<{ labels: Record<string, string>, value: number }> }
  const stats = await pf.sidecar.controlPlane.shards.stats()
  return stats.map((s) => {
    const m = (s.metrics as Metric[]).find((x) => x.name === COUNTER)
    return m?.values.filter((v) => v.labels.group === group && v.labels.result === result).reduce((n, v) => n + v.value, 0) ?? 0
  })
}

const zero: Counts = { honoured: 0, new: 0, expired: 0, invalid: 0, target_gone: 0 }

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()))
})

async function sidecar (config: Record<string, unknown>, shards = 2): Promise<Running> {
  const pf = await startPilotfish(config, shards)
  cleanup.push(() => pf.stop())
  return pf
}

async function backends (names: string[]): Promise<Backend[]> {
  const bs = await targets(names)
  for (const b of bs) cleanup.push(() => b.close()) // a killed one's close() finds it closed, and resolves
  return bs
}

/** Keep-alive connections to a listener; with 2 shards the kernel gives each some of them. */
function pool (port: number, connections = 8): Pool {
  const p = new Pool(`http://127.0.0.1:${port}`, { connections })
  cleanup.push(() => p.destroy())
  return p
}

describe('lb_cookie stickiness across shards', () => {
  it('keeps each of 1,000 clients on its target across 20 requests, on keep-alive connections spread over both shards', async () => {
    const bs = await backends(['a', 'b', 'c'])
    const pf = await sidecar(stickyConfig(bs.map((b) => b.port)))
    // 64 connections: the kernel's reuseport hash gives each shard some, and a client's requests take whichever
    // connection is free, so its 20 requests cross shards.
    const conns = pool(pf.port, 64)
    const clients = Array.from({ length: 1000 }, () => ({ jar: new Jar(), names: [] as string[], set: [] as number[], failed: [] as string[] }))
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < 20; i++) {
        try {
          const a = await send(conns, c.jar)
          if (a.status !== 200) c.failed.push(`status ${a.status}`)
          c.names.push(a.name)
          if (a.setCookies.length > 0) c.set.push(i)
        } catch (e) {
          c.failed.push((e as Error).message)
        }
      }
    }))
    expect(clients.flatMap((c) => c.failed)).toEqual([])
    // Each client: one cookie, on its first response, and the target it named every time after.
    expect(clients.filter((c) => c.set.length !== 1 || c.set[0] !== 0)).toEqual([])
    expect(clients.filter((c) => new Set(c.names).size !== 1).map((c) => c.names.join(''))).toEqual([])
    // Round robin chose the first target of each: all three got about a third of the clients.
    const firsts = new Map<string, number>()
    for (const c of clients) firsts.set(c.names[0]!, (firsts.get(c.names[0]!) ?? 0) + 1)
    expect([...firsts.keys()].sort()).toEqual(['a', 'b', 'c'])
    for (const n of firsts.values()) expect(n).toBeGreaterThan(250)
    expect(bs.map((b) => b.seen.length).reduce((x, y) => x + y)).toBe(20_000)
    expect(await counts(pf.admin)).toEqual({ ...zero, new: 1000, honoured: 19_000 })
    // Both shards honoured cookies: a client's requests take whichever connection is free, so each shard honoured
    // cookies the other one set.
    const honoured = await perShard(pf, 'honoured')
    expect(honoured).toHaveLength(2)
    expect(Math.min(...honoured)).toBeGreaterThan(0)
  })
})

describe('lb_cookie stickiness across sidecar processes', () => {
  /** `pilotfish run` on one config file; the signing key comes from the environment, as in production. */
  async function runSidecar (file: string, key: string): Promise<{ port: number, admin: string }> {
    const port = await deadPort()
    const pf = await startCli(['run', '--config', file, '--shards', '1'], { WEB_PORT: String(port), PILOTFISH_STICKY_KEY: key })
    cleanup.push(() => pf.stop())
    return { port, admin: /admin API on (\S+)/.exec(pf.stderr())![1]! }
  }

  it('honours in one sidecar the cookies of another with the same keys, as a client alternates; one with another key re-issues and fails nothing', async () => {
    const bs = await backends(['a', 'b', 'c'])
    const file = join(mkdtempSync(join(tmpdir(), 'pilotfish-sticky-')), 'pilotfish.yaml')
    writeFileSync(file, [
      'admin: { host: 127.0.0.1, port: 0 }',
      'listeners:',
      '  - name: web',
      '    host: 127.0.0.1',
      '    port: ${WEB_PORT}',
      '    defaultAction: { type: forward, targetGroups: [{ name: app }] }',
      'targetGroups:',
      '  - name: app',
      `    targets: [${bs.map((b) => `{ host: 127.0.0.1, port: ${b.port} }`).join(', ')}]`,
      '    stickiness: { type: lb_cookie }',
      'stickiness:',
      '  keys: ["${PILOTFISH_STICKY_KEY}", "${PILOTFISH_STICKY_KEY_OLD:-}"]',
    ].join('\n'))
    const [one, two, other] = await Promise.all([runSidecar(file, KEY), runSidecar(file, KEY), runSidecar(file, FOREIGN_KEY)])
    const sidecars = [one!, two!].map((s) => ({ ...s, conns: pool(s.port) }))

    // 30 clients, half starting on each sidecar, then alternating: 10 requests, 5 on each.
    const clients = Array.from({ length: 30 }, (_, i) => ({ jar: new Jar(), start: i % 2, names: [] as string[], set: 0, statuses: [] as number[] }))
    await Promise.all(clients.map(async (c) => {
      for (let i = 0; i < 10; i++) {
        const a = await send(sidecars[(c.start + i) % 2]!.conns, c.jar)
        c.statuses.push(a.status)
        c.names.push(a.name)
        c.set += a.setCookies.length
      }
    }))
    expect(clients.flatMap((c) => c.statuses).filter((s) => s !== 200)).toEqual([])
    expect(clients.map((c) => c.set)).toEqual(Array(30).fill(1))
    expect(clients.filter((c) => new Set(c.names).size !== 1).map((c) => c.names.join(''))).toEqual([])
    expect(new Set(clients.map((c) => c.names[0])).size).toBe(3)
    // Each sidecar: 15 new clients, and 135 cookies honoured, 75 of them the other sidecar's.
    for (const s of sidecars) expect(await counts(s.admin)).toEqual({ ...zero, new: 15, honoured: 135 })

    // The sidecar with another key: no cookie of theirs is honoured; each request is served and gets its own.
    const pinned = clients.map((c) => c.jar.sticky)
    const strange = pool(other!.port)
    const there = await Promise.all(clients.map((c) => send(strange, c.jar)))
    expect(there.map((a) => [a.status, a.setCookies.length])).toEqual(Array(30).fill([200, 1]))
    expect(clients.map((c) => c.jar.sticky).filter((v, i) => v === pinned[i])).toEqual([])
    expect(await counts(other!.admin)).toEqual({ ...zero, invalid: 30 })
    // And the other way round: its cookies are nothing to the first two.
    const back = await Promise.all(clients.map((c) => send(sidecars[0]!.conns, c.jar)))
    expect(back.map((a) => [a.status, a.setCookies.length])).toEqual(Array(30).fill([200, 1]))
    expect(await counts(one!.admin)).toEqual({ ...zero, new: 15, honoured: 135, invalid: 30 })
  })
})

/** `n` clients with a cookie each, from one request; by the target that answered. */
async function pinnedClients (to: number | Dispatcher, n: number): Promise<Array<{ jar: Jar, name: string }>> {
  return Promise.all(Array.from({ length: n }, async () => {
    const jar = new Jar()
    const a = await send(to, jar)
    expect(a.status).toBe(200)
    return { jar, name: a.name }
  }))
}

/** `n` more requests from every client (clients at once, each client's in turn); what each saw. */
async function returning (to: number | Dispatcher, clients: ReadonlyArray<{ jar: Jar }>, n: number): Promise<Array<{ statuses: number[], names: string[], set: number[] }>> {
  return Promise.all(clients.map(async (c) => {
    const r = { statuses: [] as number[], names: [] as string[], set: [] as number[] }
    for (let i = 0; i < n; i++) {
      const a = await send(to, c.jar)
      r.statuses.push(a.status)
      r.names.push(a.name)
      if (a.setCookies.length > 0) r.set.push(i)
    }
    return r
  }))
}

/** The name held by the most clients: the target to take away. */
function busiest (clients: ReadonlyArray<{ name: string }>): string {
  const n = new Map<string, number>()
  for (const c of clients) n.set(c.name, (n.get(c.name) ?? 0) + 1)
  return [...n].sort((x, y) => y[1] - x[1])[0]![0]
}

describe('lb_cookie stickiness when the sticky target goes', () => {
  it('moves a client whose target was killed once, with a new cookie, to a target it keeps; no request fails', async () => {
    const bs = await backends(['a', 'b', 'c'])
    // No health checks: only the refused connection (the redispatch, with the target in req.tried) tells.
    const pf = await sidecar(stickyConfig(bs.map((b) => b.port)))
    const conns = pool(pf.port)
    const clients = await pinnedClients(conns, 30)
    const victim = busiest(clients)
    await bs[['a', 'b', 'c'].indexOf(victim)]!.close() // its server closed, its connections with it
    const after = await returning(conns, clients, 10)

    expect(after.flatMap((r) => r.statuses).filter((s) => s !== 200)).toEqual([])
    const moved = clients.flatMap((c, i) => (c.name === victim ? [after[i]!] : []))
    const stayed = clients.flatMap((c, i) => (c.name === victim ? [] : [{ before: c.name, ...after[i]! }]))
    expect(moved.length).toBeGreaterThan(0)
    // Moved once: a new cookie on the first request after the kill, the same new target for all ten.
    for (const r of moved) {
      expect(r.set).toEqual([0])
      expect(new Set(r.names).size).toBe(1)
      expect(r.names[0]).not.toBe(victim)
    }
    for (const r of stayed) {
      expect(r.set).toEqual([])
      expect(r.names).toEqual(Array(10).fill(r.before))
    }
    // New clients meanwhile: those whose round robin pick is the dead target go elsewhere, pinned there.
    const newcomers = await pinnedClients(conns, 12)
    expect(newcomers.map((c) => c.name).filter((n) => n === victim)).toEqual([])
    for (const [i, r] of (await returning(conns, newcomers, 3)).entries()) {
      expect(r).toEqual({ statuses: [200, 200, 200], names: Array(3).fill(newcomers[i]!.name), set: [] })
    }
    // One count per request, by its first selection; a moved client's first request after the kill was honoured,
    // refused, and then counted target_gone as it moved (once, however often the redispatch asked the selector).
    expect(await counts(pf.admin)).toEqual({ ...zero, new: 30 + 12, honoured: 300 + 36, target_gone: moved.length })
  })

  it('moves a client whose target was deregistered (draining) once, to a target it keeps; the drained one gets nothing new', async () => {
    const bs = await backends(['a', 'b', 'c'])
    const pf = await sidecar(stickyConfig(bs.map((b) => b.port)))
    const conns = pool(pf.port)
    const clients = await pinnedClients(conns, 30)
    const victim = busiest(clients)
    const drained = bs[['a', 'b', 'c'].indexOf(victim)]!
    const del = await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${drained.port}`, 'DELETE')
    expect(del.status).toBe(200)
    expect((await callJson(`${pf.admin}/v1/target-groups/app`)).body.targets.find((t: { port: number }) => t.port === drained.port).state).toBe('draining')
    const seen = drained.seen.length
    const after = await returning(conns, clients, 10)

    expect(after.flatMap((r) => r.statuses).filter((s) => s !== 200)).toEqual([])
    expect(drained.seen.length).toBe(seen)
    let moved = 0
    clients.forEach((c, i) => {
      const r = after[i]!
      if (c.name === victim) {
        moved++
        expect(r.set).toEqual([0])
        expect(new Set(r.names).size).toBe(1)
        expect(r.names[0]).not.toBe(victim)
      } else {
        expect(r.set).toEqual([])
        expect(r.names).toEqual(Array(10).fill(c.name))
      }
    })
    expect(moved).toBeGreaterThan(0)
    expect(await counts(pf.admin)).toEqual({ ...zero, new: 30, target_gone: moved, honoured: 300 - moved })
  })
})

describe('key rotation through PUT /v1/config', () => {
  it('keeps the sessions when a new key goes first, re-signing them with it; once the old key goes, keeps the clients that came back and re-pins the others', async () => {
    const bs = await backends(['a', 'b', 'c'])
    const pf = await sidecar(stickyConfig(bs.map((b) => b.port), [KEY]))
    const clients = await pinnedClients(pf.port, 20)
    const back = clients.slice(0, 10) // come back while both keys verify
    const away = clients.slice(10) // next seen once the old key is gone
    const config = async (): Promise<string> => (await fetch(`${pf.admin}/v1/config`)).text()
    const put = async (body: unknown): Promise<void> => {
      const r = await callJson(`${pf.admin}/v1/config`, 'PUT', body)
      expect(r.status, JSON.stringify(r.body)).toBe(200)
    }
    const stay = (r: { statuses: number[], names: string[], set: number[] }, name: string, n: number, set: number[] = []): void =>
      expect(r).toEqual({ statuses: Array(n).fill(200), names: Array(n).fill(name), set })

    // GET shows no key material; sending that body back keeps the running key: every session holds as it was.
    const first = await config()
    expect(first).not.toContain(KEY)
    const running = JSON.parse(first) as { stickiness: { keys: string[] } }
    expect(running.stickiness).toEqual({ keys: ['(redacted)'] })
    await put(running)
    ;(await returning(pf.port, clients, 1)).forEach((r, i) => stay(r, clients[i]!.name, 1))

    // [new, old]: every cookie is honoured, and re-signed with the new key on its next request (only that one).
    await put({ ...running, stickiness: { keys: [NEW_KEY, KEY] } })
    // A GET and PUT of the two-key config keeps both, in order (each redacted entry keeps the key at its place).
    const second = await config()
    expect(second).not.toContain(KEY)
    expect(second).not.toContain(NEW_KEY)
    const both = JSON.parse(second) as { stickiness: { keys: string[] } }
    expect(both.stickiness).toEqual({ keys: ['(redacted)', '(redacted)'] })
    await put(both)
    const signedByOld = back.map((c) => c.jar.sticky)
    ;(await returning(pf.port, back, 2)).forEach((r, i) => stay(r, back[i]!.name, 2, [0]))
    expect(back.filter((c, i) => c.jar.sticky === signedByOld[i])).toEqual([])

    // [new]: the clients that came back keep their target with the cookie the new key signed; the others' old
    // cookies are invalid now: served, given a new cookie, which then holds.
    await put({ ...running, stickiness: { keys: [NEW_KEY] } })
    ;(await returning(pf.port, back, 1)).forEach((r, i) => stay(r, back[i]!.name, 1))
    for (const r of await returning(pf.port, away, 2)) {
      expect(r.statuses).toEqual([200, 200])
      expect(r.set).toEqual([0])
      expect(r.names[1]).toBe(r.names[0])
    }
    expect(await counts(pf.admin)).toEqual({ ...zero, new: 20, honoured: 20 + 20 + 10 + 10, invalid: 10 })
  })
})

describe('cookies that cannot be honoured', () => {
  it('never honours a tampered, expired, foreign-key or malformed cookie, never fails its request, and counts each exactly over both shards', async () => {
    const bs = await backends(['a', 'b', 'c'])
    const group = (name: string, section: Record<string, unknown>) =>
      ({ name, targets: bs.map((b) => ({ host: '127.0.0.1', port: b.port })), stickiness: { type: 'lb_cookie', ...section } })
    const pf = await sidecar({
      listeners: [
        { name: 'web', host: '127.0.0.1', port: 0, defaultAction: { type: 'forward', targetGroups: [{ name: 'app' }] } },
        { name: 'brief', host: '127.0.0.1', port: 0, defaultAction: { type: 'forward', targetGroups: [{ name: 'brief' }] } },
      ],
      targetGroups: [group('app', {}), group('brief', { durationSeconds: 1 })],
      stickiness: { keys: [KEY] },
    })
    // Cookies of 1 s first: they expire while the others are tried.
    const brief = await pinnedClients(pf.portOf('brief'), 10)
    const expiresAt = Math.max(...brief.map((c) => parseInt(c.jar.sticky!.split('.')[1]!, 36) * 1000))

    const real = (await pinnedClients(pf.port, 3)).map((c) => c.jar.sticky!)
    const id = (name: string): string => `127.0.0.1:${bs[['a', 'b', 'c'].indexOf(name)]!.port}`
    // Made as the plugin makes them: under the sidecar's key (honoured: the format is right), and under another.
    const ours = new StickyCodec(new Signer([KEY]), COOKIE, 'app', 86_400_000)
    const foreign = new StickyCodec(new Signer([FOREIGN_KEY]), COOKIE, 'app', 86_400_000)
    const fresh = Date.now() + 86_000_000 // nearly the group's whole duration: not due for re-signing
    const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1)
    const [token, expiry, mac] = real[0]!.split('.') as [string, string, string]
    const tampered = [
      flip(real[0]!, 3), // the token
      flip(real[0]!, token.length + 2), // the expiry
      flip(real[0]!, real[0]!.length - 5), // the MAC
      `${token}.${(parseInt(expiry, 36) + 86_400).toString(36)}.${mac}`, // a day longer
      `${ours.token(id('c'), 0)}.${expiry}.${mac}`, // rewritten to name another target
      real[0]!.slice(0, -1),
      `${real[0]!}A`,
    ]
    const foreignKey = ['a', 'b', 'c'].map((n) => foreign.encode(foreign.token(id(n), 0), fresh))
    const malformed = ['', 'garbage', '..', '.'.repeat(40), real[0]! + real[1]!, real[1]!.replaceAll('.', '-'), 'x'.repeat(2000), '%00%FF', `${token}.${expiry}`, `${token}..${mac}`]

    const control = new Jar()
    control.sticky = ours.encode(ours.token(id('b'), 0), fresh)
    expect(await send(pf.port, control)).toEqual({ status: 200, name: 'b', setCookies: [] })

    // Each bad cookie twice, each time on a connection of its own: both shards see some.
    const bad = [...tampered, ...foreignKey, ...malformed]
    const answers = await Promise.all([...bad, ...bad].map(async (value) => {
      const jar = new Jar()
      jar.sticky = value
      const a = await send(pf.port, jar)
      return { value, status: a.status, name: a.name, fresh: jar.sticky !== value && ours.decode(jar.sticky!) !== null }
    }))
    expect(answers.filter((a) => a.status !== 200 || !['a', 'b', 'c'].includes(a.name) || !a.fresh)).toEqual([])

    for (let now = Date.now(); now <= expiresAt; now = Date.now()) await new Promise((resolve) => setTimeout(resolve, expiresAt - now + 10))
    for (const c of brief) {
      const before = c.jar.sticky
      const a = await send(pf.portOf('brief'), c.jar)
      expect(a.status).toBe(200)
      expect(a.setCookies).toHaveLength(1)
      expect(a.setCookies[0]).toContain('; Max-Age=1;')
      expect(c.jar.sticky).not.toBe(before)
    }

    expect(await counts(pf.admin, 'app')).toEqual({ ...zero, new: 3, honoured: 1, invalid: bad.length * 2 })
    expect(await counts(pf.admin, 'brief')).toEqual({ ...zero, new: 10, expired: 10 })
    const invalid = await perShard(pf, 'invalid')
    expect(invalid.reduce((x, y) => x + y)).toBe(bad.length * 2)
    expect(Math.min(...invalid)).toBeGreaterThan(0)
  })
})
