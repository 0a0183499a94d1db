// Admin API bodies: the register-target body shares the config's target schema.
import { describe, expect, it } from 'vitest'
import type { PilotfishError } from '../../core/errors.ts'
import { ajv } from '../../schemas/compile.ts'
import { parseRegisterTarget } from '../../schemas/validate.ts'
import * as adminSchemas from '../../schemas/admin.schema.ts'
import { registerTargetSchema, targetGroupParamsSchema } from '../../schemas/admin.schema.ts'

describe('register target body', () => {
  it.each([
    { desc: 'an IPv4 address', body: { host: '10.0.0.1', port: 80 } },
    { desc: 'an IPv6 address', body: { host: '2001:db8::1', port: 443 } },
    { desc: 'a host name', body: { host: 'app-1.svc.cluster.local', port: 3000 } },
    { desc: 'an explicit weight', body: { host: 'a', port: 1, weight: 1000 } },
  ])('accepts $desc and defaults the weight to 1', ({ body }) => {
    expect(parseRegisterTarget({ ...body })).toEqual({ weight: 1, ...body })
  })

  it.each([
    { desc: 'a missing port', body: { host: 'a' }, path: '/body/port' },
    { desc: 'port 0', body: { host: 'a', port: 0 }, path: '/body/port' },
    { desc: 'port 65536', body: { host: 'a', port: 65536 }, path: '/body/port' },
    { desc: 'weight 0', body: { host: 'a', port: 1, weight: 0 }, path: '/body/weight' },
    { desc: 'weight 1001', body: { host: 'a', port: 1, weight: 1001 }, path: '/body/weight' },
    { desc: 'a host with a space', body: { host: 'a b', port: 1 }, path: '/body/host' },
    { desc: 'a URL instead of a host', body: { host: 'http://a', port: 1 }, path: '/body/host' },
    { desc: 'an unknown property', body: { host: 'a', port: 1, zone: 'x' }, path: '/body/zone' },
  ])('rejects $desc at $path', ({ body, path }) => {
    let err: PilotfishError | undefined
    try { parseRegisterTarget(body, '/body') } catch (e) { err = e as PilotfishError }
    expect(err?.code).toBe('PF_ERR_CONFIG_INVALID')
    expect(err?.problems.map((p) => p.path)).toEqual([path])
  })

  it('compiles every admin schema under strict mode', () => {
    const schemas = Object.values(adminSchemas)
    expect(schemas.length).toBeGreaterThan(8)
    for (const schema of schemas) expect(() => ajv.compile(schema)).not.toThrow()
    expect(schemas).toContain(registerTargetSchema)
    expect(schemas).toContain(targetGroupParamsSchema)
  })
})
