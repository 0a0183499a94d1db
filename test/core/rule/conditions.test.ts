// Each ALB condition type [S1], matched through a one-rule RuleTable: the rule either wins or the default does.
import { describe, expect, it } from 'vitest'
import type { RequestCtx } from '../../../core/pipeline.ts'
import { RuleTable } from '../../../core/rule/rule-table.ts'
import { hostEnd } from '../../../core/rule/conditions.ts'
import { validateConfig } from '../../../schemas/validate.ts'
import type { ConditionsConfig, ListenerConfig } from '../../../schemas/sidecar.schema.ts'

interface Req {
  method?: string, path?: string, query?: string, host?: string, clientIp?: string, headers?: Record<string, string>
}

function request (r: Req): RequestCtx {
  const headers = r.headers ?? {}
  return {
    method: r.method ?? 'GET',
    path: r.path ?? '/',
    query: r.query ?? '',
    host: r.host ?? 'example.com',
    clientIp: r.clientIp ?? '203.0.113.1',
    clientPort: 50000,
    protocol: 'http',
    listenerPort: 8080,
    header: (name) => headers[name],
  }
}

/** A validated listener with one rule (priority 1) whose conditions are `conditions`. */
function listenerWith (conditions: ConditionsConfig): ListenerConfig {
  const config = validateConfig({
    listeners: [{
      name: 'web',
      port: 0,
      rules: [{ name: 'hit', priority: 1, conditions, action: { type: 'fixed-response', statusCode: 200 } }],
      defaultAction: { type: 'fixed-response', statusCode: 404 },
    }],
  })
  return config.listeners[0]!
}

const matches = (conditions: ConditionsConfig, r: Req): boolean =>
  new RuleTable(listenerWith(conditions)).match(request(r)).name === 'hit'

describe('rule conditions', () => {
  it.each<{ desc: string, rule: ConditionsConfig, request: Req, expected: boolean }>([
    // path-pattern: case-sensitive, wildcards, values OR-ed
    { desc: 'path: exact value matches', rule: { path: ['/login'] }, request: { path: '/login' }, expected: true },
    { desc: 'path: prefix wildcard matches below it', rule: { path: ['/api/*'] }, request: { path: '/api/v1/users' }, expected: true },
    { desc: 'path: is case-sensitive', rule: { path: ['/api/*'] }, request: { path: '/API/v1' }, expected: false },
    { desc: 'path: ? is one character', rule: { path: ['/v?/items'] }, request: { path: '/v2/items' }, expected: true },
    { desc: 'path: any of several values', rule: { path: ['/a', '/b/*'] }, request: { path: '/b/c' }, expected: true },
    { desc: 'path: none of several values', rule: { path: ['/a', '/b/*'] }, request: { path: '/c' }, expected: false },
    { desc: 'path: the query is not part of the path', rule: { path: ['/search'] }, request: { path: '/search', query: 'q=1' }, expected: true },
    // pathRegex
    { desc: 'pathRegex: matches anywhere unless anchored', rule: { pathRegex: ['v[0-9]+'] }, request: { path: '/api/v12/x' }, expected: true },
    { desc: 'pathRegex: anchored pattern rejects', rule: { pathRegex: ['^/v[0-9]+/'] }, request: { path: '/api/v1/x' }, expected: false },
    { desc: 'pathRegex: has no flags (case-sensitive)', rule: { pathRegex: ['^/api'] }, request: { path: '/API' }, expected: false },
    // http-request-method: exact, case-sensitive
    { desc: 'method: listed method matches', rule: { method: ['GET', 'POST'] }, request: { method: 'POST' }, expected: true },
    { desc: 'method: unlisted method does not', rule: { method: ['GET', 'POST'] }, request: { method: 'DELETE' }, expected: false },
    { desc: 'method: is case-sensitive', rule: { method: ['GET'] }, request: { method: 'get' }, expected: false },
    // host-header: case-insensitive, wildcards, port ignored
    { desc: 'host: exact, case-insensitive', rule: { host: ['api.example.com'] }, request: { host: 'API.Example.COM' }, expected: true },
    { desc: 'host: the port is ignored', rule: { host: ['api.example.com'] }, request: { host: 'api.example.com:8443' }, expected: true },
    { desc: 'host: wildcard subdomain', rule: { host: ['*.example.com'] }, request: { host: 'a.b.example.com:80' }, expected: true },
    { desc: 'host: wildcard needs the dot', rule: { host: ['*.example.com'] }, request: { host: 'example.com' }, expected: false },
    { desc: 'host: other domain does not match', rule: { host: ['*.example.com'] }, request: { host: 'example.org' }, expected: false },
    { desc: 'host: ? wildcard with a port', rule: { host: ['api-?.example.com'] }, request: { host: 'api-2.example.com:8080' }, expected: true },
    { desc: 'host: bracketed IPv6 only matches *', rule: { host: ['*'] }, request: { host: '[::1]:8080' }, expected: true },
    // http-header: case-insensitive values with wildcards; each header AND-ed
    { desc: 'headers: value matches case-insensitively', rule: { headers: { 'X-Env': ['canary'] } }, request: { headers: { 'x-env': 'CANARY' } }, expected: true },
    { desc: 'headers: wildcard value', rule: { headers: { 'user-agent': ['*Mobile*'] } }, request: { headers: { 'user-agent': 'Foo mobile Bar' } }, expected: true },
    { desc: 'headers: missing header does not match', rule: { headers: { 'x-env': ['*'] } }, request: {}, expected: false },
    { desc: 'headers: values are OR-ed', rule: { headers: { 'x-env': ['a', 'b'] } }, request: { headers: { 'x-env': 'b' } }, expected: true },
    { desc: 'headers: every named header must match (AND)', rule: { headers: { 'x-a': ['1'], 'x-b': ['2'] } }, request: { headers: { 'x-a': '1', 'x-b': '3' } }, expected: false },
    { desc: 'headers: both named headers match', rule: { headers: { 'x-a': ['1'], 'x-b': ['2'] } }, request: { headers: { 'x-a': '1', 'x-b': '2' } }, expected: true },
    // query-string: key optional, value required, wildcards, case-insensitive, decoded, pairs OR-ed
    { desc: 'query: key and value match', rule: { query: [{ key: 'version', value: 'v2' }] }, request: { query: 'a=1&version=v2' }, expected: true },
    { desc: 'query: value under another key does not', rule: { query: [{ key: 'version', value: 'v2' }] }, request: { query: 'other=v2' }, expected: false },
    { desc: 'query: without key, any key with the value', rule: { query: [{ value: 'v2' }] }, request: { query: 'other=v2' }, expected: true },
    { desc: 'query: comparison is case-insensitive', rule: { query: [{ key: 'Version', value: 'V2' }] }, request: { query: 'version=v2' }, expected: true },
    { desc: 'query: wildcards in key and value', rule: { query: [{ key: 'utm_*', value: 'news?' }] }, request: { query: 'utm_source=news1' }, expected: true },
    { desc: 'query: percent-decoded before comparing', rule: { query: [{ key: 'q', value: 'a b/ü' }] }, request: { query: 'q=a%20b%2F%C3%BC' }, expected: true },
    { desc: 'query: + decodes to a space', rule: { query: [{ key: 'q', value: 'a b' }] }, request: { query: 'q=a+b' }, expected: true },
    { desc: 'query: escaped \\* matches only a literal star', rule: { query: [{ value: 'a\\*' }] }, request: { query: 'x=ab' }, expected: false },
    { desc: 'query: pairs are OR-ed', rule: { query: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] }, request: { query: 'b=2' }, expected: true },
    { desc: 'query: no query, no match', rule: { query: [{ value: '*' }] }, request: { query: '' }, expected: false },
    { desc: 'query: key without "=" has an empty value', rule: { query: [{ key: 'debug', value: '*' }] }, request: { query: 'debug' }, expected: true },
    // source-ip: IPv4 and IPv6 CIDRs, OR-ed
    { desc: 'sourceIp: IPv4 inside the block', rule: { sourceIp: ['10.0.0.0/8'] }, request: { clientIp: '10.1.2.3' }, expected: true },
    { desc: 'sourceIp: IPv4 outside the block', rule: { sourceIp: ['10.0.0.0/8'] }, request: { clientIp: '192.168.1.1' }, expected: false },
    { desc: 'sourceIp: IPv6 inside the block', rule: { sourceIp: ['2001:db8::/32'] }, request: { clientIp: '2001:db8::42' }, expected: true },
    { desc: 'sourceIp: IPv6 /128 from a plain address', rule: { sourceIp: ['10.0.0.0/8', '::1'] }, request: { clientIp: '::1' }, expected: true },
    { desc: 'sourceIp: IPv6 outside the block', rule: { sourceIp: ['2001:db8::/32'] }, request: { clientIp: '2001:db9::1' }, expected: false },
    // several condition types: AND
    { desc: 'AND: every condition holds', rule: { path: ['/api/*'], method: ['GET'], host: ['example.com'] }, request: { path: '/api/x', method: 'GET' }, expected: true },
    { desc: 'AND: one failing condition fails the rule', rule: { path: ['/api/*'], method: ['GET'], host: ['example.com'] }, request: { path: '/api/x', method: 'PUT' }, expected: false },
  ])('$desc', ({ rule, request: r, expected }) => {
    expect(matches(rule, r)).toBe(expected)
  })
})

describe('hostEnd', () => {
  it.each([
    { host: 'example.com', expected: 11 },
    { host: 'example.com:8080', expected: 11 },
    { host: '[::1]:8080', expected: 5 },
    { host: '[::1]', expected: 5 },
    { host: '::1', expected: 3 },
    { host: '', expected: 0 },
  ])('finds where the port of $host starts', ({ host, expected }) => {
    expect(hostEnd(host)).toBe(expected)
  })
})
