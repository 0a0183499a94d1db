// The tenant-routing example plugin, run through the SDK's harness: tenant from a header or a token's claim,
// unknown tenants, malformed tokens, and the header the target gets.
import { describe, expect, it } from 'vitest'
import tenantRouting from '../../../examples/plugins/tenant-routing/index.ts'
import { pluginHarness, type HarnessResult } from '../../../core/plugin/harness.ts'
import { PilotfishError } from '../../../core/errors.ts'

const groups = {
  acme: [{ host: '10.0.1.1', port: 80 }],
  globex: [{ host: '10.0.2.1', port: 80 }],
  shared: [{ host: '10.0.9.1', port: 80 }],
}
const tenants = { acme: 'acme', globex: 'globex' }

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
/** A token as an edge would pass it on; the signature is never looked at. */
const bearer = (payload: unknown): string => `Bearer ${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}.c2lnbmF0dXJl`
const groupOf = (r: HarnessResult): string | undefined => (r.route as { targetGroup?: string } | undefined)?.targetGroup

describe('tenant-routing plugin', () => {
  it.each([
    { desc: 'requires tenants', config: {}, path: '/config/tenants' },
    { desc: 'refuses an empty tenant map', config: { tenants: {} }, path: '/config/tenants' },
    { desc: 'refuses a group name that cannot exist', config: { tenants: { acme: 'ACME' } }, path: '/config/tenants/acme' },
    { desc: 'refuses a reply other than 403 or 404', config: { tenants, unknownReply: { statusCode: 500 } }, path: '/config/unknownReply/statusCode' },
    { desc: 'refuses an unknown source', config: { tenants, from: ['cookie'] }, path: '/config/from/0' },
  ])('config: $desc', async ({ config, path }) => {
    const err = await pluginHarness(tenantRouting, config).catch((e: unknown) => e)
    expect((err as PilotfishError).code).toBe('PF_ERR_CONFIG_INVALID')
    expect((err as PilotfishError).problems.map((p) => p.path)).toContain(path)
  })

  it('routes by the x-tenant header to the tenant\'s group', async () => {
    const h = await pluginHarness(tenantRouting, { tenants }, { targetGroups: groups })
    const r = await h.request({ headers: { 'x-tenant': 'globex' } })
    expect(r.route).toEqual({ targetGroup: 'globex' })
    expect(r.target?.endpoint.id).toBe('10.0.2.1:80')
  })

  it('routes by the tenant claim of a bearer token, named or integer', async () => {
    const h = await pluginHarness(tenantRouting, { tenants: { ...tenants, 42: 'shared' } })
    expect(groupOf(await h.request({ headers: { authorization: bearer({ sub: 'u1', tenant: 'acme' }) } }))).toBe('acme')
    expect(groupOf(await h.request({ headers: { authorization: bearer({ tenant: 42 }) } }))).toBe('shared')
    const org = await pluginHarness(tenantRouting, { tenants, claim: 'https://example.com/org' })
    expect(groupOf(await org.request({ headers: { authorization: bearer({ 'https://example.com/org': 'globex' }) } }))).toBe('globex')
  })

  it('believes the token over the header by default, and the header first when `from` says so', async () => {
    const headers = { authorization: bearer({ tenant: 'acme' }), 'x-tenant': 'globex' }
    const jwtFirst = await pluginHarness(tenantRouting, { tenants })
    const headerFirst = await pluginHarness(tenantRouting, { tenants, from: ['header', 'jwt'] })
    const headerOnly = await pluginHarness(tenantRouting, { tenants, from: ['header'] })
    expect(groupOf(await jwtFirst.request({ headers }))).toBe('acme')
    expect(groupOf(await headerFirst.request({ headers }))).toBe('globex')
    expect(groupOf(await headerOnly.request({ headers: { authorization: headers.authorization } }))).toBeUndefined()
  })

  it('answers 404 "unknown tenant" for an unknown or missing tenant by default', async () => {
    const h = await pluginHarness(tenantRouting, { tenants }, { targetGroups: groups })
    for (const headers of [{ 'x-tenant': 'initech' }, {}] as Array<Record<string, string>>) {
      const r = await h.request({ headers })
      expect(r.status).toBe(404)
      expect(r.reply?.body).toBe('unknown tenant')
      expect(r.target).toBeNull()
    }
  })

  it('answers the configured reply, or forwards to the default group, for an unknown tenant', async () => {
    const deny = await pluginHarness(tenantRouting, { tenants, unknownReply: { statusCode: 403, body: 'no' } })
    expect(await deny.request({ headers: { 'x-tenant': 'initech' } })).toMatchObject({ status: 403, reply: { statusCode: 403, body: 'no' } })
    const fallback = await pluginHarness(tenantRouting, { tenants, defaultGroup: 'shared' }, { targetGroups: groups })
    expect((await fallback.request({ headers: { 'x-tenant': 'initech' } })).target?.endpoint.id).toBe('10.0.9.1:80')
  })

  it('does not take Object\'s own properties for tenants', async () => {
    const h = await pluginHarness(tenantRouting, { tenants, defaultGroup: 'shared' })
    expect(groupOf(await h.request({ headers: { 'x-tenant': 'constructor' } }))).toBe('shared')
  })

  it.each([
    { desc: 'another scheme', authorization: `Basic ${b64('acme:secret')}` },
    { desc: 'a token without dots', authorization: 'Bearer abcdef' },
    { desc: 'a token with one dot', authorization: `Bearer ${b64({ alg: 'none' })}.${b64({ tenant: 'acme' })}` },
    { desc: 'a payload that is not base64url JSON', authorization: `Bearer ${b64({})}.%%%not-json%%%.sig` },
    { desc: 'a payload that is JSON null', authorization: bearer(null) },
    { desc: 'a payload that is an array', authorization: bearer(['acme']) },
    { desc: 'a claim that is an object', authorization: bearer({ tenant: { id: 'acme' } }) },
    { desc: 'a claim with a space in it', authorization: bearer({ tenant: 'acme corp' }) },
    { desc: 'an empty bearer', authorization: 'Bearer ' },
  ])('treats $desc as no tenant, without failing', async ({ authorization }) => {
    const h = await pluginHarness(tenantRouting, { tenants, defaultGroup: 'shared' })
    const r = await h.request({ headers: { authorization } })
    expect(r.failures).toEqual([])
    expect(r.matched).toBe(false)
    expect(groupOf(r)).toBe('shared')
    // The next source still counts: a malformed token does not hide the header.
    expect(groupOf(await h.request({ headers: { authorization, 'x-tenant': 'globex' } }))).toBe('globex')
  })

  it('matches when a tenant can be read, known or not', async () => {
    const h = await pluginHarness(tenantRouting, { tenants })
    expect((await h.request({ headers: { 'x-tenant': 'acme' } })).matched).toBe(true)
    expect((await h.request({ headers: { 'x-tenant': 'initech' } })).matched).toBe(true)
    expect((await h.request({ headers: { authorization: bearer({ tenant: 'acme' }) } })).matched).toBe(true)
    expect((await h.request()).matched).toBe(false)
  })

  it('tells the target the tenant, over whatever the client sent, and removes the header when there is none', async () => {
    const h = await pluginHarness(tenantRouting, { tenants, defaultGroup: 'shared' }, { targetGroups: groups })
    const known = await h.request({ headers: { authorization: bearer({ tenant: 'acme' }), 'x-tenant': 'globex' } })
    expect(known.requestHeaders['x-tenant']).toBe('acme')
    const none = await h.request({ headers: { 'x-tenant': 'bad tenant' } })
    expect(groupOf(none)).toBe('shared')
    expect(none.requestHeaders['x-tenant']).toBeUndefined()
  })
})
