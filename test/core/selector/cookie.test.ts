// readCookie: one cookie's value from a Cookie header, parsed leniently as RFC 6265 §5.2 does.
import { describe, expect, it } from 'vitest'
import { readCookie } from '../../../core/selector/cookie.ts'

describe('readCookie', () => {
  it.each([
    { desc: 'reads the only cookie', header: 'session=abc', name: 'session', expected: 'abc' },
    { desc: 'reads a cookie among others', header: 'a=1; session=abc; b=2', name: 'session', expected: 'abc' },
    { desc: 'reads the last cookie', header: 'a=1; session=abc', name: 'session', expected: 'abc' },
    { desc: 'returns the first of repeated names (§5.4: most specific first)', header: 's=1; s=2', name: 's', expected: '1' },
    { desc: 'trims spaces and tabs around names and values', header: 'a=1;\t s \t=  v w \t; b=2', name: 's', expected: 'v w' },
    { desc: 'tolerates no space after the separator', header: 'a=1;s=2', name: 's', expected: '2' },
    { desc: 'does not match a name that only starts with the wanted one', header: 'sess=1; session=2', name: 'sess', expected: '1' },
    { desc: 'does not match a longer name ending like the wanted one', header: 'xsession=1', name: 'session', expected: undefined },
    { desc: 'keeps "=" inside the value', header: 'token=a=b==', name: 'token', expected: 'a=b==' },
    { desc: 'keeps double quotes as part of the value', header: 'q="x y"', name: 'q', expected: '"x y"' },
    { desc: 'returns an empty value as ""', header: 'a=; b=2', name: 'a', expected: '' },
    { desc: 'skips a pair without "="', header: 'session; session=ok', name: 'session', expected: 'ok' },
    { desc: 'does not take a value from the next pair', header: 'session; other=1', name: 'session', expected: undefined },
    { desc: 'compares names case-sensitively', header: 'Session=1', name: 'session', expected: undefined },
    { desc: 'ignores a trailing separator', header: 'a=1;', name: 'a', expected: '1' },
    { desc: 'returns undefined when the cookie is absent', header: 'a=1; b=2', name: 'c', expected: undefined },
    { desc: 'returns undefined for an empty header', header: '', name: 'a', expected: undefined },
    { desc: 'returns undefined when there is no header', header: undefined, name: 'a', expected: undefined },
  ])('$desc', ({ header, name, expected }) => {
    expect(readCookie(header, name)).toBe(expected)
  })
})
