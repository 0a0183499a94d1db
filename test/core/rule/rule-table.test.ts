// The rule table: priority order, first match wins, default last; and the actions it hands the forwarder.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { RequestCtx } from '../../../core/pipeline.ts'
import { RuleTable, type ForwardAction, type FixedResponseAction, type RedirectAction } from '../../../core/rule/rule-table.ts'
import { validateConfig } from '../../../schemas/validate.ts'
import type { ListenerConfig } from '../../../schemas/sidecar.schema.ts'

function request (path: string, method = 'GET'): RequestCtx {
  return {
    method, path, query: '', host: 'example.com', clientIp: '10.0.0.1', clientPort: 1, protocol: 'http', listenerPort: 80,
    header: () => undefined,
  }
}

const groups = ['a', 'b', 'c', 'd'].map((name) => ({ name }))
/** The core's weighted choice reads nothing of the request. */
const ANY = {} as never

function listener (rules: unknown[], defaultAction: unknown = { type: 'fixed-response', statusCode: 404, body: 'nope' }): ListenerConfig {
  return validateConfig({ listeners: [{ name: 'web', port: 0, rules, defaultAction }], targetGroups: groups }).listeners[0]!
}

const fixed = (statusCode: number) => ({ type: 'fixed-response', statusCode })

describe('rule table', () => {
  afterEach(() => { vi.restoreAllMocks() })

  it('evaluates rules lowest priority first, whatever their order in the config', () => {
    const table = new RuleTable(listener([
      { name: 'broad', priority: 20, conditions: { path: ['/*'] }, action: fixed(200) },
      { name: 'narrow', priority: 10, conditions: { path: ['/api/*'] }, action: fixed(201) },
    ]))
    expect(table.rules.map((r) => r.name)).toEqual(['narrow', 'broad'])
    expect(table.match(request('/api/x')).name).toBe('narrow')
    expect(table.match(request('/other')).name).toBe('broad')
  })

  it('returns the first matching rule even when a later one also matches', () => {
    const table = new RuleTable(listener([
      { priority: 1, conditions: { method: ['GET'] }, action: fixed(200) },
      { priority: 2, conditions: { path: ['/x'] }, action: fixed(201) },
    ]))
    expect(table.match(request('/x')).priority).toBe(1)
  })

  it('falls back to the default rule (priority Infinity, name "default") when nothing matches', () => {
    const table = new RuleTable(listener([{ priority: 1, conditions: { path: ['/x'] }, action: fixed(200) }]))
    const rule = table.match(request('/y'))
    expect(rule).toBe(table.defaultRule)
    expect(rule).toMatchObject({ name: 'default', priority: Infinity })
  })

  it('matches the default rule when there are no rules', () => {
    expect(new RuleTable(listener([])).match(request('/')).name).toBe('default')
  })

  it('names an unnamed rule priority-<n>', () => {
    const table = new RuleTable(listener([{ priority: 7, conditions: { path: ['/x'] }, action: fixed(200) }]))
    expect(table.match(request('/x')).name).toBe('priority-7')
  })

  it('gives a fixed response its status, content type and body as a Buffer', () => {
    const table = new RuleTable(listener([], { type: 'fixed-response', statusCode: 503, contentType: 'application/json', body: '{"é":1}' }))
    const action = table.match(request('/')).action as FixedResponseAction
    expect(action).toMatchObject({ type: 'fixed-response', statusCode: 503, contentType: 'application/json' })
    expect(action.body).toEqual(Buffer.from('{"é":1}'))
  })

  it('defaults a fixed response to text/plain with an empty body', () => {
    const action = new RuleTable(listener([], fixed(200))).match(request('/')).action as FixedResponseAction
    expect(action.contentType).toBe('text/plain')
    expect(action.body.length).toBe(0)
  })

  it('gives a redirect its status and a location() for the request', () => {
    const table = new RuleTable(listener([], { type: 'redirect', protocol: 'HTTPS', port: 443, statusCode: 308 }))
    const action = table.match(request('/p')).action as RedirectAction
    expect(action.statusCode).toBe(308)
    expect(action.location(request('/p'))).toBe('https://example.com/p')
  })

  it('keeps each rule\'s matching state separate between requests (a query parsed for one is not reused)', () => {
    const table = new RuleTable(listener([{ priority: 1, conditions: { query: [{ key: 'v', value: '2' }] }, action: fixed(200) }]))
    expect(table.match({ ...request('/'), query: 'v=2' }).priority).toBe(1)
    expect(table.match({ ...request('/'), query: 'v=3' }).name).toBe('default')
  })
})

describe('forward action', () => {
  afterEach(() => { vi.restoreAllMocks() })
  const forward = (targetGroups: Array<{ name: string, weight?: number }>): ForwardAction =>
    new RuleTable(listener([], { type: 'forward', targetGroups })).defaultRule.action as ForwardAction

  it('reports every named group and its weight, in config order', () => {
    const f = forward([{ name: 'a', weight: 2 }, { name: 'b', weight: 0 }, { name: 'c' }])
    expect(f.groups).toEqual(['a', 'b', 'c'])
    expect(f.weights).toEqual([2, 0, 1])
  })

  it('picks a single group without calling Math.random', () => {
    const random = vi.spyOn(Math, 'random')
    expect(forward([{ name: 'a' }]).choice.choose(ANY)).toBe('a')
    expect(random).not.toHaveBeenCalled()
  })

  it('treats one group with weight > 0 among zero-weight groups as a single group', () => {
    const random = vi.spyOn(Math, 'random')
    expect(forward([{ name: 'a', weight: 0 }, { name: 'b', weight: 5 }]).choice.choose(ANY)).toBe('b')
    expect(random).not.toHaveBeenCalled()
  })

  it.each([
    { r: 0, expected: 'a' },
    { r: 0.2499, expected: 'a' },
    { r: 0.25, expected: 'c' },
    { r: 0.9999, expected: 'c' },
  ])('maps random() = $r to $expected for weights a:1, b:0, c:3', ({ r, expected }) => {
    vi.spyOn(Math, 'random').mockReturnValue(r)
    expect(forward([{ name: 'a', weight: 1 }, { name: 'b', weight: 0 }, { name: 'c', weight: 3 }]).choice.choose(ANY)).toBe(expected)
  })

  it('splits 10,000 picks 1:3 within 6 standard deviations', () => {
    // Binomial share of "b": p = 0.75, n = 10,000 → σ = sqrt(p(1 − p)/n) ≈ 0.00433. The bound ±0.026 is 6σ,
    // so a correct picker fails this about twice in a billion runs; a wrong split (e.g. 2:3 → 0.6) never passes.
    const f = forward([{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }])
    let b = 0
    for (let i = 0; i < 10_000; i++) if (f.choice.choose(ANY) === 'b') b++
    expect(Math.abs(b / 10_000 - 0.75)).toBeLessThan(0.026)
  })

  it('never picks a zero-weight group', () => {
    const f = forward([{ name: 'a', weight: 0 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }])
    for (let i = 0; i < 2_000; i++) expect(f.choice.choose(ANY)).not.toBe('a')
  })
})
