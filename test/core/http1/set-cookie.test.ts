// Set-Cookie: what we send is RFC 6265 §4.1-clean, what we read follows the user agent's §5.2 rules.
import { describe, expect, it } from 'vitest'
import { parseSetCookie, serializeCookie } from '../../../core/http1/set-cookie.ts'
import type { CookieAttributes } from '../../../core/http1/set-cookie.ts'

describe('serializeCookie', () => {
  it('writes the pair and attributes in the order of the example', () => {
    expect(serializeCookie('PILOTFISH', 'abc', { path: '/', maxAge: 60, httpOnly: true, sameSite: 'Lax' }))
      .toBe('PILOTFISH=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax')
  })

  it('writes every attribute, Expires as the IMF-fixdate of Date.toUTCString', () => {
    const expires = new Date(Date.UTC(2021, 5, 9, 10, 18, 14))
    expect(serializeCookie('SID', '31d4d96e407aad42', {
      maxAge: 0, expires, domain: 'example.com', path: '/app', secure: true, httpOnly: true, sameSite: 'None',
    })).toBe('SID=31d4d96e407aad42; Max-Age=0; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=None')
  })

  it.each([
    { desc: 'no attributes', attrs: undefined, expected: 'a=b' },
    { desc: 'an empty attribute object', attrs: {}, expected: 'a=b' },
    { desc: 'false flags', attrs: { secure: false, httpOnly: false }, expected: 'a=b' },
    { desc: 'a path with a space (a CHAR, not a CTL)', attrs: { path: '/a b' }, expected: 'a=b; Path=/a b' },
    { desc: 'SameSite=Strict', attrs: { sameSite: 'Strict' as const }, expected: 'a=b; SameSite=Strict' },
  ])('writes only what is given: $desc', ({ attrs, expected }) => {
    expect(serializeCookie('a', 'b', attrs)).toBe(expected)
  })

  it.each([
    { desc: 'an empty value', value: '' },
    { desc: 'a quoted value', value: '"abc"' },
    { desc: 'an empty quoted value', value: '""' },
    { desc: 'base64url', value: 'AZaz09-_' },
    { desc: 'every cookie-octet', value: '!#$%&\'()*+-./0123456789:<=>?@AZ[]^_`az{|}~' },
  ])('accepts $desc', ({ value }) => {
    expect(serializeCookie('n', value)).toBe(`n=${value}`)
  })

  it.each([
    { desc: 'an empty name', name: '', problem: /non-empty token/ },
    { desc: 'a space', name: 'a b', problem: /not a token: " " at 1/ },
    { desc: '"="', name: 'a=b', problem: /not a token: "=" at 1/ },
    { desc: '";"', name: 'a;', problem: /not a token: ";" at 1/ },
    { desc: 'a separator', name: '(a)', problem: /not a token: "\(" at 0/ },
    { desc: 'a CTL', name: 'a\nb', problem: /not a token/ },
    { desc: 'non-ASCII', name: 'café', problem: /not a token: "é" at 3/ },
  ])('refuses a name with $desc', ({ name, problem }) => {
    expect(() => serializeCookie(name, 'v')).toThrow(TypeError)
    expect(() => serializeCookie(name, 'v')).toThrow(problem)
  })

  it.each([
    { desc: 'a space', value: 'a b' },
    { desc: '";"', value: 'a;b' },
    { desc: '","', value: 'a,b' },
    { desc: 'a backslash', value: 'a\\b' },
    { desc: 'a lone double quote', value: '"' },
    { desc: 'an inner double quote', value: 'a"b' },
    { desc: 'one unmatched quote', value: '"abc' },
    { desc: 'a space inside quotes', value: '"a b"' },
    { desc: 'DEL', value: 'a\x7f' },
    { desc: 'CR LF', value: 'a\r\nSet-Cookie: x=y' },
    { desc: 'non-ASCII', value: 'é' },
  ])('refuses a value with $desc', ({ value }) => {
    expect(() => serializeCookie('n', value)).toThrow(/cookie n: the value has a character outside cookie-octet/)
  })

  it.each([
    { desc: 'a negative Max-Age', attrs: { maxAge: -1 }, problem: /maxAge must be an integer ≥ 0/ },
    { desc: 'a fractional Max-Age', attrs: { maxAge: 1.5 }, problem: /maxAge/ },
    { desc: 'a NaN Max-Age', attrs: { maxAge: NaN }, problem: /maxAge/ },
    { desc: 'a Max-Age String() writes with an exponent', attrs: { maxAge: 1e21 }, problem: /maxAge/ },
    { desc: 'an invalid Date', attrs: { expires: new Date('nope') }, problem: /expires must be a valid Date/ },
    { desc: 'a year before 1601', attrs: { expires: new Date(Date.UTC(1600, 11, 31)) }, problem: /expires/ },
    { desc: 'a year after 9999', attrs: { expires: new Date(Date.UTC(10000, 0, 1)) }, problem: /expires/ },
    { desc: 'a path with ";"', attrs: { path: '/a;Domain=evil' }, problem: /path must not hold ";"/ },
    { desc: 'a path with a CTL', attrs: { path: '/a\n' }, problem: /path must not hold/ },
    { desc: 'a domain with a CTL', attrs: { domain: 'a.com\r' }, problem: /domain must not hold/ },
    { desc: 'a non-ASCII domain', attrs: { domain: 'bücher.de' }, problem: /domain/ },
    { desc: 'an unknown SameSite', attrs: { sameSite: 'lax' } as unknown as CookieAttributes, problem: /sameSite must be Strict, Lax or None, not lax/ },
  ])('refuses $desc', ({ attrs, problem }) => {
    expect(() => serializeCookie('n', 'v', attrs)).toThrow(TypeError)
    expect(() => serializeCookie('n', 'v', attrs)).toThrow(problem)
  })

  it('writes what parseSetCookie reads back', () => {
    const expires = new Date(Date.UTC(2030, 0, 31, 23, 59, 58))
    const field = serializeCookie('PILOTFISH', 'AbC-_9', { maxAge: 86400, expires, path: '/', httpOnly: true, secure: true, sameSite: 'Lax' })
    expect(parseSetCookie(field)).toStrictEqual({ name: 'PILOTFISH', value: 'AbC-_9', maxAge: 86400, expires })
  })
})

describe('parseSetCookie', () => {
  it.each([
    // RFC 6265 §3.1's examples
    { field: 'SID=31d4d96e407aad42', expected: { name: 'SID', value: '31d4d96e407aad42' } },
    { field: 'SID=31d4d96e407aad42; Path=/; Domain=example.com', expected: { name: 'SID', value: '31d4d96e407aad42' } },
    { field: 'SID=31d4d96e407aad42; Path=/; Secure; HttpOnly', expected: { name: 'SID', value: '31d4d96e407aad42' } },
    { field: 'lang=en-US; Path=/; Domain=example.com', expected: { name: 'lang', value: 'en-US' } },
    { field: 'lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT', expected: { name: 'lang', value: 'en-US', expires: new Date(Date.UTC(2021, 5, 9, 10, 18, 14)) } },
    { field: 'lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT', expected: { name: 'lang', value: '', expires: new Date(Date.UTC(1994, 10, 6, 8, 49, 37)) } },
  ])('reads the RFC example $field', ({ field, expected }) => {
    expect(parseSetCookie(field)).toStrictEqual(expected)
  })

  it.each([
    { desc: 'trims spaces and tabs around the name and value', field: ' \tsid \t= \tabc \t; Path=/', name: 'sid', value: 'abc' },
    { desc: 'keeps "=" inside the value', field: 'token=a=b==', name: 'token', value: 'a=b==' },
    { desc: 'keeps double quotes', field: 'q="x y"; HttpOnly', name: 'q', value: '"x y"' },
    { desc: 'keeps an inner space', field: 'q=x y', name: 'q', value: 'x y' },
    { desc: 'reads an empty value', field: 'a=', name: 'a', value: '' },
    { desc: 'reads attribute-looking names as the pair', field: 'Max-Age=5', name: 'Max-Age', value: '5' },
  ])('$desc', ({ field, name, value }) => {
    expect(parseSetCookie(field)).toStrictEqual({ name, value })
  })

  it.each([
    { desc: 'an empty field', field: '' },
    { desc: 'no "="', field: 'sid' },
    { desc: 'an "=" only in the attributes', field: 'sid; Path=/' },
    { desc: 'an empty name', field: '=abc' },
    { desc: 'a name of whitespace only', field: ' \t=abc; Path=/' },
    { desc: 'a leading ";"', field: ';a=b' },
  ])('ignores a field with $desc (null)', ({ field }) => {
    expect(parseSetCookie(field)).toBeNull()
  })

  it.each([
    { maxAge: '60', expected: 60 },
    { maxAge: '0', expected: 0 },
    { maxAge: '007', expected: 7 },
    { maxAge: ' 60\t', expected: 60 },
    { maxAge: '-5', expected: 0 },
    { maxAge: '-0', expected: 0 },
    { maxAge: '34560000', expected: 34560000 },
    { maxAge: '34560001', expected: 34560000 },
    { maxAge: '99999999999999999999999999', expected: 34560000 },
  ])('reads Max-Age=$maxAge as $expected', ({ maxAge, expected }) => {
    const c = parseSetCookie(`a=b; Max-Age=${maxAge}`)
    expect(Object.is(c?.maxAge, expected)).toBe(true)
  })

  it.each(['', '-', '+5', '1.5', '5s', 'abc', '1e3', '- 5', '0x10', '٣'])('ignores Max-Age=%j', (maxAge) => {
    expect(parseSetCookie(`a=b; Max-Age=${maxAge}`)).toStrictEqual({ name: 'a', value: 'b' })
  })

  it('ignores Max-Age without "="', () => {
    expect(parseSetCookie('a=b; Max-Age')).toStrictEqual({ name: 'a', value: 'b' })
  })

  it('matches attribute names case-insensitively', () => {
    expect(parseSetCookie('a=b; MAX-AGE=5; eXpIrEs=Sun, 06 Nov 1994 08:49:37 GMT'))
      .toStrictEqual({ name: 'a', value: 'b', maxAge: 5, expires: new Date(Date.UTC(1994, 10, 6, 8, 49, 37)) })
  })

  it('does not take a name that differs only by a non-letter for an attribute', () => {
    expect(parseSetCookie('a=b; Max\rAge=5; Max_Age=6; MaxAge=7; Max-Ages=8')).toStrictEqual({ name: 'a', value: 'b' })
  })

  it('takes the last valid attribute of each name', () => {
    expect(parseSetCookie('a=b; Max-Age=5; Max-Age=7; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Expires=Wed, 09 Jun 2021 10:18:14 GMT'))
      .toStrictEqual({ name: 'a', value: 'b', maxAge: 7, expires: new Date(Date.UTC(2021, 5, 9, 10, 18, 14)) })
  })

  it('keeps an earlier valid attribute when a later one of the name is invalid', () => {
    expect(parseSetCookie('a=b; Max-Age=5; Max-Age=soon; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Expires=later'))
      .toStrictEqual({ name: 'a', value: 'b', maxAge: 5, expires: new Date(Date.UTC(1994, 10, 6, 8, 49, 37)) })
  })

  it('skips empty and unknown attributes', () => {
    expect(parseSetCookie('a=b;; ;Foo=bar; HttpOnly;Max-Age=9;')).toStrictEqual({ name: 'a', value: 'b', maxAge: 9 })
  })

  it.each([
    { desc: 'IMF-fixdate', date: 'Sun, 06 Nov 1994 08:49:37 GMT', expected: Date.UTC(1994, 10, 6, 8, 49, 37) },
    { desc: 'RFC 850', date: 'Sunday, 06-Nov-94 08:49:37 GMT', expected: Date.UTC(1994, 10, 6, 8, 49, 37) },
    { desc: 'asctime', date: 'Sun Nov  6 08:49:37 1994', expected: Date.UTC(1994, 10, 6, 8, 49, 37) },
    { desc: 'a full month name, lower case', date: '6 november 1994 08:49:37', expected: Date.UTC(1994, 10, 6, 8, 49, 37) },
    { desc: 'one-digit time fields', date: '6 Nov 1994 8:9:7 GMT', expected: Date.UTC(1994, 10, 6, 8, 9, 7) },
    { desc: 'a time zone, ignored (always UTC)', date: 'Wed, 09 Jun 2021 10:18:14 +0100', expected: Date.UTC(2021, 5, 9, 10, 18, 14) },
    { desc: 'no weekday', date: '09-Jun-2021 10:18:14', expected: Date.UTC(2021, 5, 9, 10, 18, 14) },
    { desc: 'year 69 as 2069', date: '01 Jan 69 00:00:00 GMT', expected: Date.UTC(2069, 0, 1) },
    { desc: 'year 70 as 1970', date: '01 Jan 70 00:00:00 GMT', expected: Date.UTC(1970, 0, 1) },
    { desc: 'the earliest year, 1601', date: '01 Jan 1601 00:00:00 GMT', expected: Date.UTC(1601, 0, 1) },
    { desc: 'a leap day', date: '29 Feb 2024 12:00:00 GMT', expected: Date.UTC(2024, 1, 29, 12) },
    { desc: 'trailing non-digits on tokens', date: '06th Nov 1994AD 08:49:37Z', expected: Date.UTC(1994, 10, 6, 8, 49, 37) },
  ])('reads an Expires date: $desc', ({ date, expected }) => {
    expect(parseSetCookie(`a=b; Expires=${date}`)?.expires?.getTime()).toBe(expected)
  })

  it.each([
    { desc: 'not a date', date: 'tomorrow' },
    { desc: 'empty', date: '' },
    { desc: 'no time', date: 'Sun, 06 Nov 1994 GMT' },
    { desc: 'no year', date: 'Sun, 06 Nov 08:49:37 GMT' },
    { desc: 'no month', date: 'Sun, 06 1994 08:49:37 GMT' },
    { desc: 'day 0', date: 'Sun, 00 Nov 1994 08:49:37 GMT' },
    { desc: 'day 32', date: 'Sun, 32 Nov 1994 08:49:37 GMT' },
    { desc: '30 February', date: '30 Feb 2023 08:49:37 GMT' },
    { desc: '29 February of a common year', date: '29 Feb 2023 08:49:37 GMT' },
    { desc: 'a year before 1601', date: '01 Jan 1600 00:00:00 GMT' },
    { desc: 'hour 24', date: '06 Nov 1994 24:00:00 GMT' },
    { desc: 'minute 60', date: '06 Nov 1994 08:60:00 GMT' },
    { desc: 'second 60', date: '06 Nov 1994 08:49:60 GMT' },
    { desc: 'a three-digit time field', date: '06 Nov 1994 008:49:37 GMT' },
    { desc: 'a five-digit year', date: '06 Nov 19940 08:49:37 GMT' },
  ])('ignores an Expires date with $desc', ({ date }) => {
    expect(parseSetCookie(`a=b; Expires=${date}`)).toStrictEqual({ name: 'a', value: 'b' })
  })
})
