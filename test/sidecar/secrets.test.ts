// Finding a config's secrets by its schema's writeOnly marks, and keeping them out of free text.
import { describe, expect, it } from 'vitest'
import { mapSecrets, REDACTED, Scrubber, secretStrings } from '../../sidecar/secrets.ts'

const redact = (schema: object, value: unknown): unknown => mapSecrets(schema, value, () => REDACTED)

describe('writeOnly values', () => {
  it.each([
    { desc: 'a property', schema: { properties: { k: { writeOnly: true }, v: {} } }, value: { k: 's', v: 'x' }, expected: { k: REDACTED, v: 'x' } },
    { desc: 'a nested property', schema: { properties: { o: { properties: { k: { writeOnly: true } } } } }, value: { o: { k: 's', v: 1 } }, expected: { o: { k: REDACTED, v: 1 } } },
    { desc: 'a whole object', schema: { properties: { o: { type: 'object', writeOnly: true } } }, value: { o: { a: 1, b: [2] } }, expected: { o: REDACTED } },
    { desc: 'every item of a list', schema: { properties: { l: { items: { writeOnly: true } } } }, value: { l: ['a', 'b'] }, expected: { l: [REDACTED, REDACTED] } },
    { desc: 'a field in list items', schema: { properties: { l: { items: { properties: { pw: { writeOnly: true } } } } } }, value: { l: [{ pw: 'a', u: 'x' }] }, expected: { l: [{ pw: REDACTED, u: 'x' }] } },
    { desc: 'a prefixItems position', schema: { prefixItems: [{}, { writeOnly: true }] }, value: ['a', 'b', 'c'], expected: ['a', REDACTED, 'c'] },
    { desc: 'additionalProperties', schema: { properties: { name: {} }, additionalProperties: { writeOnly: true } }, value: { name: 'n', x: 'a' }, expected: { name: 'n', x: REDACTED } },
    { desc: 'patternProperties', schema: { patternProperties: { '^key-': { writeOnly: true } } }, value: { 'key-a': 's', other: 'o' }, expected: { 'key-a': REDACTED, other: 'o' } },
    { desc: 'a local $ref', schema: { $defs: { secret: { type: 'string', writeOnly: true } }, properties: { k: { $ref: '#/$defs/secret' } } }, value: { k: 's' }, expected: { k: REDACTED } },
    { desc: 'any branch of oneOf', schema: { oneOf: [{ properties: { k: { writeOnly: true } } }, { properties: { j: {} } }] }, value: { k: 's', j: 'x' }, expected: { k: REDACTED, j: 'x' } },
    { desc: 'an allOf branch', schema: { allOf: [{ properties: { a: {} } }, { properties: { k: { writeOnly: true } } }] }, value: { a: 1, k: 2 }, expected: { a: 1, k: REDACTED } },
    { desc: 'nothing when nothing is marked', schema: { properties: { k: { type: 'string' } } }, value: { k: 's' }, expected: { k: 's' } },
  ])('finds $desc', ({ schema, value, expected }) => {
    const before = structuredClone(value)
    expect(redact(schema, value)).toEqual(expected)
    expect(value).toEqual(before) // a copy: the running config is untouched
  })

  it('treats a whole config as secret when its schema is unknown', () => {
    expect(secretStrings(undefined, { a: 'x', b: [1, { c: 'y' }], d: true })).toEqual(['x', '1', 'y'])
  })

  it('does not loop on a recursive $ref', () => {
    const schema = { $defs: { node: { properties: { pw: { writeOnly: true }, child: { $ref: '#/$defs/node' } } } }, $ref: '#/$defs/node' }
    expect(redact(schema, { pw: 'a', child: { pw: 'b', child: {} } })).toEqual({ pw: REDACTED, child: { pw: REDACTED, child: {} } })
  })
})

describe('scrubbing text', () => {
  it('replaces every occurrence of each secret, longest first', () => {
    const s = new Scrubber(['hunter22', 'hunter22-extended'])
    expect(s.text('key hunter22-extended, then hunter22.')).toBe(`key ${REDACTED}, then ${REDACTED}.`)
  })

  it('replaces a short secret only where it stands as a word, so messages stay readable', () => {
    const s = new Scrubber(['ab1'])
    expect(s.text('value ab1 in /tab1/x and "ab1"')).toBe(`value ${REDACTED} in /tab1/x and "${REDACTED}"`)
  })

  it('treats regular expression characters in a secret literally', () => {
    expect(new Scrubber(['a.b*c(d)']).text('x a.b*c(d) y aXbbc')).toBe(`x ${REDACTED} y aXbbc`)
  })

  it('scrubs an error\'s message and problems in place', () => {
    const err = Object.assign(new Error('bad s3cret-value'), { problems: [{ path: '/k', message: 'is s3cret-value' }] })
    new Scrubber(['s3cret-value']).error(err)
    expect([err.message, err.problems[0]!.message]).toEqual([`bad ${REDACTED}`, `is ${REDACTED}`])
  })
})
