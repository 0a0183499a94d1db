// The stickiness plugin through the SDK harness: the decision stage a shard runs, with the plugin's real hooks.
// Two harnesses with the same keys stand for two shards or two sidecar replicas: neither shares anything.
import { describe, expect, it } from 'vitest'
import stickiness from '../../../plugins/stickiness/index.ts'
import { pluginHarness, type HarnessResult, type PluginHarness } from '../../../core/plugin/harness.ts'
import { parseSetCookie } from '../../../core/plugin-runtime.ts'

const KEY = 'k'.repeat(32)
const NEW_KEY = 'n'.repeat(32)
const targets = [1, 2, 3].map((i) => ({ host: `10.0.0.${i}`, port: 8080 }))
const COUNTER = 'pilotfish_stickiness_cookies_total'

function web (section: Record<string, unknown> = {}, keys = [KEY]): Promise<PluginHarness> {
  return pluginHarness(stickiness, { keys }, { targetGroups: { web: targets }, groupConfig: { web: { stickiness: section } } })
}

/** The Set-Cookie fields of a result, by cookie name. */
function setCookies (r: HarnessResult): Map<string, string> {
  const out = new Map<string, string>()
  for (const [name, value] of r.responseFields ?? []) if (name === 'set-cookie') out.set(parseSetCookie(value)!.name, value)
  return out
}

/** The cookie's name=value, as a client sends it back. */
function sent (field: string | undefined): string {
  const c = parseSetCookie(field!)!
  return `${c.name}=${c.value}`
}

const ok = { status: 200 }
const get = (h: PluginHarness, cookie?: string, extra: Record<string, unknown> = {}): Promise<HarnessResult> =>
  h.request({ forwardTo: 'web', response: ok, headers: cookie === undefined ? {} : { cookie }, ...extra })
const count = (h: PluginHarness, result: string, cookie = 'PILOTFISH'): number => h.counter(COUNTER, { group: 'web', cookie, result })

describe('lb_cookie stickiness', () => {
  it('gives a new client a cookie naming its target, with ALB-like attributes, and Secure only over TLS', async () => {
    const h = await web()
    const r = await get(h)
    expect(r.status).toBe(200)
    const field = setCookies(r).get('PILOTFISH')!
    expect(field).toMatch(/^PILOTFISH=[A-Za-z0-9_.-]+; Max-Age=86400; Path=\/; HttpOnly; SameSite=Lax$/)
    expect(field).not.toContain('10.0.0.')
    const tls = await h.request({ forwardTo: 'web', response: ok, protocol: 'https' })
    expect(setCookies(tls).get('PILOTFISH')).toMatch(/; Secure; HttpOnly; SameSite=Lax$/)
    expect(count(h, 'new')).toBe(2)
    await h.close()
  })

  it('keeps a client on its target across 20 requests where round robin alone would rotate, with no new cookie', async () => {
    const h = await web()
    const first = await get(h)
    const cookie = sent(setCookies(first).get('PILOTFISH'))
    for (let i = 0; i < 20; i++) {
      const r = await get(h, `theme=dark; ${cookie}`)
      expect(r.target?.endpoint.id).toBe(first.target?.endpoint.id)
      expect(setCookies(r).size).toBe(0)
    }
    expect(count(h, 'honoured')).toBe(20)
    await h.close()
  })

  it('is honoured by another instance with the same keys (another shard, another replica), and by no other', async () => {
    const a = await web()
    const b = await web()
    const stranger = await web({}, [NEW_KEY])
    const first = await get(a)
    const cookie = sent(setCookies(first).get('PILOTFISH'))
    // b's round robin starts where a's did; move it on so only the cookie can explain the same target.
    await get(b)
    expect((await get(b, cookie)).target?.endpoint.id).toBe(first.target?.endpoint.id)
    expect(count(b, 'honoured')).toBe(1)
    const r = await get(stranger, cookie)
    expect(r.status).toBe(200)
    expect(count(stranger, 'invalid')).toBe(1)
    expect(setCookies(r).has('PILOTFISH')).toBe(true)
    for (const h of [a, b, stranger]) await h.close()
  })

  it('never honours a tampered, malformed or foreign cookie, never fails the request, and gives a new one', async () => {
    const h = await web()
    const cookie = sent(setCookies(await get(h)).get('PILOTFISH'))
    const value = cookie.slice('PILOTFISH='.length)
    const bad = [
      value.slice(0, 5) + (value[5] === 'a' ? 'b' : 'a') + value.slice(6), // another target's token, say
      value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A'),
      'garbage', '', '..', '"quoted"', value + value, '%FF%FE',
    ]
    for (const v of bad) {
      const r = await get(h, `PILOTFISH=${v}`)
      expect(r.status, v).toBe(200)
      expect(r.failures, v).toEqual([])
      expect(setCookies(r).has('PILOTFISH'), v).toBe(true)
    }
    expect(count(h, 'invalid')).toBe(bad.length)
    expect(count(h, 'honoured')).toBe(0)
    await h.close()
  })

  it('treats a cookie past its duration as expired: a new pick and a new cookie', async () => {
    const h = await web({ durationSeconds: 60 })
    const cookie = sent(setCookies(await get(h)).get('PILOTFISH'))
    h.advance(61_000)
    const r = await get(h, cookie)
    expect(setCookies(r).get('PILOTFISH')).toContain('Max-Age=60')
    expect(count(h, 'expired')).toBe(1)
    await h.close()
  })

  it('re-signs a cookie once past half its duration, so an active session does not expire', async () => {
    const h = await web({ durationSeconds: 100 })
    const first = await get(h)
    const cookie = sent(setCookies(first).get('PILOTFISH'))
    h.advance(40_000)
    expect(setCookies(await get(h, cookie)).size).toBe(0)
    h.advance(20_000)
    const r = await get(h, cookie)
    expect(r.target?.endpoint.id).toBe(first.target?.endpoint.id)
    const renewed = sent(setCookies(r).get('PILOTFISH'))
    expect(renewed).not.toBe(cookie)
    h.advance(90_000) // past the first cookie's life, within the renewed one's
    expect((await get(h, renewed)).target?.endpoint.id).toBe(first.target?.endpoint.id)
    expect(count(h, 'expired')).toBe(0)
    await h.close()
  })

  it('moves a client whose target is out once, to a target it then keeps', async () => {
    const h = await web()
    const first = await get(h)
    const cookie = sent(setCookies(first).get('PILOTFISH'))
    const pinned = h.groups.get('web')!.targets.find((t) => t.endpoint.id === first.target!.endpoint.id)!
    pinned.eligible = false // drained, in maintenance or unhealthy: the core's view
    const moved = await get(h, cookie)
    expect(moved.target?.endpoint.id).not.toBe(pinned.endpoint.id)
    expect(count(h, 'target_gone')).toBe(1)
    const next = sent(setCookies(moved).get('PILOTFISH'))
    for (let i = 0; i < 5; i++) expect((await get(h, next)).target?.endpoint.id).toBe(moved.target?.endpoint.id)
    await h.close()
  })

  it('counts a deregistered target as gone', async () => {
    const h = await web()
    const first = await get(h)
    const cookie = sent(setCookies(first).get('PILOTFISH'))
    h.setTargets('web', targets.filter((t) => `${t.host}:${t.port}` !== first.target!.endpoint.id))
    const r = await get(h, cookie)
    expect(r.status).toBe(200)
    expect(count(h, 'target_gone')).toBe(1)
    await h.close()
  })

  it('strict: answers 503 when the sticky target is gone, and still picks anew for a client without a cookie', async () => {
    const h = await web({ strict: true })
    const first = await get(h)
    const cookie = sent(setCookies(first).get('PILOTFISH'))
    h.groups.get('web')!.targets.find((t) => t.endpoint.id === first.target!.endpoint.id)!.eligible = false
    expect((await get(h, cookie)).status).toBe(503)
    expect((await get(h)).status).toBe(200)
    expect((await get(h, 'PILOTFISH=junk')).status).toBe(200)
    await h.close()
  })

  it('keeps the target\'s own Set-Cookie fields as they are, each its own field, beside its cookie', async () => {
    const h = await web()
    const own = ['a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/', 'b=2; HttpOnly']
    const r = await h.request({ forwardTo: 'web', response: { status: 200, headers: { 'set-cookie': own } } })
    const fields = (r.responseFields ?? []).filter(([n]) => n === 'set-cookie').map(([, v]) => v)
    expect(fields.slice(0, 2)).toEqual(own)
    expect(fields).toHaveLength(3)
    await h.close()
  })
})

describe('key rotation', () => {
  it('keeps every session when a new key goes first, re-signing each cookie with it; dropping the old key then loses none of those', async () => {
    const before = await web({}, [KEY])
    const first = await get(before)
    const old = sent(setCookies(first).get('PILOTFISH'))
    const rotated = await web({}, [NEW_KEY, '', KEY]) // an unset ${VAR:-} in between is ignored
    const r = await get(rotated, old)
    expect(r.target?.endpoint.id).toBe(first.target?.endpoint.id)
    const resigned = sent(setCookies(r).get('PILOTFISH'))
    const after = await web({}, [NEW_KEY])
    expect((await get(after, resigned)).target?.endpoint.id).toBe(first.target?.endpoint.id)
    expect(count(after, 'honoured')).toBe(1)
    // A client that did not come back while both keys were in: its cookie is invalid now, and re-issued.
    const late = await get(after, old)
    expect(count(after, 'invalid')).toBe(1)
    expect(setCookies(late).has('PILOTFISH')).toBe(true)
    for (const h of [before, rotated, after]) await h.close()
  })

  it('refuses a short key and a list with no key left, at their paths, and needs keys at all', async () => {
    await expect(web({}, ['short'])).rejects.toMatchObject({ code: 'PF_ERR_CONFIG_INVALID', problems: [expect.objectContaining({ path: '/config/keys/0' })] })
    await expect(web({}, ['', ''])).rejects.toMatchObject({ problems: [expect.objectContaining({ path: '/config/keys' })] })
    await expect(pluginHarness(stickiness, {})).rejects.toMatchObject({ code: 'PF_ERR_CONFIG_INVALID' })
    // 32 bytes of UTF-8 in 11 characters is long enough: bytes count, not characters.
    const h = await web({}, ['€€€€€€€€€€' + 'ab'])
    await h.close()
  })
})

describe('app_cookie stickiness', () => {
  const app = { type: 'app_cookie', appCookieName: 'JSESSIONID' }

  it('follows the application cookie: a companion on the response that set it, honoured while the client sends both', async () => {
    const h = await web(app)
    const r = await h.request({ forwardTo: 'web', response: { status: 200, headers: { 'set-cookie': 'JSESSIONID=s1; Max-Age=600; Path=/' } } })
    const companion = setCookies(r).get('PILOTFISHAPP')!
    expect(companion).toMatch(/; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/)
    const both = `JSESSIONID=s1; ${sent(companion)}`
    for (let i = 0; i < 5; i++) {
      const again = await get(h, both)
      expect(again.target?.endpoint.id).toBe(r.target?.endpoint.id)
      expect(setCookies(again).size).toBe(0)
    }
    // Without the application's cookie there is no session to follow: the algorithm decides, and no companion.
    const anon = await get(h, sent(companion))
    expect(setCookies(anon).size).toBe(0)
    expect(count(h, 'honoured', 'PILOTFISHAPP')).toBe(5)
    // A companion is good only with the session it was bound to.
    await get(h, `JSESSIONID=s2; ${sent(companion)}`)
    expect(count(h, 'invalid', 'PILOTFISHAPP')).toBe(1)
    await h.close()
  })

  it('lives as long as the application cookie: a session cookie\'s companion is one too, a deletion deletes it', async () => {
    const h = await web(app)
    const session = await h.request({ forwardTo: 'web', response: { status: 200, headers: { 'set-cookie': 'JSESSIONID=s1; Path=/' } } })
    const c = parseSetCookie(setCookies(session).get('PILOTFISHAPP')!)!
    expect(c.maxAge).toBeUndefined()
    expect(c.expires).toBeUndefined()
    const gone = await h.request({ forwardTo: 'web', response: { status: 200, headers: { 'set-cookie': 'JSESSIONID=; Max-Age=0' } } })
    expect(parseSetCookie(setCookies(gone).get('PILOTFISHAPP')!)).toMatchObject({ value: '', maxAge: 0 })
    await h.close()
  })

  it('re-signs the companion of an active session once past half its duration, so the session keeps its target', async () => {
    const h = await web({ ...app, durationSeconds: 100 })
    const login = await h.request({ forwardTo: 'web', response: { status: 200, headers: { 'set-cookie': 'JSESSIONID=s1; Path=/' } } })
    const first = `JSESSIONID=s1; ${sent(setCookies(login).get('PILOTFISHAPP'))}`
    h.advance(40_000)
    expect(setCookies(await get(h, first)).size).toBe(0)
    h.advance(20_000)
    const r = await get(h, first)
    expect(r.target?.endpoint.id).toBe(login.target?.endpoint.id)
    const renewed = `JSESSIONID=s1; ${sent(setCookies(r).get('PILOTFISHAPP'))}`
    h.advance(90_000) // past the first companion's life, within the renewed one's
    for (let i = 0; i < 3; i++) expect((await get(h, renewed)).target?.endpoint.id).toBe(login.target?.endpoint.id)
    expect(count(h, 'expired', 'PILOTFISHAPP')).toBe(0)
    await h.close()
  })

  it('pins a client that has a session but no companion to the target that answered', async () => {
    const h = await web(app)
    const r = await get(h, 'JSESSIONID=s9')
    const companion = sent(setCookies(r).get('PILOTFISHAPP'))
    for (let i = 0; i < 3; i++) expect((await get(h, `JSESSIONID=s9; ${companion}`)).target?.endpoint.id).toBe(r.target?.endpoint.id)
    await h.close()
  })
})

describe('target group stickiness on a weighted forward', () => {
  const canary = [{ name: 'stable', weight: 1 }, { name: 'canary', weight: 1 }]
  const groups = { stable: [targets[0]!], canary: [targets[1]!] }
  const harness = (keys = [KEY]): Promise<PluginHarness> =>
    pluginHarness(stickiness, { keys }, { targetGroups: groups, forwardConfig: { stickiness: { enabled: true, durationSeconds: 3600 } } })

  it('keeps a client in the group it got, across instances with the same keys, with PILOTFISHTG', async () => {
    const a = await harness()
    const b = await harness()
    const first = await a.request({ forwardTo: canary, response: ok })
    const field = setCookies(first).get('PILOTFISHTG')!
    expect(field).toContain('Max-Age=3600')
    for (let i = 0; i < 20; i++) {
      const r = await b.request({ forwardTo: canary, response: ok, headers: { cookie: sent(field) } })
      expect(r.group).toBe(first.group)
    }
    expect(b.counter(COUNTER, { group: first.group, cookie: 'PILOTFISHTG', result: 'honoured' })).toBe(20)
    await a.close()
    await b.close()
  })

  it('chooses anew when the pinned group is no longer one the action sends to', async () => {
    const h = await harness()
    let r: HarnessResult
    do r = await h.request({ forwardTo: canary, response: ok }); while (r.group !== 'canary')
    const cookie = sent(setCookies(r).get('PILOTFISHTG'))
    const off = [{ name: 'stable', weight: 1 }, { name: 'canary', weight: 0 }]
    const moved = await h.request({ forwardTo: off, response: ok, headers: { cookie } })
    expect(moved.group).toBe('stable')
    expect(h.counter(COUNTER, { group: 'stable', cookie: 'PILOTFISHTG', result: 'target_gone' })).toBe(1)
    await h.close()
  })

  it('refuses a bad section at the forward action\'s path', async () => {
    await expect(pluginHarness(stickiness, { keys: [KEY] }, { targetGroups: groups, forwardConfig: { stickiness: { enabled: true, durationSeconds: 0 } } }))
      .rejects.toMatchObject({ problems: [expect.objectContaining({ path: '/listeners/0/defaultAction/stickiness/durationSeconds' })] })
  })
})
