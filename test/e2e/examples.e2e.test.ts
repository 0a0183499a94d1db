// The example plugins (examples/plugins/) loaded into a running sidecar, as their READMEs configure them.
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBackend, startPilotfish, type Backend, type Running } from './harness.ts'

const example = (name: string): string => fileURLToPath(new URL(`../../examples/plugins/${name}/index.ts`, import.meta.url))

async function whoAnswers (port: number, headers: Record<string, string> = {}): Promise<{ status: number, name?: string, tenant?: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/api`, { headers })
  const text = await res.text()
  if (res.status !== 200) return { status: res.status }
  const body = JSON.parse(text) as { name: string, headers: Record<string, string> }
  return { status: 200, name: body.name, tenant: body.headers['x-tenant'] }
}

const jwt = (claims: object): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`

describe('example plugins in a running sidecar', () => {
  const backends: Backend[] = []
  let pf: Running
  beforeAll(async () => {
    for (const name of ['stable', 'canary', 'acme', 'shared']) backends.push(await startBackend(name))
    const group = (name: string, i: number) => ({ name, targets: [{ host: '127.0.0.1', port: backends[i]!.port }] })
    pf = await startPilotfish({
      listeners: [{
        name: 'web',
        host: '127.0.0.1',
        port: 0,
        plugins: ['tenants'], // for its onForward: the target learns the tenant
        rules: [
          { priority: 1, conditions: { path: ['/api'], headers: { 'x-app': ['shop'] } }, action: { type: 'plugin', plugin: 'canary' } },
          { priority: 2, conditions: { path: ['/api'], plugin: ['tenants'] }, action: { type: 'plugin', plugin: 'tenants' } },
        ],
        defaultAction: { type: 'fixed-response', statusCode: 404, body: 'no route' },
      }],
      targetGroups: [group('stable', 0), group('canary', 1), group('acme', 2), group('shared', 3)],
      plugins: [
        { name: 'canary', from: example('canary'), config: { stable: 'stable', canary: 'canary', percent: 25, sticky: { header: 'x-user' } } },
        { name: 'tenants', from: example('tenant-routing'), config: { tenants: { acme: 'acme' }, defaultGroup: 'shared' } },
      ],
    }, 2)
  })
  afterAll(async () => {
    await pf.stop()
    for (const b of backends) await b.close()
  })

  it('canary: splits by percentage, keeps a user on one side, and obeys the force header', async () => {
    const seen = new Map<string, string>()
    const sides = { stable: 0, canary: 0 }
    for (let u = 0; u < 200; u++) {
      const r = await whoAnswers(pf.port, { 'x-app': 'shop', 'x-user': `user-${u}` })
      sides[r.name as 'stable' | 'canary']++
      seen.set(`user-${u}`, r.name!)
    }
    // 25 % of 200 users: mean 50, σ ≈ 6.1; 6σ either way.
    expect(sides.canary).toBeGreaterThan(50 - 37)
    expect(sides.canary).toBeLessThan(50 + 37)
    for (let u = 0; u < 20; u++) expect((await whoAnswers(pf.port, { 'x-app': 'shop', 'x-user': `user-${u}` })).name).toBe(seen.get(`user-${u}`))
    expect((await whoAnswers(pf.port, { 'x-app': 'shop', 'x-canary': 'always' })).name).toBe('canary')
    expect((await whoAnswers(pf.port, { 'x-app': 'shop', 'x-canary': 'never' })).name).toBe('stable')
  })

  it('tenant routing: by header or token claim, unknown tenants to the default group, the tenant passed on', async () => {
    expect(await whoAnswers(pf.port, { 'x-tenant': 'acme' })).toEqual({ status: 200, name: 'acme', tenant: 'acme' })
    expect(await whoAnswers(pf.port, { authorization: `Bearer ${jwt({ tenant: 'acme' })}` })).toEqual({ status: 200, name: 'acme', tenant: 'acme' })
    expect(await whoAnswers(pf.port, { 'x-tenant': 'globex' })).toEqual({ status: 200, name: 'shared', tenant: 'globex' })
    // No tenant at all: the plugin condition does not match, so the default action answers.
    expect((await whoAnswers(pf.port)).status).toBe(404)
  })

  it('refuses a config where a plugin would route to a target group that does not exist, and keeps serving', async () => {
    const cfg = (await fetch(`${pf.admin}/v1/config`).then((r) => r.json())) as { plugins: Array<{ name: string, config: Record<string, unknown> }> }
    cfg.plugins[0]!.config.canary = 'canry'
    const r = await fetch(`${pf.admin}/v1/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cfg) })
    expect(r.status).toBe(400)
    expect(((await r.json()) as { message: string }).message).toMatch(/plugin canary routes to target group canry, which does not exist/)
    expect((await whoAnswers(pf.port, { 'x-app': 'shop', 'x-canary': 'always' })).name).toBe('canary')
  })
})
