// The sidecar config: defaults from the schema, every mistake reported at its JSON path, and the derived types.
import { readFileSync } from 'node:fs'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { PilotfishError } from '../../core/errors.ts'
import type { HashOn } from '../../core/pipeline.ts'
import { validateConfig } from '../../schemas/validate.ts'
import { sidecarSchema } from '../../schemas/sidecar.schema.ts'
import type { ActionConfig, ConditionsConfig, HashOnConfig, ListenerConfig, SidecarConfig, TargetGroupConfig } from '../../schemas/sidecar.schema.ts'

/** A small valid config; each test copies it and changes one thing. */
function base (): any {
  return {
    listeners: [{
      name: 'web',
      port: 8080,
      rules: [{ priority: 1, conditions: { path: ['/api/*'] }, action: { type: 'forward', targetGroups: [{ name: 'app' }] } }],
      defaultAction: { type: 'fixed-response', statusCode: 404 },
    }],
    targetGroups: [{ name: 'app', targets: [{ host: '127.0.0.1', port: 3000 }] }],
  }
}

function problemsOf (config: unknown): Array<{ path: string, message: string }> {
  try {
    validateConfig(config)
  } catch (err) {
    expect(err).toBeInstanceOf(PilotfishError)
    expect((err as PilotfishError).code).toBe('PF_ERR_CONFIG_INVALID')
    return (err as PilotfishError).problems
  }
  throw new Error('expected the config to be invalid')
}

describe('sidecar config defaults', () => {
  it('fills every default from the schema', () => {
    const c = validateConfig(base())
    expect(c.admin).toEqual({ host: '127.0.0.1', port: 9901 })
    expect(c.listeners[0]).toMatchObject({
      host: '0.0.0.0', protocol: 'http', idleTimeoutSeconds: 60, headerTimeoutSeconds: 10, bodyTimeoutSeconds: 30,
      minRequestBodyRate: { bytesPerSecond: 240, graceSeconds: 5 },
      maxHeadBytes: 16384, maxHeaderCount: 100, xForwardedFor: 'append', xForwardedClientPort: false,
      preserveHost: true, accessLog: false,
    })
    expect(c.targetGroups[0]).toMatchObject({
      algorithm: 'round_robin', connectTimeoutSeconds: 5, responseTimeoutSeconds: 60, keepAliveTimeoutSeconds: 4,
      maxIdlePerTarget: 64, deregistrationDelaySeconds: 300, slowStartSeconds: 0,
    })
    expect(c.targetGroups[0]!.targets[0]!.weight).toBe(1)
    expect(c.listeners[0]!.rules[0]!.action).toEqual({ type: 'forward', targetGroups: [{ name: 'app', weight: 1 }] })
    expect(c.listeners[0]!.defaultAction).toEqual({ type: 'fixed-response', statusCode: 404, contentType: 'text/plain', body: '' })
  })

  it('defaults rules and targetGroups to empty lists and leaves health check and stickiness absent', () => {
    const c = validateConfig({ listeners: [{ name: 'l', port: 0, defaultAction: { type: 'fixed-response', statusCode: 200 } }] })
    expect(c.listeners[0]!.rules).toEqual([])
    expect(c.targetGroups).toEqual([])
    const g = validateConfig({ ...base(), targetGroups: [{ name: 'app' }] }).targetGroups[0]!
    expect(g.targets).toEqual([])
    expect(g).not.toHaveProperty('healthCheck')
    expect(g).not.toHaveProperty('stickiness')
  })

  it('fills ALB redirect defaults inside the chosen action', () => {
    const c = validateConfig({ ...base(), listeners: [{ name: 'l', port: 80, defaultAction: { type: 'redirect', protocol: 'HTTPS' } }] })
    expect(c.listeners[0]!.defaultAction).toEqual({
      type: 'redirect', statusCode: 301, protocol: 'HTTPS', host: '#{host}', port: '#{port}', path: '/#{path}', query: '#{query}',
    })
  })

  it('keeps plugin-owned objects (healthCheck, stickiness) as given', () => {
    const tg = { name: 'app', healthCheck: { path: '/health', intervalSeconds: 5 }, stickiness: { type: 'lb_cookie' } }
    const g = validateConfig({ ...base(), targetGroups: [tg] }).targetGroups[0]!
    expect(g.healthCheck).toEqual(tg.healthCheck)
    expect(g.stickiness).toEqual(tg.stickiness)
  })
})

describe('sidecar config validation', () => {
  it('reports every mistake, schema and semantic, each at its JSON path', () => {
    const config = base()
    config.admin = { host: '0.0.0.0', colour: 'blue' } // not loopback without token; unknown property
    config.listeners[0].port = 70000 // out of range
    delete config.listeners[0].name // required
    config.listeners[0].rules[0].action.targetGroups[0].name = 'missing' // unknown target group
    config.listeners[0].rules.push({ priority: 1, conditions: { pathRegex: ['(unclosed'] }, action: { type: 'teleport' } })
    config.targetGroups[0].algorithm = 'consistent_hash' // hashOn missing
    config.targetGroups[0].targets.push({ host: '127.0.0.1', port: 3000 }) // duplicate target
    const paths = problemsOf(config).map((p) => p.path)
    expect(paths).toEqual(expect.arrayContaining([
      '/admin/colour',
      '/admin/token',
      '/listeners/0/port',
      '/listeners/0/name',
      '/listeners/0/rules/0/action/targetGroups/0/name',
      '/listeners/0/rules/1/priority',
      '/listeners/0/rules/1/conditions/pathRegex/0',
      '/listeners/0/rules/1/action/type',
      '/targetGroups/0/hashOn',
      '/targetGroups/0/targets/1',
    ]))
    expect(paths).toHaveLength(10)
  })

  it('puts the first problem and then every other one in the error message', () => {
    const config = base()
    config.listeners[0].port = -1
    config.targetGroups[0].name = 'App'
    const err = (() => { try { validateConfig(config) } catch (e) { return e as PilotfishError } })()!
    expect(err.message).toMatch(/^config is invalid at \/listeners\/0\/port: must be >= 0\n {2}at \/targetGroups\/0\/name: must be 1-63 lower-case/)
  })

  it.each<{ desc: string, change: (c: any) => void, path: string, message: RegExp }>([
    { desc: 'an unknown property names the property', change: (c) => { c.listeners[0].timeout = 5 }, path: '/listeners/0/timeout', message: /not a known property/ },
    { desc: 'a missing required property names it', change: (c) => { delete c.listeners[0].defaultAction }, path: '/listeners/0/defaultAction', message: /is required/ },
    { desc: 'no listeners at all', change: (c) => { c.listeners = [] }, path: '/listeners', message: /fewer than 1/ },
    { desc: 'an enum lists the allowed values', change: (c) => { c.listeners[0].xForwardedFor = 'drop' }, path: '/listeners/0/xForwardedFor', message: /"append", "preserve", "remove"/ },
    { desc: 'an unknown action type lists the known ones', change: (c) => { c.listeners[0].defaultAction = { type: 'nope' } }, path: '/listeners/0/defaultAction/type', message: /"forward", "redirect", "fixed-response"/ },
    { desc: 'an action error is reported only for its own type', change: (c) => { c.listeners[0].defaultAction.statusCode = 'x' }, path: '/listeners/0/defaultAction/statusCode', message: /integer/ },
    { desc: 'a rule without conditions', change: (c) => { c.listeners[0].rules[0].conditions = {} }, path: '/listeners/0/rules/0/conditions', message: /at least one condition/ },
    { desc: 'more than 5 values in a condition (ALB limit)', change: (c) => { c.listeners[0].rules[0].conditions.path = ['/1', '/2', '/3', '/4', '/5', '/6'] }, path: '/listeners/0/rules/0/conditions/path', message: /more than 5/ },
    { desc: 'a lower-case method', change: (c) => { c.listeners[0].rules[0].conditions.method = ['get'] }, path: '/listeners/0/rules/0/conditions/method/0', message: /upper-case/ },
    { desc: 'a host pattern with a port', change: (c) => { c.listeners[0].rules[0].conditions.host = ['a.com:80'] }, path: '/listeners/0/rules/0/conditions/host/0', message: /no port/ },
    { desc: 'an invalid header name', change: (c) => { c.listeners[0].rules[0].conditions.headers = { 'x y': ['1'] } }, path: '/listeners/0/rules/0/conditions/headers/x y', message: /header name/ },
    { desc: 'a query pair without value', change: (c) => { c.listeners[0].rules[0].conditions.query = [{ key: 'a' }] }, path: '/listeners/0/rules/0/conditions/query/0/value', message: /is required/ },
    { desc: 'a CIDR that does not parse', change: (c) => { c.listeners[0].rules[0].conditions.sourceIp = ['10.0.0.0/40'] }, path: '/listeners/0/rules/0/conditions/sourceIp/0', message: /CIDR/ },
    { desc: 'an allowFrom entry that does not parse', change: (c) => { c.listeners[0].allowFrom = ['10.0.0.0/8', '2001:db8::/129'] }, path: '/listeners/0/allowFrom/1', message: /CIDR/ },
    { desc: 'an allowFrom entry that is not a string', change: (c) => { c.listeners[0].allowFrom = [10] }, path: '/listeners/0/allowFrom/0', message: /string/ },
    { desc: 'a regex that does not compile', change: (c) => { c.listeners[0].rules[0].conditions.pathRegex = ['a[b'] }, path: '/listeners/0/rules/0/conditions/pathRegex/0', message: /regular expression/ },
    { desc: 'a priority outside 1–50000', change: (c) => { c.listeners[0].rules[0].priority = 50001 }, path: '/listeners/0/rules/0/priority', message: /<= 50000/ },
    { desc: 'a duplicate rule priority', change: (c) => { c.listeners[0].rules.push({ ...c.listeners[0].rules[0] }) }, path: '/listeners/0/rules/1/priority', message: /duplicates the priority of \/listeners\/0\/rules\/0/ },
    { desc: 'a duplicate rule name', change: (c) => { c.listeners[0].rules.push({ ...c.listeners[0].rules[0], priority: 2 }); c.listeners[0].rules[0].name = 'r'; c.listeners[0].rules[1].name = 'r' }, path: '/listeners/0/rules/1/name', message: /duplicates/ },
    { desc: 'a duplicate listener name', change: (c) => { c.listeners.push({ ...c.listeners[0], port: 8081 }) }, path: '/listeners/1/name', message: /duplicates the name of \/listeners\/0/ },
    { desc: 'a duplicate host:port', change: (c) => { c.listeners.push({ ...c.listeners[0], name: 'b' }) }, path: '/listeners/1/port', message: /overlaps \/listeners\/0/ },
    { desc: 'a specific host on a port a wildcard host holds', change: (c) => { c.listeners.push({ ...c.listeners[0], name: 'b', host: '127.0.0.1' }) }, path: '/listeners/1/port', message: /overlaps/ },
    { desc: 'a duplicate target group name', change: (c) => { c.targetGroups.push({ name: 'app' }) }, path: '/targetGroups/1/name', message: /duplicates/ },
    { desc: 'a duplicate target in a group', change: (c) => { c.targetGroups[0].targets.push({ host: '127.0.0.1', port: 3000, weight: 5 }) }, path: '/targetGroups/0/targets/1', message: /duplicates 127.0.0.1:3000/ },
    { desc: 'a target weight of 0', change: (c) => { c.targetGroups[0].targets[0].weight = 0 }, path: '/targetGroups/0/targets/0/weight', message: />= 1/ },
    { desc: 'a malformed IPv6 target host', change: (c) => { c.targetGroups[0].targets[0].host = '1::2::3' }, path: '/targetGroups/0/targets/0/host', message: /IPv6/ },
    { desc: 'a forward to a missing target group', change: (c) => { c.listeners[0].defaultAction = { type: 'forward', targetGroups: [{ name: 'nope' }] } }, path: '/listeners/0/defaultAction/targetGroups/0/name', message: /does not exist/ },
    { desc: 'a forward naming a group twice', change: (c) => { c.listeners[0].rules[0].action.targetGroups.push({ name: 'app' }) }, path: '/listeners/0/rules/0/action/targetGroups/1/name', message: /twice/ },
    { desc: 'a forward with every weight 0', change: (c) => { c.listeners[0].rules[0].action.targetGroups[0].weight = 0 }, path: '/listeners/0/rules/0/action/targetGroups', message: /^at least one target group needs weight > 0$/ },
    { desc: 'a forward to more than 5 groups (ALB limit)', change: (c) => { c.listeners[0].rules[0].action.targetGroups = Array.from({ length: 6 }, () => ({ name: 'app' })) }, path: '/listeners/0/rules/0/action/targetGroups', message: /more than 5/ },
    { desc: 'a forward weight above 999 (ALB limit)', change: (c) => { c.listeners[0].rules[0].action.targetGroups[0].weight = 1000 }, path: '/listeners/0/rules/0/action/targetGroups/0/weight', message: /<= 999/ },
    { desc: 'hashOn missing for consistent_hash', change: (c) => { c.targetGroups[0].algorithm = 'consistent_hash' }, path: '/targetGroups/0/hashOn', message: /required when algorithm is consistent_hash/ },
    { desc: 'hashOn given for another algorithm', change: (c) => { c.targetGroups[0].hashOn = { header: 'x-user' } }, path: '/targetGroups/0/hashOn', message: /only used with/ },
    { desc: 'hashOn with two sources', change: (c) => { c.targetGroups[0].algorithm = 'consistent_hash'; c.targetGroups[0].hashOn = { header: 'a', cookie: 'b' } }, path: '/targetGroups/0/hashOn', message: /exactly one of/ },
    { desc: 'slow start between 1 and 29 s', change: (c) => { c.targetGroups[0].slowStartSeconds = 10 }, path: '/targetGroups/0/slowStartSeconds', message: /0 \(off\) or between 30 and 900/ },
    { desc: 'a deregistration delay above 3600 s', change: (c) => { c.targetGroups[0].deregistrationDelaySeconds = 3601 }, path: '/targetGroups/0/deregistrationDelaySeconds', message: /<= 3600/ },
    { desc: 'a fixed response with a 3XX status (ALB)', change: (c) => { c.listeners[0].defaultAction.statusCode = 302 }, path: '/listeners/0/defaultAction/statusCode', message: /2XX, 4XX or 5XX/ },
    { desc: 'a fixed response body over 1024 characters', change: (c) => { c.listeners[0].defaultAction.body = 'x'.repeat(1025) }, path: '/listeners/0/defaultAction/body', message: /more than 1024/ },
    { desc: 'a redirect path without leading "/"', change: (c) => { c.listeners[0].defaultAction = { type: 'redirect', path: '#{path}' } }, path: '/listeners/0/defaultAction/path', message: /start with "\/"/ },
    { desc: 'a redirect to an unknown protocol', change: (c) => { c.listeners[0].defaultAction = { type: 'redirect', protocol: 'ftp' } }, path: '/listeners/0/defaultAction/protocol', message: /HTTP, HTTPS or #\{protocol\}/ },
    { desc: 'a redirect with a bad port', change: (c) => { c.listeners[0].defaultAction = { type: 'redirect', port: 'eighty' } }, path: '/listeners/0/defaultAction/port', message: /port number/ },
    { desc: 'a redirect to its own URL (a loop)', change: (c) => { c.listeners[0].defaultAction = { type: 'redirect' } }, path: '/listeners/0/defaultAction', message: /its own URL/ },
    { desc: 'an admin API off loopback without a token', change: (c) => { c.admin = { host: '10.0.0.5' } }, path: '/admin/token', message: /not loopback/ },
  ])('rejects $desc', ({ change, path, message }) => {
    const config = base()
    change(config)
    const problems = problemsOf(config)
    const p = problems.find((x) => x.path === path)
    expect(p, JSON.stringify(problems)).toBeDefined()
    expect(p!.message).toMatch(message)
  })

  it.each<{ desc: string, change: (c: any) => void }>([
    { desc: 'two listeners on port 0 (any free port)', change: (c) => { c.listeners[0].port = 0; c.listeners.push({ ...c.listeners[0], name: 'b' }) } },
    { desc: 'the same port on two specific hosts', change: (c) => { c.listeners[0].host = '127.0.0.1'; c.listeners.push({ ...c.listeners[0], name: 'b', host: '127.0.0.2' }) } },
    { desc: 'an admin API on ::1 without a token', change: (c) => { c.admin = { host: '::1' } } },
    { desc: 'an admin API on 0.0.0.0 with a token', change: (c) => { c.admin = { host: '0.0.0.0', token: 's3cret' } } },
    { desc: 'a redirect that changes only the protocol', change: (c) => { c.listeners[0].defaultAction = { type: 'redirect', protocol: 'HTTPS' } } },
    { desc: 'a forward with one zero weight among others', change: (c) => { c.targetGroups.push({ name: 'b' }); c.listeners[0].rules[0].action.targetGroups = [{ name: 'app', weight: 0 }, { name: 'b' }] } },
    { desc: 'consistent_hash on the source IP', change: (c) => { c.targetGroups[0].algorithm = 'consistent_hash'; c.targetGroups[0].hashOn = { sourceIp: true } } },
    { desc: 'slow start 0, 30 and 900', change: (c) => { c.targetGroups.push({ name: 'b', slowStartSeconds: 30 }, { name: 'c', slowStartSeconds: 900 }) } },
    { desc: 'IPv6 targets and listener hosts', change: (c) => { c.listeners[0].host = '::'; c.targetGroups[0].targets = [{ host: '::1', port: 1 }, { host: '2001:db8::7', port: 1 }] } },
    { desc: 'allowFrom with IPv4, IPv6, plain addresses and a mapped block', change: (c) => { c.listeners[0].allowFrom = ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1', '::ffff:10.0.0.0/104'] } },
    { desc: 'fractional timeouts (short ones for tests)', change: (c) => { c.targetGroups[0].responseTimeoutSeconds = 0.25; c.listeners[0].idleTimeoutSeconds = 0.5 } },
  ])('accepts $desc', ({ change }) => {
    const config = base()
    change(config)
    expect(() => validateConfig(config)).not.toThrow()
  })
})

describe('sidecar config types', () => {
  it('types defaulted properties as present and actions as a union on `type`', () => {
    expectTypeOf<SidecarConfig['admin']['port']>().toEqualTypeOf<number>()
    expectTypeOf<TargetGroupConfig['algorithm']>()
      .toEqualTypeOf<'round_robin' | 'least_outstanding_requests' | 'weighted_random' | 'consistent_hash'>()
    expectTypeOf<Extract<ActionConfig, { type: 'redirect' }>['statusCode']>().toEqualTypeOf<301 | 302 | 307 | 308>()
    expectTypeOf<Extract<ActionConfig, { type: 'forward' }>['targetGroups'][number]['weight']>().toEqualTypeOf<number>()
    expectTypeOf<HashOnConfig>().toExtend<HashOn>()
    expectTypeOf<ListenerConfig['protocol']>().toEqualTypeOf<string>()
    expectTypeOf<NonNullable<ConditionsConfig['query']>[number]>().toEqualTypeOf<{ key?: string, value: string }>()
    expectTypeOf<NonNullable<ConditionsConfig['headers']>>().toEqualTypeOf<{ [name: string]: string[] }>()
  })
})

describe('docs/configuration.md', () => {
  it('documents every property of the schema', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
    const names = new Set<string>()
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) { node.forEach(walk); return }
      if (node === null || typeof node !== 'object') return
      const props = (node as { properties?: Record<string, unknown> }).properties
      if (props !== undefined) for (const k of Object.keys(props)) names.add(k)
      Object.values(node).forEach(walk)
    }
    walk(sidecarSchema)
    const missing = [...names].filter((n) => !docs.includes('`' + n))
    expect(missing).toEqual([])
  })
})
