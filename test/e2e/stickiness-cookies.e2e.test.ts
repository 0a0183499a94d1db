// The stickiness built-in in a running sidecar, against real targets on 127.0.0.1: app_cookie following the
// application's own cookie, group-level stickiness on a weighted forward, strict mode, the cookie attributes over
// http and over TLS, keys that never show, and the cookies counted in /metrics. (Shards and replicas honouring
// each other's lb_cookie, drained or killed targets and key rotation: stickiness.e2e.test.ts.)
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { certificate } from './certs.ts'
import { callJson, deadPort, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { runCli, startCli } from './process.ts'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/plugins/${name}.ts`, import.meta.url))
const KEY = randomBytes(33).toString('base64url') // 44 bytes, made for this run
const COUNTER = 'pilotfish_stickiness_cookies_total'
const target = (b: Backend): { host: string, port: number } => ({ host: '127.0.0.1', port: b.port })
/** The counting fixture on a group says which shard answered (x-shard). */
const counting = { name: 'counting', from: fixture('counting') }

interface Reply {
  readonly status: number
  /** The backend that answered (its JSON `name`), or '' for a reply Pilotfish made itself. */
  readonly name: string
  /** Each Set-Cookie field as its own line, as the client's parser saw them in the raw head. */
  readonly setCookies: string[]
  readonly shard: string | undefined
  readonly encrypted: boolean
}

/** One request on a connection of its own (so the kernel spreads requests over the shards). */
function get (port: number, path = '/', cookie?: string, ca?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path, agent: false as const, headers: cookie === undefined ? {} : { cookie } }
    const done = (res: http.IncomingMessage): void => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => {
        const setCookies: string[] = []
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'set-cookie') setCookies.push(res.rawHeaders[i + 1]!)
        let name = ''
        try { name = (JSON.parse(body) as { name: string }).name } catch {}
        const shard = res.headers['x-shard'] as string | undefined
        resolve({ status: res.statusCode!, name, setCookies, shard, encrypted: (res.socket as TLSSocket).encrypted === true })
      })
    }
    const req = ca === undefined ? http.request(options, done) : https.request({ ...options, ca }, done)
    req.on('error', reject)
    req.end()
  })
}

/** A user agent's cookie jar, enough for these tests: a field's name=value, deleted by an empty value or Max-Age=0. */
class Jar {
  readonly cookies = new Map<string, string>()
  take (fields: readonly string[]): void {
    for (const f of fields) {
      const [pair, ...attributes] = f.split(/; */)
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      if (value === '' || attributes.some((a) => /^max-age=0$/i.test(a))) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  get header (): string | undefined {
    return this.cookies.size === 0 ? undefined : [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ')
  }

  without (name: string): string | undefined {
    const rest = [...this.cookies].filter(([n]) => n !== name)
    return rest.length === 0 ? undefined : rest.map(([n, v]) => `${n}=${v}`).join('; ')
  }
}

/** The fields of `fields` for cookie `name`. */
const fieldsOf = (fields: readonly string[], name: string): string[] => fields.filter((f) => f.startsWith(`${name}=`))
/** A Set-Cookie field's attributes, sorted (their order is not the point). */
const attributesOf = (field: string): string[] => field.split('; ').slice(1).sort()

/** The counter's series, by their label text. */
async function series (admin: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const m of (await (await fetch(`${admin}/metrics`)).text()).matchAll(new RegExp(`^${COUNTER}\\{([^}]*)\\} (\\S+)$`, 'gm'))) out[m[1]!] = Number(m[2])
  return out
}

/** How each series moved between two readings (series that did not move left out). */
function delta (before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0)
  return out
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T> (items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

describe('app_cookie: a companion cookie follows the application\'s session', () => {
  // The application's own fields: one with an Expires date (a comma inside), so joining them with ", " would break it.
  const THEME = 'theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/'
  const backends: Backend[] = []
  let pf: Running
  beforeAll(async () => {
    for (const name of ['a', 'b']) {
      let n = 0
      backends.push(await startBackend(name, (req, res) => {
        if (req.url === '/login') res.setHeader('set-cookie', [`JSESSIONID=${name}-${++n}; Max-Age=600; Path=/; HttpOnly`, THEME])
        if (req.url === '/logout') res.setHeader('set-cookie', ['JSESSIONID=; Max-Age=0; Path=/'])
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ name }))
      }))
    }
    pf = await startPilotfish({
      listeners: [{ name: 'web', host: '127.0.0.1', port: 0, defaultAction: { type: 'forward', targetGroups: [{ name: 'app' }] } }],
      targetGroups: [{ name: 'app', targets: backends.map(target), plugins: ['counting'], stickiness: { type: 'app_cookie', appCookieName: 'JSESSIONID' } }],
      stickiness: { keys: [KEY] },
      plugins: [counting],
    }, 2)
  })
  afterAll(async () => { await pf.stop(); for (const b of backends) await b.close() })

  it('gives the companion the application cookie\'s Max-Age, keeps the session on its target across shards, spreads requests without it, passes the application\'s fields unchanged, and deletes the companion with the session', async () => {
    const clients: Array<{ jar: Jar, at: string }> = []
    for (let i = 0; i < 4; i++) {
      const login = await get(pf.port, '/login')
      expect(login.status).toBe(200)
      // The application's two fields, as it sent them, each its own line; then the companion, for as long as its session.
      expect(login.setCookies).toHaveLength(3)
      expect(login.setCookies.slice(0, 2)).toEqual([`JSESSIONID=${login.name}-${clients.filter((c) => c.at === login.name).length + 1}; Max-Age=600; Path=/; HttpOnly`, THEME])
      const [companion] = fieldsOf(login.setCookies, 'PILOTFISHAPP')
      expect(attributesOf(companion!)).toEqual(['HttpOnly', 'Max-Age=600', 'Path=/', 'SameSite=Lax'])
      for (const b of backends) expect(companion).not.toContain(String(b.port))
      const jar = new Jar()
      jar.take(login.setCookies)
      clients.push({ jar, at: login.name })
    }
    expect(new Set(clients.map((c) => c.at))).toEqual(new Set(['a', 'b'])) // round robin placed the logins on both

    const shards = new Set<string | undefined>()
    for (const { jar, at } of clients) {
      for (let i = 0; i < 20; i++) {
        const r = await get(pf.port, '/account', jar.header)
        expect([r.status, r.name, r.setCookies]).toEqual([200, at, []])
        shards.add(r.shard)
      }
    }
    expect(shards).toEqual(new Set(['0', '1']))

    // The companion alone (no application session) pins nothing: round robin.
    const spread = new Set<string>()
    for (let i = 0; i < 10; i++) spread.add((await get(pf.port, '/', clients[0]!.jar.without('JSESSIONID'))).name)
    expect(spread).toEqual(new Set(['a', 'b']))

    // The application ends the session on the client's target: the companion goes with it.
    const { jar, at } = clients[0]!
    const logout = await get(pf.port, '/logout', jar.header)
    expect(logout.name).toBe(at)
    expect(logout.setCookies[0]).toBe('JSESSIONID=; Max-Age=0; Path=/')
    expect(logout.setCookies).toHaveLength(2)
    expect(logout.setCookies[1]).toMatch(/^PILOTFISHAPP=; /)
    expect(attributesOf(logout.setCookies[1]!)).toEqual(['HttpOnly', 'Max-Age=0', 'Path=/', 'SameSite=Lax'])
    jar.take(logout.setCookies)
    expect(jar.cookies.has('PILOTFISHAPP')).toBe(false)
  })

  it('counts the flow in /metrics: new for requests without a session, honoured for each one the companion placed', async () => {
    const text = await (await fetch(`${pf.admin}/metrics`)).text()
    expect(text).toContain(`# HELP ${COUNTER} `)
    expect(text).toContain(`# TYPE ${COUNTER} counter\n`)
    const before = await series(pf.admin)
    const jar = new Jar()
    jar.take((await get(pf.port, '/login')).setCookies)
    for (let i = 0; i < 5; i++) await get(pf.port, '/', jar.header)
    for (let i = 0; i < 3; i++) await get(pf.port, '/')
    expect(delta(before, await series(pf.admin))).toEqual({
      'group="app",cookie="PILOTFISHAPP",result="new"': 4,
      'group="app",cookie="PILOTFISHAPP",result="honoured"': 5,
    })
  })
})

describe('group-level stickiness on a weighted forward (stable 50, canary 50)', () => {
  const backends = new Map<string, Backend>()
  let pf: Running
  beforeAll(async () => {
    for (const name of ['stable-1', 'stable-2', 'canary-1', 'canary-2']) backends.set(name, await startBackend(name))
    const group = (name: string): Array<{ host: string, port: number }> => [1, 2].map((i) => target(backends.get(`${name}-${i}`)!))
    pf = await startPilotfish({
      listeners: [{
        name: 'web',
        host: '127.0.0.1',
        port: 0,
        defaultAction: {
          type: 'forward',
          targetGroups: [{ name: 'stable', weight: 50 }, { name: 'canary', weight: 50 }],
          stickiness: { enabled: true, durationSeconds: 3600 },
        },
      }],
      targetGroups: [
        { name: 'stable', targets: group('stable'), plugins: ['counting'] },
        // The canary's own stickiness pins the target inside it; the stable group's round robin rotates.
        { name: 'canary', targets: group('canary'), plugins: ['counting'], stickiness: { type: 'lb_cookie' } },
      ],
      stickiness: { keys: [KEY] },
      plugins: [counting],
    }, 2)
  })
  afterAll(async () => { await pf.stop(); for (const b of backends.values()) await b.close() })

  const groupOf = (r: Reply): string => r.name.slice(0, r.name.indexOf('-'))

  /** A client's first request and its next 20 with the cookies it got. */
  async function session (): Promise<{ first: Reply, rest: Reply[] }> {
    const jar = new Jar()
    const first = await get(pf.port)
    jar.take(first.setCookies)
    const rest: Reply[] = []
    for (let i = 0; i < 20; i++) rest.push(await get(pf.port, '/', jar.header))
    return { first, rest }
  }

  it('keeps each of 100 clients in the group it got for 20 requests across both shards, and splits the clients by the weights', async () => {
    const sessions: Array<{ first: Reply, rest: Reply[] }> = []
    await inParallel(Array.from({ length: 100 }, (_, i) => i), 8, async () => { sessions.push(await session()) })
    const shards = new Set<string | undefined>()
    for (const { first, rest } of sessions) {
      expect(first.status).toBe(200)
      const [tg] = fieldsOf(first.setCookies, 'PILOTFISHTG')
      expect(attributesOf(tg!)).toEqual(['HttpOnly', 'Max-Age=3600', 'Path=/', 'SameSite=Lax'])
      for (const r of rest) {
        expect([r.status, groupOf(r), r.setCookies]).toEqual([200, groupOf(first), []])
        shards.add(r.shard)
      }
    }
    expect(shards).toEqual(new Set(['0', '1']))
    // 50/50 over 100 clients: the canary's share is binomial (σ = 5); 30–70 is 4σ either side.
    const canary = sessions.filter((s) => groupOf(s.first) === 'canary').length
    expect(canary).toBeGreaterThanOrEqual(30)
    expect(canary).toBeLessThanOrEqual(70)
  })

  it('pins group and target for a canary client with lb_cookie on the canary, and only the group for a stable one', async () => {
    const canary: Array<{ first: Reply, rest: Reply[] }> = []
    const stable: Array<{ first: Reply, rest: Reply[] }> = []
    while (canary.length < 3 || stable.length < 3) {
      const s = await session()
      ;(groupOf(s.first) === 'canary' ? canary : stable).push(s)
    }
    for (const { first, rest } of canary) {
      expect(fieldsOf(first.setCookies, 'PILOTFISHTG')).toHaveLength(1)
      expect(fieldsOf(first.setCookies, 'PILOTFISH')).toHaveLength(1)
      expect(new Set(rest.map((r) => r.name))).toEqual(new Set([first.name]))
    }
    for (const { first, rest } of stable) {
      expect(first.setCookies.map((f) => f.slice(0, f.indexOf('=')))).toEqual(['PILOTFISHTG'])
      expect(new Set(rest.map((r) => r.name))).toEqual(new Set(['stable-1', 'stable-2']))
    }
  })

  it('counts the group cookie and the canary\'s own cookie in /metrics, new then honoured', async () => {
    const before = await series(pf.admin)
    const { first } = await session()
    const group = groupOf(first)
    const expected: Record<string, number> = {
      [`group="${group}",cookie="PILOTFISHTG",result="new"`]: 1,
      [`group="${group}",cookie="PILOTFISHTG",result="honoured"`]: 20,
    }
    if (group === 'canary') {
      expected['group="canary",cookie="PILOTFISH",result="new"'] = 1
      expected['group="canary",cookie="PILOTFISH",result="honoured"'] = 20
    }
    expect(delta(before, await series(pf.admin))).toEqual(expected)
  })
})

describe('strict lb_cookie stickiness', () => {
  let a: Backend, b: Backend, pf: Running
  beforeAll(async () => {
    a = await startBackend('a')
    b = await startBackend('b')
    pf = await startPilotfish({
      listeners: [{ name: 'web', host: '127.0.0.1', port: 0, defaultAction: { type: 'forward', targetGroups: [{ name: 'app' }] } }],
      targetGroups: [{ name: 'app', targets: [target(a), target(b)], stickiness: { type: 'lb_cookie', strict: true } }],
      stickiness: { keys: [KEY] },
    }, 2)
  })
  afterAll(async () => { await pf.stop(); await a.close(); await b.close() })

  it('answers 503, not another target, once the sticky target is drained, and still serves a client without a cookie', async () => {
    const jar = new Jar()
    const first = await get(pf.port)
    jar.take(first.setCookies)
    expect(jar.cookies.has('PILOTFISH')).toBe(true)
    const [pinned, other] = first.name === 'a' ? [a, b] : [b, a]
    expect((await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${pinned.port}`, 'DELETE')).status).toBe(200)
    const seen = [pinned.seen.length, other.seen.length]
    for (let i = 0; i < 6; i++) expect((await get(pf.port, '/', jar.header)).status).toBe(503)
    expect([pinned.seen.length, other.seen.length]).toEqual(seen) // neither target got them
    const fresh = await get(pf.port)
    expect([fresh.status, fresh.name]).toEqual([200, first.name === 'a' ? 'b' : 'a'])
    expect(fieldsOf(fresh.setCookies, 'PILOTFISH')).toHaveLength(1)
  })
})

describe('cookie attributes over http and over TLS', () => {
  const tls = certificate()
  let be: Backend, pf: Running
  beforeAll(async () => {
    be = await startBackend('be')
    const forward = { type: 'forward', targetGroups: [{ name: 'web' }] }
    pf = await startPilotfish({
      listeners: [
        { name: 'plain', host: '127.0.0.1', port: 0, defaultAction: forward },
        { name: 'secure', host: '127.0.0.1', port: 0, protocol: 'https', plugins: ['tls'], defaultAction: forward },
      ],
      targetGroups: [{ name: 'web', targets: [target(be)], stickiness: { type: 'lb_cookie', durationSeconds: 120 } }],
      stickiness: { keys: [KEY] },
      plugins: [{ name: 'tls', from: fixture('tls-lite'), config: tls }],
    })
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('sets Path=/, HttpOnly, SameSite=Lax and Max-Age from the duration, without Secure on an http listener', async () => {
    const r = await get(pf.portOf('plain'))
    expect(r.encrypted).toBe(false)
    const [field] = fieldsOf(r.setCookies, 'PILOTFISH')
    expect(field).toMatch(/^PILOTFISH=[A-Za-z0-9_-]{16}\.[0-9a-z]+\.[A-Za-z0-9_-]{22}; /)
    expect(attributesOf(field!)).toEqual(['HttpOnly', 'Max-Age=120', 'Path=/', 'SameSite=Lax'])
  })

  it('adds Secure when the client\'s connection is TLS (an https listener of a plugin)', async () => {
    const r = await get(pf.portOf('secure'), '/', undefined, tls.cert)
    expect([r.status, r.encrypted]).toEqual([200, true])
    expect(be.seen.at(-1)!.headers['x-forwarded-proto']).toBe('https')
    const [field] = fieldsOf(r.setCookies, 'PILOTFISH')
    expect(attributesOf(field!)).toEqual(['HttpOnly', 'Max-Age=120', 'Path=/', 'SameSite=Lax', 'Secure'])
  })
})

describe('signing keys never show', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pilotfish-sticky-keys-'))
  const SHORT = `short-${randomBytes(6).toString('hex')}` // 18 bytes: refused, and a secret all the same
  let be: Backend
  let pf: Awaited<ReturnType<typeof startCli>>
  let admin: string
  let port: number
  beforeAll(async () => {
    be = await startBackend('be')
    port = await deadPort()
    const file = join(dir, 'pilotfish.yaml')
    // An optional variable left unset, as the issue's `${PILOTFISH_STICKY_KEY_OLD:-}`: an empty entry, ignored.
    writeFileSync(file, [
      'admin: { host: 127.0.0.1, port: 0 }',
      `listeners: [{ name: web, host: 127.0.0.1, port: ${port}, defaultAction: { type: forward, targetGroups: [{ name: app }] } }]`,
      `targetGroups: [{ name: app, targets: [{ host: 127.0.0.1, port: ${be.port} }], stickiness: { type: lb_cookie } }]`,
      'stickiness: { keys: ["${PILOTFISH_TEST_STICKY_KEY_OLD:-}", "${PILOTFISH_TEST_STICKY_KEY}"] }',
      '',
    ].join('\n'))
    pf = await startCli(['run', '--config', file, '--shards', '1'], { PILOTFISH_TEST_STICKY_KEY: KEY, PILOTFISH_TEST_STICKY_KEY_OLD: undefined })
    admin = /admin API on (http:\/\/[^\s;]+)/.exec(pf.stderr())![1]!
  })
  afterAll(async () => { await pf.stop(); await be.close(); rmSync(dir, { recursive: true, force: true }) })

  it('runs with the empty entry of an unset ${VAR:-} ignored: its cookies are issued and honoured', async () => {
    const jar = new Jar()
    jar.take((await get(port)).setCookies)
    expect(jar.cookies.has('PILOTFISH')).toBe(true)
    const before = await series(admin)
    expect((await get(port, '/', jar.header)).setCookies).toEqual([])
    expect(delta(before, await series(admin))).toEqual({ 'group="app",cookie="PILOTFISH",result="honoured"': 1 })
  })

  it('shows (redacted) for each key in GET /v1/config, and the key nowhere in the body', async () => {
    const res = await fetch(`${admin}/v1/config`)
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(JSON.parse(text).stickiness).toEqual({ keys: ['(redacted)', '(redacted)'] })
    expect(text).not.toContain(KEY)
  })

  it('refuses a too-short key at /stickiness/keys/N, a sticky group with no keys or only empty ones under /stickiness, echoing no key', async () => {
    const running = (await callJson(`${admin}/v1/config`)).body
    const short = await fetch(`${admin}/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...running, stickiness: { keys: ['(redacted)', SHORT] } }) })
    const shortText = await short.text()
    expect(short.status).toBe(400)
    expect(JSON.parse(shortText).problems.map((p: { path: string }) => p.path)).toEqual(['/stickiness/keys/1'])
    expect(shortText).not.toContain(SHORT)
    expect(shortText).not.toContain(KEY)

    // No `stickiness:` section beside a sticky group: refused under /stickiness (a missing member at its own path,
    // as every missing required field is), not run with keys of its own.
    const { stickiness: _, ...keyless } = running
    const none = await callJson(`${admin}/v1/config`, 'PUT', keyless)
    expect([none.status, none.body.problems]).toEqual([400, [{ path: '/stickiness/keys', message: 'is required' }]])
    // Only empty entries (every ${VAR:-} unset): no key left.
    const empty = await callJson(`${admin}/v1/config`, 'PUT', { ...running, stickiness: { keys: ['', ''] } })
    expect([empty.status, empty.body.problems.map((p: { path: string }) => p.path)]).toEqual([400, ['/stickiness/keys']])
    // Still running with the key it had.
    expect((await get(port)).setCookies).toHaveLength(1)
  })

  it('writes no key to stderr or stdout: the startup log and the refused changes', () => {
    expect(pf.stderr()).toMatch(/admin API on/)
    for (const text of [pf.stderr(), pf.stdout()]) {
      expect(text).not.toContain(KEY)
      expect(text).not.toContain(SHORT)
    }
  })

  it('refuses to start with a too-short key, naming /stickiness/keys/N on stderr without either key', async () => {
    const file = join(dir, 'short.yaml')
    writeFileSync(file, [
      `listeners: [{ name: web, host: 127.0.0.1, port: ${port}, defaultAction: { type: forward, targetGroups: [{ name: app }] } }]`,
      `targetGroups: [{ name: app, targets: [{ host: 127.0.0.1, port: ${be.port} }], stickiness: { type: lb_cookie } }]`,
      'stickiness: { keys: ["${PILOTFISH_TEST_STICKY_KEY}", "${PILOTFISH_TEST_STICKY_SHORT}"] }',
      '',
    ].join('\n'))
    const run = await runCli(['run', '--config', file, '--shards', '1'], 15_000, { PILOTFISH_TEST_STICKY_KEY: KEY, PILOTFISH_TEST_STICKY_SHORT: SHORT })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('/stickiness/keys/1')
    for (const text of [run.stderr, run.stdout]) {
      expect(text).not.toContain(KEY)
      expect(text).not.toContain(SHORT)
    }
  })
})
