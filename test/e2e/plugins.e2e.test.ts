// Plugins loaded into a running sidecar: each request-path hook, config validation, and containment.
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callJson, forwardConfig, raw, startBackend, startPilotfish, statuses, type Backend, type Running } from './harness.ts'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/plugins/${name}.ts`, import.meta.url))

async function get (port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Headers, body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

async function pluginErrors (admin: string, plugin: string, hook: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text()
  const m = new RegExp(`^pilotfish_plugin_errors_total\\{[^}]*plugin="${plugin}"[^}]*hook="${hook}"[^}]*\\} (\\d+)`, 'm').exec(text) ??
    new RegExp(`^pilotfish_plugin_errors_total\\{[^}]*hook="${hook}"[^}]*plugin="${plugin}"[^}]*\\} (\\d+)`, 'm').exec(text)
  return m === null ? 0 : Number(m[1])
}

describe('request-path hooks in a running sidecar', () => {
  let a: Backend, b: Backend, pf: Running
  beforeAll(async () => {
    a = await startBackend('a')
    b = await startBackend('b')
    const base = forwardConfig([a.port], { plugins: ['stamp'] }, { plugins: ['stamp'] })
    pf = await startPilotfish({
      ...base,
      plugins: [{ name: 'stamp', from: fixture('stamp'), config: { value: 'v1' } }],
      listeners: [{
        ...(base.listeners as object[])[0]!,
        rules: [
          { priority: 1, conditions: { plugin: ['stamp'] }, action: { type: 'fixed-response', statusCode: 200, body: 'matched' } },
          { priority: 2, conditions: { path: ['/routed'] }, action: { type: 'plugin', plugin: 'stamp' } },
          { priority: 3, conditions: { path: ['/routed'] }, action: { type: 'fixed-response', statusCode: 200, body: 'next rule' } },
        ],
      }],
      targetGroups: [
        { name: 'app', targets: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }], plugins: ['stamp'] },
        { name: 'other', targets: [{ host: '127.0.0.1', port: b.port }] },
      ],
    })
  })
  afterAll(async () => { await pf.stop(); await a.close(); await b.close() })

  it('onRequest edits the request the target gets, and onResponse the response the client gets', async () => {
    const r = await get(pf.port, '/x', { 'x-target-port': String(a.port) })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).headers['x-stamp']).toBe('v1')
    // listed on the listener and on the group: the hook runs for each
    expect(r.headers.get('x-stamped')).toBe('v1, v1')
  })

  it('onRequest can answer without a target, synchronously or after a promise', async () => {
    const r = await get(pf.port, '/x', { 'x-reply': '1' })
    expect([r.status, r.headers.get('x-by'), r.body]).toEqual([418, 'v1', 'teapot v1'])
    const later = await get(pf.port, '/x', { 'x-async-reply': '1' })
    expect([later.status, later.body]).toEqual([202, 'later'])
    expect(a.seen.concat(b.seen).some((s) => s.headers['x-reply'] !== undefined || s.headers['x-async-reply'] !== undefined)).toBe(false)
  })

  it('a request body waits while an asynchronous hook decides, then reaches the target whole', async () => {
    const text = await raw(pf.port, 'POST /x HTTP/1.1\r\nHost: x\r\nx-async-reply: 1\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /body HTTP/1.1\r\nHost: x\r\nx-target-port: ' + a.port + '\r\nContent-Length: 5\r\nConnection: close\r\n\r\nworld')
    expect(statuses(text)).toEqual([202, 200])
    expect(a.seen.at(-1)).toMatchObject({ url: '/body', body: 'world' })
  })

  it('a plugin condition matches through its match hook', async () => {
    expect((await get(pf.port, '/x', { 'x-pick': 'yes' })).body).toBe('matched')
    expect((await get(pf.port, '/x', { 'x-pick': 'no', 'x-target-port': String(a.port) })).status).toBe(200)
  })

  it('a plugin action forwards where route says, and passes the request on to the next rule when it has no answer', async () => {
    const routed = await get(pf.port, '/routed', { 'x-group': 'other' })
    expect(JSON.parse(routed.body).name).toBe('b')
    expect((await get(pf.port, '/routed')).body).toBe('next rule')
    expect((await get(pf.port, '/routed', { 'x-group': 'nope' })).status).toBe(503)
  })

  it("wrapSelector chooses the group's target, and falls back to the core's selector", async () => {
    for (let i = 0; i < 4; i++) expect(JSON.parse((await get(pf.port, '/x', { 'x-target-port': String(b.port) })).body).name).toBe('b')
    const names = new Set<string>()
    for (let i = 0; i < 4; i++) names.add(JSON.parse((await get(pf.port, '/x')).body).name)
    expect(names).toEqual(new Set(['a', 'b']))
  })

  it('GET /v1/plugins lists the plugin with its version and generation', async () => {
    const r = await callJson(`${pf.admin}/v1/plugins`)
    expect(r.body.plugins).toEqual([{ name: 'stamp', from: fixture('stamp'), version: '1.0.0', generation: 1, state: 'running', lastError: null }])
  })

  it('a config-only change is set up again in place, without a new generation', async () => {
    const cfg = (await callJson(`${pf.admin}/v1/config`)).body
    cfg.plugins[0].config.value = 'v2'
    expect((await callJson(`${pf.admin}/v1/config`, 'PUT', cfg)).status).toBe(200)
    const r = await get(pf.port, '/x', { 'x-target-port': String(a.port) })
    expect(JSON.parse(r.body).headers['x-stamp']).toBe('v2')
    expect((await callJson(`${pf.admin}/v1/plugins`)).body.generation).toBe(1)
  })
})

describe('plugin config and load errors leave the running config in place', () => {
  let be: Backend, pf: Running
  beforeAll(async () => {
    be = await startBackend('be')
    pf = await startPilotfish({ ...forwardConfig([be.port]), plugins: [{ name: 'stamp', from: fixture('stamp') }] })
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  const attempt = async (plugins: unknown[]): Promise<{ status: number, body: any }> => {
    const cfg = (await callJson(`${pf.admin}/v1/config`)).body
    return callJson(`${pf.admin}/v1/config`, 'PUT', { ...cfg, plugins })
  }

  it("rejects a plugin config its own schema refuses, with the path into the plugin's config", async () => {
    const r = await attempt([{ name: 'stamp', from: fixture('stamp'), config: { value: '', extra: 1 } }])
    expect(r.status).toBe(400)
    expect(r.body.problems.map((p: { path: string }) => p.path).sort()).toEqual(['/plugins/0/config/extra', '/plugins/0/config/value'])
    expect((await get(pf.port, '/')).status).toBe(200)
  })

  it('rejects a module that fails at import, or is not a plugin, naming the entry', async () => {
    for (const name of ['throws-at-import', 'not-a-plugin']) {
      const r = await attempt([{ name: 'x', from: fixture(name) }])
      expect(r.status).toBe(400)
      expect(r.body.problems[0].path).toBe('/plugins/0/from')
      expect(r.body.problems[0].message).toMatch(/could not load: (this module fails at import|name must be a kebab-case string)/)
    }
    expect((await get(pf.port, '/')).status).toBe(200)
  })

  it('GET /v1/plugins keeps the reason a change to a running plugin was refused', async () => {
    await attempt([{ name: 'stamp', from: fixture('stamp'), config: { value: 7 } }])
    expect((await callJson(`${pf.admin}/v1/plugins`)).body.plugins[0]).toMatchObject({
      name: 'stamp', state: 'last-change-failed', lastError: '/plugins/0/config/value: must be string',
    })
  })

  it('rejects references to plugins that are not configured, and hooks a plugin does not have', async () => {
    const cfg = (await callJson(`${pf.admin}/v1/config`)).body
    cfg.listeners[0].plugins = ['missing']
    const r = await callJson(`${pf.admin}/v1/config`, 'PUT', cfg)
    expect(r.status).toBe(400)
    expect(r.body.problems).toContainEqual({ path: '/listeners/0/plugins/0', message: 'names plugin missing, which is not in /plugins' })
    const noRoute = (await callJson(`${pf.admin}/v1/config`)).body
    noRoute.plugins.push({ name: 'faulty', from: fixture('faulty') })
    noRoute.listeners[0].defaultAction = { type: 'plugin', plugin: 'faulty' }
    const r2 = await callJson(`${pf.admin}/v1/config`, 'PUT', noRoute)
    expect(r2.status).toBe(400)
    expect(r2.body.message).toMatch(/plugin faulty is used for its route hook, which it does not have/)
    expect((await get(pf.port, '/')).status).toBe(200)
  })
})

describe('containment: a failing hook fails its request only', () => {
  let be: Backend, pf: Running
  const config = (failMode: 'open' | 'closed') => ({
    ...forwardConfig([be.port], { plugins: ['faulty'] }),
    plugins: [{ name: 'faulty', from: fixture('faulty'), failMode, hookTimeoutSeconds: 0.2 }],
  })
  beforeAll(async () => {
    be = await startBackend('be')
    pf = await startPilotfish(config('closed'))
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('fail-closed: a throw, a rejection, a timeout, an invalid reply or a framing edit answers 500 and is counted', async () => {
    for (const fault of ['throw', 'reject', 'never', 'invalid', 'framing']) {
      const r = await get(pf.port, '/', { 'x-fault': fault })
      expect([fault, r.status]).toEqual([fault, 500])
      expect((await get(pf.port, '/')).status).toBe(200) // and the next request is fine
    }
    expect(await pluginErrors(pf.admin, 'faulty', 'onRequest')).toBe(5)
  })

  it('a hook that must be synchronous but returns a promise is a failure, and its rejection harms nothing else', async () => {
    const cfg = {
      ...forwardConfig([be.port], { plugins: ['async-forward'] }),
      plugins: [{ name: 'async-forward', from: fixture('async-forward') }], // fail-open, its own choice
    }
    expect((await callJson(`${pf.admin}/v1/config`, 'PUT', cfg)).status).toBe(200)
    for (let i = 0; i < 3; i++) expect((await get(pf.port, '/')).status).toBe(200)
    expect(await pluginErrors(pf.admin, 'async-forward', 'onForward')).toBe(3)
    expect((await callJson(`${pf.admin}/v1/status`)).body.shardRestarts).toBe(0)
    expect((await callJson(`${pf.admin}/v1/config`, 'PUT', config('closed'))).status).toBe(200)
  })

  it('fail-open: the same faults skip the plugin and the request reaches the target', async () => {
    expect((await callJson(`${pf.admin}/v1/config`, 'PUT', config('open'))).status).toBe(200)
    for (const fault of ['throw', 'reject', 'never', 'invalid']) {
      const r = await get(pf.port, '/', { 'x-fault': fault })
      expect([fault, r.status]).toEqual([fault, 200])
    }
    expect(await pluginErrors(pf.admin, 'faulty', 'onRequest')).toBe(9)
  })
})
