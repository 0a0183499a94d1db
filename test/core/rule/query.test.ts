import { describe, expect, it } from 'vitest'
import { QueryPairs } from '../../../core/rule/query.ts'

const parse = (q: string): Array<[string, string]> => {
  const pairs = new QueryPairs()
  pairs.parse(q)
  return Array.from({ length: pairs.count }, (_, i) => [pairs.keys[i]!, pairs.values[i]!])
}

describe('query pairs', () => {
  it.each<{ desc: string, query: string, expected: Array<[string, string]> }>([
    { desc: 'splits pairs on & and =', query: 'a=1&b=2', expected: [['a', '1'], ['b', '2']] },
    { desc: 'a key without = has an empty value', query: 'flag&x=1', expected: [['flag', ''], ['x', '1']] },
    { desc: 'empty pieces are skipped', query: '&&a=1&', expected: [['a', '1']] },
    { desc: 'only the first = splits', query: 'a=b=c', expected: [['a', 'b=c']] },
    { desc: 'percent escapes decode as UTF-8', query: 'k%C3%A9y=caf%C3%A9', expected: [['kéy', 'café']] },
    { desc: '+ decodes to a space', query: 'q=a+b', expected: [['q', 'a b']] },
    { desc: 'a malformed escape stays literal', query: 'q=100%zz%', expected: [['q', '100%zz%']] },
    { desc: 'invalid UTF-8 becomes U+FFFD, never an exception', query: 'q=%FF', expected: [['q', '\uFFFD']] },
    { desc: 'an empty query has no pairs', query: '', expected: [] },
  ])('$desc', ({ query, expected }) => {
    expect(parse(query)).toEqual(expected)
  })

  it('reuses its arrays: a shorter query after a longer one reports only its own pairs', () => {
    const pairs = new QueryPairs()
    pairs.parse('a=1&b=2&c=3')
    pairs.parse('d=4')
    expect(pairs.count).toBe(1)
    expect([pairs.keys[0], pairs.values[0]]).toEqual(['d', '4'])
  })
})
