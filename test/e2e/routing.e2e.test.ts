import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { raw, startBackend, startPilotfish, statuses, type Backend, type Running } from './harness.ts'

/** Through a running sidecar: each condition and action routes real requests (the matrix is in test/core/rule). */
describe('rules and actions on a running listener', () => {
  let api: Backend
  let web: Backend
  let canary: Backend
  let pf: Running
  beforeAll(async () => {
    api = await startBackend('api')
    web = await startBackend('web')
    canary = await startBackend('canary')
    pf = await startPilotfish({
      listeners: [{
        name: 'edge',
        host: '127.0.0.1',
        port: 0,
        rules: [
          { priority: 1, name: 'redirect-old', conditions: { path: ['/old/*'] }, action: { type: 'redirect', statusCode: 308, path: '/new/#{path}', protocol: 'HTTPS' } },
          { priority: 2, name: 'teapot', conditions: { method: ['BREW'] }, action: { type: 'fixed-response', statusCode: 418, contentType: 'application/json', body: '{"tea":true}' } },
          { priority: 3, name: 'canary', conditions: { headers: { 'x-canary': ['yes'] } }, action: { type: 'forward', targetGroups: [{ name: 'canary' }] } },
          { priority: 4, name: 'internal', conditions: { path: ['/internal/*'], sourceIp: ['10.0.0.0/8'] }, action: { type: 'fixed-response', statusCode: 200, body: 'internal' } },
          { priority: 5, name: 'api-host', conditions: { host: ['api.*'] }, action: { type: 'forward', targetGroups: [{ name: 'api' }] } },
          { priority: 6, name: 'v2', conditions: { query: [{ key: 'version', value: 'v2' }] }, action: { type: 'forward', targetGroups: [{ name: 'api' }] } },
          { priority: 7, name: 'local', conditions: { pathRegex: ['^/local/[0-9]+$'], sourceIp: ['127.0.0.0/8', '::1/128'] }, action: { type: 'fixed-response', statusCode: 200, body: 'local' } },
          { priority: 8, name: 'split', conditions: { path: ['/split'] }, action: { type: 'forward', targetGroups: [{ name: 'api', weight: 1 }, { name: 'web', weight: 3 }] } },
        ],
        defaultAction: { type: 'forward', targetGroups: [{ name: 'web' }] },
      }],
      targetGroups: [
        { name: 'api', targets: [{ host: '127.0.0.1', port: api.port }] },
        { name: 'web', targets: [{ host: '127.0.0.1', port: web.port }] },
        { name: 'canary', targets: [{ host: '127.0.0.1', port: canary.port }] },
      ],
    })
  })
  afterAll(async () => { await pf.stop(); await api.close(); await web.close(); await canary.close() })

  const name = async (path: string, headers: Record<string, string> = {}): Promise<string> =>
    ((await (await fetch(`http://127.0.0.1:${pf.port}${path}`, { headers })).json()) as { name: string }).name

  it('falls through to the default action', async () => {
    expect(await name('/anything')).toBe('web')
  })

  it('redirects with the ALB template, keeping what the action does not set', async () => {
    const text = await raw(pf.port, 'GET /old/page?a=1 HTTP/1.1\r\nHost: shop.test:8080\r\n\r\n')
    expect(statuses(text)).toEqual([308])
    expect(text).toMatch(/location: https:\/\/shop\.test:\d+\/new\/old\/page\?a=1\r\n/i)
  })

  it('answers a fixed response with its content type and body', async () => {
    const text = await raw(pf.port, 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(statuses(text)).toEqual([418])
    expect(text).toMatch(/content-type: application\/json/i)
    expect(text.endsWith('{"tea":true}')).toBe(true)
  })

  it('routes on a header value', async () => {
    expect(await name('/', { 'x-canary': 'yes' })).toBe('canary')
    expect(await name('/', { 'x-canary': 'no' })).toBe('web')
  })

  it('routes on a wildcard host', async () => {
    // fetch will not set Host, so the request goes raw
    const text = await raw(pf.port, 'GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n')
    expect(text).toContain('"name":"api"')
  })

  it('routes on a query key and value', async () => {
    expect(await name('/items?version=v2')).toBe('api')
    expect(await name('/items?version=v3')).toBe('web')
  })

  it('ANDs conditions: a path match from outside the source CIDR does not match', async () => {
    expect(await name('/internal/x')).toBe('web')
  })

  it('matches a path regex from a loopback source', async () => {
    expect(await (await fetch(`http://127.0.0.1:${pf.port}/local/42`)).text()).toBe('local')
    expect(await name('/local/abc')).toBe('web')
  })

  it('splits a weighted forward across target groups', async () => {
    const counts = { api: 0, web: 0 }
    for (let i = 0; i < 400; i++) counts[(await name('/split')) as 'api' | 'web']++
    // 400 picks at p = 0.25: σ ≈ 8.7, so 100 ± 52 is a 6σ bound.
    expect(counts.api).toBeGreaterThan(48)
    expect(counts.api).toBeLessThan(152)
    expect(counts.api + counts.web).toBe(400)
  })
})
