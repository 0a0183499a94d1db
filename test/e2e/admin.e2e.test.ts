import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ajv } from '../../schemas/compile.ts'
import { errorReplySchema } from '../../schemas/admin.schema.ts'
import { callJson, deadPort, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'

describe('admin API', () => {
  let a: Backend
  let b: Backend
  let pf: Running
  beforeAll(async () => {
    a = await startBackend('a')
    b = await startBackend('b')
    pf = await startPilotfish(forwardConfig([a.port]), 2)
  })
  afterAll(async () => { await pf.stop(); await a.close(); await b.close() })

  it('reports version, config version, shards and listeners on GET /v1/status', async () => {
    const { status, body } = await callJson(`${pf.admin}/v1/status`)
    expect(status).toBe(200)
    expect(body.shards).toBe(2)
    expect(body.configVersion).toBeGreaterThanOrEqual(1)
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(body.listeners).toEqual([{ name: 'web', host: '127.0.0.1', port: pf.port, protocol: 'http' }])
  })

  it('returns the running config with its defaults filled on GET /v1/config', async () => {
    const { body } = await callJson(`${pf.admin}/v1/config`)
    expect(body.listeners[0].idleTimeoutSeconds).toBe(60)
    expect(body.targetGroups[0].deregistrationDelaySeconds).toBe(300)
  })

  it('rejects an invalid PUT /v1/config with every error path, and keeps serving the running config', async () => {
    const before = (await callJson(`${pf.admin}/v1/status`)).body.configVersion
    const bad = forwardConfig([a.port], { port: 70000, xForwardedFor: 'sometimes' }, { algorithm: 'fastest' })
    const { status, body } = await callJson(`${pf.admin}/v1/config`, 'PUT', bad)
    expect(status).toBe(400)
    expect(body.code).toBe('PF_ERR_CONFIG_INVALID')
    const paths = body.problems.map((p: { path: string }) => p.path)
    expect(paths).toEqual(expect.arrayContaining(['/listeners/0/port', '/listeners/0/xForwardedFor', '/targetGroups/0/algorithm']))
    expect((await callJson(`${pf.admin}/v1/status`)).body.configVersion).toBe(before)
    expect((await fetch(`http://127.0.0.1:${pf.port}/`)).status).toBe(200)
  })

  it('rolls every shard back when a new listener cannot bind, and keeps serving the running config', async () => {
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as net.AddressInfo).port
    try {
      const running = (await callJson(`${pf.admin}/v1/config`)).body
      const next = { ...running, listeners: [...running.listeners, { name: 'extra', host: '127.0.0.1', port, defaultAction: { type: 'fixed-response', statusCode: 200 } }] }
      const { status, body } = await callJson(`${pf.admin}/v1/config`, 'PUT', next)
      expect(status).toBe(500)
      expect(body.code).toBe('PF_ERR_SHARD_FAILED')
      expect(body.message).toMatch(/EADDRINUSE/)
      expect((await callJson(`${pf.admin}/v1/config`)).body.listeners.map((l: { name: string }) => l.name)).toEqual(['web'])
      expect((await fetch(`http://127.0.0.1:${pf.port}/`)).status).toBe(200)
    } finally {
      taken.close()
    }
  })

  it('registers and deregisters targets, showing state and in-flight counts', async () => {
    const add = await callJson(`${pf.admin}/v1/target-groups/app/targets`, 'POST', { host: '127.0.0.1', port: b.port })
    expect(add.status).toBe(201)
    const group = (await callJson(`${pf.admin}/v1/target-groups/app`)).body
    expect(group.targets.map((t: { port: number, state: string, inFlight: number, weight: number }) => [t.port, t.state, t.inFlight, t.weight]))
      .toEqual([[a.port, 'healthy', 0, 1], [b.port, 'healthy', 0, 1]])
    const names = new Set<string>()
    for (let i = 0; i < 8; i++) names.add(((await (await fetch(`http://127.0.0.1:${pf.port}/`)).json()) as { name: string }).name)
    expect(names).toEqual(new Set(['a', 'b']))
    const del = await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${b.port}`, 'DELETE')
    expect(del.status).toBe(200)
    for (let i = 0; i < 6; i++) expect(((await (await fetch(`http://127.0.0.1:${pf.port}/`)).json()) as { name: string }).name).toBe('a')
  })

  it('answers 404 for an unknown group, 409 for a duplicate target, 400 for a bad body', async () => {
    expect((await callJson(`${pf.admin}/v1/target-groups/nope`)).status).toBe(404)
    expect((await callJson(`${pf.admin}/v1/target-groups/app/targets`, 'POST', { host: '127.0.0.1', port: a.port })).status).toBe(409)
    const bad = await callJson(`${pf.admin}/v1/target-groups/app/targets`, 'POST', { host: '127.0.0.1', port: 'eighty', extra: 1 })
    expect(bad.status).toBe(400)
    expect(bad.body.problems.map((p: { path: string }) => p.path)).toEqual(expect.arrayContaining(['/port', '/extra']))
  })

  it('exposes Prometheus metrics by listener, rule, target group, target and status class', async () => {
    await fetch(`http://127.0.0.1:${pf.port}/m`)
    const text = await (await fetch(`${pf.admin}/metrics`)).text()
    expect(text).toMatch(new RegExp(`pilotfish_requests_total\\{listener="web",rule="default",target_group="app",target="127.0.0.1:${a.port}",code="2xx"\\} \\d+`))
    expect(text).toMatch(/pilotfish_request_duration_seconds_bucket\{le="0.005",listener="web",target_group="app"\} \d+/)
    expect(text).toMatch(/pilotfish_requests_in_flight\{listener="web"\} 0/)
    expect(text).toMatch(/pilotfish_shards 2/)
  })
})

describe('admin API loading', () => {
  it('answers the requests that arrive while its routes load, a body included', async () => {
    const be = await startBackend('be')
    const pf = await startPilotfish(forwardConfig([be.port]))
    try {
      // All at once, before the routes exist (they load on the first request): each waits, none is lost.
      const [status, put, groups, missing] = await Promise.all([
        callJson(`${pf.admin}/v1/status`),
        callJson(`${pf.admin}/v1/config`, 'PUT', forwardConfig([be.port, be.port + 1])),
        callJson(`${pf.admin}/v1/target-groups`),
        callJson(`${pf.admin}/v1/nope`),
      ])
      expect([status.status, put.status, groups.status, missing.status]).toEqual([200, 200, 200, 404])
      expect(put.body.configVersion).toBe(2)
    } finally {
      await pf.stop()
      await be.close()
    }
  })
})

describe('admin API security', () => {
  it('requires the bearer token when one is set', async () => {
    const be = await startBackend()
    const pf = await startPilotfish({ ...forwardConfig([be.port]), admin: { host: '127.0.0.1', port: 0, token: 's3cret-token' } })
    try {
      const refused = await fetch(`${pf.admin}/v1/status`)
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toBe('Bearer')
      expect(((await refused.json()) as { code: string }).code).toBe('PF_ERR_ADMIN_UNAUTHORIZED')
      // The token is checked before routing: a stranger learns nothing of which routes exist.
      expect((await fetch(`${pf.admin}/v1/nope`)).status).toBe(401)
      expect((await fetch(`${pf.admin}/v1/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
      expect((await fetch(`${pf.admin}/v1/status`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200)
      const config = await (await fetch(`${pf.admin}/v1/config`, { headers: { authorization: 'Bearer s3cret-token' } })).text()
      expect(config).not.toContain('s3cret-token')
    } finally {
      await pf.stop()
      await be.close()
    }
  })

  it('refuses to start the admin API off loopback without a token', async () => {
    await expect(startPilotfish({ ...forwardConfig([1]), admin: { host: '0.0.0.0', port: 0 } })).rejects.toThrow(/token/)
  })
})

describe('admin API request errors', () => {
  const isErrorReply = ajv.compile(errorReplySchema)
  let be: Backend
  let pf: Running
  beforeAll(async () => {
    be = await startBackend()
    pf = await startPilotfish(forwardConfig([be.port]))
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  const config = (port: number): string => JSON.stringify(forwardConfig([port]))
  it.each([
    { desc: 'a body that is not JSON', type: 'application/json', body: () => '{"listeners": [', status: 400, code: 'PF_ERR_ADMIN_BODY_JSON', says: /not valid JSON/ },
    { desc: 'a YAML file sent as JSON', type: 'application/json', body: () => 'listeners:\n  - name: web\n', status: 400, code: 'PF_ERR_ADMIN_BODY_JSON', says: /looks like YAML/ },
    { desc: 'an empty JSON body', type: 'application/json', body: () => '', status: 400, code: 'PF_ERR_ADMIN_BODY_JSON', says: /empty/ },
    { desc: 'a __proto__ key', type: 'application/json', body: () => '{"__proto__": {"admin": {}}}', status: 400, code: 'PF_ERR_ADMIN_BODY_JSON', says: /__proto__/ },
    { desc: 'a YAML body', type: 'application/yaml', body: () => 'listeners: []\n', status: 415, code: 'PF_ERR_ADMIN_BODY_YAML', says: /takes JSON, not YAML/ },
    { desc: 'a text/plain body', type: 'text/plain', body: (p: number) => config(p), status: 415, code: 'PF_ERR_ADMIN_CONTENT_TYPE', says: /text\/plain/ },
    { desc: 'a form body', type: 'application/x-www-form-urlencoded', body: () => 'a=1', status: 415, code: 'PF_ERR_ADMIN_CONTENT_TYPE', says: /application\/json/ },
    { desc: 'a body over the limit', type: 'application/json', body: () => JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }), status: 413, code: 'PF_ERR_ADMIN_BODY_TOO_LARGE', says: /larger/ },
  ])('answers $desc to PUT /v1/config with $status $code and keeps the running config', async ({ type, body, status, code, says }) => {
    const before = (await callJson(`${pf.admin}/v1/status`)).body.configVersion
    const res = await fetch(`${pf.admin}/v1/config`, { method: 'PUT', headers: { 'content-type': type }, body: body(be.port) })
    const reply = await res.json() as { code: string, message: string }
    expect([res.status, reply.code]).toEqual([status, code])
    expect(reply.message).toMatch(says)
    expect(isErrorReply(reply)).toBe(true)
    expect((await callJson(`${pf.admin}/v1/status`)).body.configVersion).toBe(before)
  })

  it('answers an unknown route with 404 PF_ERR_ADMIN_NOT_FOUND', async () => {
    const { status, body } = await callJson(`${pf.admin}/v1/nope`, 'POST')
    expect([status, body.code]).toEqual([404, 'PF_ERR_ADMIN_NOT_FOUND'])
    expect(body.message).toContain('POST /v1/nope')
  })

  it('takes the same config as JSON once the content-type is right', async () => {
    const res = await fetch(`${pf.admin}/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json; charset=utf-8' }, body: config(be.port) })
    expect(res.status).toBe(200)
  })
})

describe('admin API settings changed by PUT /v1/config', () => {
  const TOKEN = 'first-token'
  const auth = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })
  const put = (url: string, token: string, body: unknown) =>
    fetch(`${url}/v1/config`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  let be: Backend
  let pf: Running
  beforeAll(async () => {
    be = await startBackend()
    pf = await startPilotfish({ ...forwardConfig([be.port]), admin: { host: '127.0.0.1', port: 0, token: TOKEN } })
  })
  afterAll(async () => { await pf.stop(); await be.close() })
  const running = async (token: string) => ({ ...((await (await fetch(`${pf.sidecar.adminUrl!}/v1/config`, auth(token))).json()) as Record<string, unknown>) })

  it('rotates the token: the new one works at once and the old one is refused', async () => {
    const before = pf.sidecar.adminUrl!
    const res = await put(before, TOKEN, { ...forwardConfig([be.port]), admin: { host: '127.0.0.1', port: 0, token: 'second-token' } })
    expect(res.status).toBe(200)
    expect(pf.sidecar.adminUrl!).toBe(before) // port 0 again on the same host: it stays where it is
    expect((await fetch(`${before}/v1/status`, auth(TOKEN))).status).toBe(401)
    expect((await fetch(`${before}/v1/status`, auth('second-token'))).status).toBe(200)
    await put(before, 'second-token', { ...forwardConfig([be.port]), admin: { host: '127.0.0.1', port: 0, token: TOKEN } })
  })

  it('moves to a new port: the reply names it, the old port refuses connections, the new one serves', async () => {
    const old = pf.sidecar.adminUrl!
    const port = await deadPort()
    const res = await put(old, TOKEN, { ...forwardConfig([be.port]), admin: { host: '127.0.0.1', port, token: TOKEN } })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { admin: string }).admin).toBe(`http://127.0.0.1:${port}`)
    await expect(fetch(`${old}/v1/status`, auth(TOKEN))).rejects.toThrow()
    const now = `http://127.0.0.1:${port}`
    expect(pf.sidecar.adminUrl!).toBe(now)
    const status = (await (await fetch(`${now}/v1/status`, auth(TOKEN))).json()) as { admin: string }
    expect(status.admin).toBe(now)
    expect(((await running(TOKEN)).admin as { port: number }).port).toBe(port)
    expect((await fetch(`http://127.0.0.1:${pf.port}/`)).status).toBe(200)
  })

  it('refuses a move to a port in use with 409 PF_ERR_ADMIN_BIND, and changes nothing else either', async () => {
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as net.AddressInfo).port
    try {
      const url = pf.sidecar.adminUrl!
      const version = pf.sidecar.controlPlane.version
      const next = { ...forwardConfig([be.port], { defaultAction: { type: 'fixed-response', statusCode: 204 } }), admin: { host: '127.0.0.1', port, token: 'never-applied' } }
      const res = await put(url, TOKEN, next)
      const body = (await res.json()) as { code: string, message: string }
      expect([res.status, body.code]).toEqual([409, 'PF_ERR_ADMIN_BIND'])
      expect(body.message).toContain(`127.0.0.1:${port}`)
      expect(body.message).toMatch(/EADDRINUSE/)
      expect(body.message).not.toContain('never-applied')
      expect(pf.sidecar.controlPlane.version).toBe(version)
      expect((await fetch(`${url}/v1/status`, auth(TOKEN))).status).toBe(200)
      expect((await fetch(`http://127.0.0.1:${pf.port}/`)).status).toBe(200) // the listener change did not apply
    } finally {
      taken.close()
    }
  })

  it('lets go of the new port when the shards refuse the rest of the change', async () => {
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const busy = (taken.address() as net.AddressInfo).port
    const port = await deadPort()
    try {
      const url = pf.sidecar.adminUrl!
      const next = forwardConfig([be.port], { port: busy })
      const res = await put(url, TOKEN, { ...next, admin: { host: '127.0.0.1', port, token: TOKEN } })
      expect(res.status).toBe(500)
      expect(pf.sidecar.adminUrl!).toBe(url)
      await expect(fetch(`http://127.0.0.1:${port}/v1/status`, auth(TOKEN))).rejects.toThrow()
      expect((await fetch(`${url}/v1/status`, auth(TOKEN))).status).toBe(200)
    } finally {
      taken.close()
    }
  })
})

describe('admin API settings left out of PUT /v1/config', () => {
  it('stay as they run: a body without admin neither moves the API nor drops its token', async () => {
    const be = await startBackend()
    const pf = await startPilotfish({ ...forwardConfig([be.port]), admin: { host: '127.0.0.1', port: 0, token: 'kept-token' } })
    try {
      const url = pf.sidecar.adminUrl!
      const res = await fetch(`${url}/v1/config`, { method: 'PUT', headers: { authorization: 'Bearer kept-token', 'content-type': 'application/json' }, body: JSON.stringify(forwardConfig([be.port])) })
      expect(res.status).toBe(200)
      expect(pf.sidecar.adminUrl).toBe(url)
      expect((await fetch(`${url}/v1/status`)).status).toBe(401)
      const config = await (await fetch(`${url}/v1/config`, { headers: { authorization: 'Bearer kept-token' } })).json() as { admin: { port: number } }
      expect(config.admin.port).toBe(0)
    } finally {
      await pf.stop()
      await be.close()
    }
  })
})
