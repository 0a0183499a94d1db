// ALB redirect templates [S2]: defaults keep each URI component; #{…} keywords reuse the request's.
import { describe, expect, it } from 'vitest'
import type { RequestCtx } from '../../../core/pipeline.ts'
import { RedirectTemplate } from '../../../core/rule/redirect.ts'
import { validateConfig } from '../../../schemas/validate.ts'
import type { RedirectActionConfig } from '../../../schemas/sidecar.schema.ts'

function request (r: Partial<RequestCtx>): RequestCtx {
  return {
    method: 'GET', path: '/docs/intro', query: 'a=1', host: 'example.com:8080', clientIp: '127.0.0.1', clientPort: 1,
    protocol: 'http', listenerPort: 8080, header: () => undefined, ...r,
  }
}

/** The redirect config with the schema's defaults filled in, as validateConfig would give it. */
function redirect (fields: Partial<RedirectActionConfig>): RedirectActionConfig {
  const config = validateConfig({
    listeners: [{ name: 'web', port: 0, defaultAction: { type: 'redirect', ...fields } }],
  })
  return config.listeners[0]!.defaultAction as RedirectActionConfig
}

const location = (fields: Partial<RedirectActionConfig>, r: Partial<RequestCtx> = {}): string =>
  new RedirectTemplate(redirect(fields)).location(request(r))

describe('redirect templates', () => {
  it('fills ALB defaults: status 301, #{protocol}, #{host}, #{port}, /#{path}, #{query}', () => {
    expect(redirect({ host: 'other.example' })).toMatchObject({
      statusCode: 301, protocol: '#{protocol}', host: 'other.example', port: '#{port}', path: '/#{path}', query: '#{query}',
    })
  })

  it.each<{ desc: string, fields: Partial<RedirectActionConfig>, request?: Partial<RequestCtx>, expected: string }>([
    { desc: 'only the host changes: protocol, listener port, path and query are kept', fields: { host: 'new.example' }, expected: 'http://new.example:8080/docs/intro?a=1' },
    { desc: '#{host} is the Host without its port', fields: { path: '/moved/#{path}' }, expected: 'http://example.com:8080/moved/docs/intro?a=1' },
    { desc: '#{port} is the listener port, not the Host port', fields: { host: 'x.example' }, request: { host: 'example.com:9999' }, expected: 'http://x.example:8080/docs/intro?a=1' },
    { desc: 'HTTPS with port 443 drops the default port', fields: { protocol: 'HTTPS', port: 443 }, expected: 'https://example.com/docs/intro?a=1' },
    { desc: 'protocol is case-insensitive and written lower-case', fields: { protocol: 'hTTpS', port: '443' }, expected: 'https://example.com/docs/intro?a=1' },
    { desc: 'HTTPS keeping a non-default listener port keeps it', fields: { protocol: 'HTTPS' }, expected: 'https://example.com:8080/docs/intro?a=1' },
    { desc: 'HTTP on port 80 drops the port', fields: { host: 'x.example' }, request: { listenerPort: 80 }, expected: 'http://x.example/docs/intro?a=1' },
    { desc: 'HTTPS to port 80 keeps it (not https\'s default)', fields: { protocol: 'HTTPS' }, request: { listenerPort: 80 }, expected: 'https://example.com:80/docs/intro?a=1' },
    { desc: '#{path} has no leading slash', fields: { path: '/v2/#{path}' }, request: { path: '/a/b' }, expected: 'http://example.com:8080/v2/a/b?a=1' },
    { desc: 'a fixed path replaces the request path', fields: { path: '/home' }, expected: 'http://example.com:8080/home?a=1' },
    { desc: '#{query} has no "?" and can be extended', fields: { host: 'x.example', query: 'src=old&#{query}' }, expected: 'http://x.example:8080/docs/intro?src=old&a=1' },
    { desc: 'an empty query leaves out the "?"', fields: { host: 'x.example' }, request: { query: '' }, expected: 'http://x.example:8080/docs/intro' },
    { desc: 'an explicit empty query drops the request query', fields: { host: 'x.example', query: '' }, expected: 'http://x.example:8080/docs/intro' },
    { desc: 'keywords may appear in any component', fields: { host: '#{protocol}.example', path: '/#{host}/#{port}/#{path}' }, expected: 'http://http.example:8080/example.com/8080/docs/intro?a=1' },
    { desc: 'a bracketed IPv6 Host keeps its brackets', fields: { path: '/x' }, request: { host: '[::1]:8080' }, expected: 'http://[::1]:8080/x?a=1' },
    { desc: 'unknown #{…} text is kept literally', fields: { path: '/#{nope}' }, expected: 'http://example.com:8080/#{nope}?a=1' },
  ])('$desc', ({ fields, request: r, expected }) => {
    expect(location(fields, r)).toBe(expected)
  })
})
