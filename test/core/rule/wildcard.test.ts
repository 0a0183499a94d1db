import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { compileWildcard } from '../../../core/rule/wildcard.ts'

const test = (pattern: string, value: string, ignoreCase = false, host = false): boolean => {
  const m = compileWildcard(pattern, { ignoreCase, host })
  return m.test(value, value.length)
}

describe('ALB wildcard patterns', () => {
  it.each([
    { desc: 'a literal matches only itself', pattern: '/api', value: '/api', expected: true },
    { desc: 'a literal does not match a longer value', pattern: '/api', value: '/api/x', expected: false },
    { desc: 'a literal does not match a shorter value', pattern: '/api', value: '/ap', expected: false },
    { desc: 'trailing * is a prefix test', pattern: '/api/*', value: '/api/v1/items', expected: true },
    { desc: 'trailing * matches the empty run', pattern: '/api/*', value: '/api/', expected: true },
    { desc: 'a prefix pattern needs the whole prefix', pattern: '/api/*', value: '/api', expected: false },
    { desc: 'leading * is a suffix test', pattern: '*.jpg', value: '/img/a.jpg', expected: true },
    { desc: 'a suffix pattern rejects another ending', pattern: '*.jpg', value: '/img/a.png', expected: false },
    { desc: 'a lone * matches anything', pattern: '*', value: '', expected: true },
    { desc: '? matches exactly one character', pattern: '/v?/x', value: '/v1/x', expected: true },
    { desc: '? does not match zero characters', pattern: '/v?/x', value: '/v/x', expected: false },
    { desc: '? does not match two characters', pattern: '/v?/x', value: '/v12/x', expected: false },
    { desc: '* in the middle spans slashes', pattern: '/a/*/z', value: '/a/b/c/z', expected: true },
    { desc: 'several wildcards combine', pattern: '/*/img/?.png', value: '/u/img/1.png', expected: true },
    { desc: 'paths are case-sensitive', pattern: '/API/*', value: '/api/x', expected: false },
    { desc: 'regex metacharacters are literal', pattern: '/a.b(c)+', value: '/a.b(c)+', expected: true },
    { desc: 'a literal dot is not "any character"', pattern: '/a.b', value: '/axb', expected: false },
    { desc: '\\* matches a literal star only', pattern: 'a\\*b', value: 'a*b', expected: true },
    { desc: '\\* does not act as a wildcard', pattern: 'a\\*b', value: 'axxb', expected: false },
    { desc: '\\? matches a literal question mark', pattern: 'why\\?', value: 'why?', expected: true },
  ])('$desc', ({ pattern, value, expected }) => {
    expect(test(pattern, value)).toBe(expected)
  })

  it.each([
    { desc: 'exact', pattern: 'Canary', value: 'cANARY' },
    { desc: 'prefix', pattern: 'Mozilla*', value: 'mozilla/5.0' },
    { desc: 'suffix', pattern: '*.EXAMPLE.com', value: 'www.example.COM' },
    { desc: 'regex', pattern: 'a?C*z', value: 'AbcXYZ' },
  ])('ignoreCase folds ASCII letters ($desc)', ({ pattern, value }) => {
    expect(test(pattern, value, true)).toBe(true)
    expect(test(pattern, value, false)).toBe(false)
  })

  it('compares only s[0, end) for literal, prefix and suffix forms', () => {
    const host = 'www.example.com:8080'
    const end = host.indexOf(':')
    expect(compileWildcard('www.example.com', { ignoreCase: true, host: true }).test(host, end)).toBe(true)
    expect(compileWildcard('*.example.com', { ignoreCase: true, host: true }).test(host, end)).toBe(true)
    expect(compileWildcard('www.*', { ignoreCase: true, host: true }).test(host, end)).toBe(true)
  })

  it.each([
    { desc: 'wildcards inside the name, with a port', pattern: 'w?w.*.com', value: 'www.example.com:8080', expected: true },
    { desc: 'a trailing digit in the pattern does not reach into the port', pattern: 'a*5', value: 'ab:5', expected: false },
    { desc: 'without a port', pattern: 'w?w.*.com', value: 'www.example.com', expected: true },
  ])('host mode regex ignores a :port ($desc)', ({ pattern, value, expected }) => {
    const end = value.includes(':') ? value.indexOf(':') : value.length
    expect(compileWildcard(pattern, { ignoreCase: true, host: true }).test(value, end)).toBe(expected)
  })

  it('agrees with a naive regex translation on random patterns (property)', () => {
    const reference = (p: string): RegExp =>
      new RegExp('^' + [...p].map((c) => c === '*' ? '.*' : c === '?' ? '.' : c).join('') + '$', 's')
    fc.assert(fc.property(
      fc.stringMatching(/^[ab*?]{0,8}$/),
      fc.stringMatching(/^[ab]{0,10}$/),
      (pattern, value) => test(pattern, value) === reference(pattern).test(value),
    ), { numRuns: 2000 })
  })
})
