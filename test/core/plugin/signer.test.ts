// Signer: HMAC-SHA-256 MACs under rotating keys; only a MAC made with one of the keys, as mac() writes it, verifies.
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { serializeCookie } from '../../../core/http1/set-cookie.ts'
import { Signer } from '../../../core/plugin/signer.ts'

// RFC 4231 §4.3, test case 2
const JEFE = 'Jefe'
const JEFE_DATA = 'what do ya want for nothing?'
const JEFE_MAC = Buffer.from('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', 'hex')

const OLD = 'an old key of at least thirty-two bytes, retiring'
const NEW = 'a new key of at least thirty-two bytes, signing now'
const DATA = 'web|3f9a2c71e0b4d5a8|1767225600|some session-ish payload'

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** `mac` with the character at `i` replaced by another base64url character. */
function withCharChanged (mac: string, i: number): string {
  const next = BASE64URL[(BASE64URL.indexOf(mac[i]!) + 32) % 64]!
  return mac.slice(0, i) + next + mac.slice(i + 1)
}

describe('Signer', () => {
  it('computes HMAC-SHA-256 (RFC 4231 test case 2), base64url without padding', () => {
    const signer = new Signer([JEFE])
    expect(signer.mac(JEFE_DATA, 0, 32)).toBe(JEFE_MAC.toString('base64url'))
    expect(signer.mac(JEFE_DATA, 0, 32)).toBe('W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM')
    expect(signer.mac(JEFE_DATA)).toBe(JEFE_MAC.subarray(0, 16).toString('base64url'))
  })

  it('takes a string key as its UTF-8 bytes', () => {
    expect(new Signer(['clé-ünïcode']).mac(DATA)).toBe(new Signer([Buffer.from('clé-ünïcode', 'utf8')]).mac(DATA))
    expect(new Signer([new Uint8Array(Buffer.from(JEFE))]).mac(JEFE_DATA, 0, 32)).toBe(JEFE_MAC.toString('base64url'))
  })

  it('keeps its own copy of a key given as bytes', () => {
    const key = Buffer.from(NEW)
    const signer = new Signer([key])
    const before = signer.mac(DATA)
    key.fill(0)
    expect(signer.mac(DATA)).toBe(before)
  })

  it.each([
    { bytes: 1, length: 2 },
    { bytes: 2, length: 3 },
    { bytes: 3, length: 4 },
    { bytes: 16, length: 22 },
    { bytes: 32, length: 43 },
  ])('writes $bytes bytes as $length base64url characters, a valid cookie value', ({ bytes, length }) => {
    const mac = new Signer([NEW]).mac(DATA, 0, bytes)
    expect(mac).toHaveLength(length)
    expect(mac).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(serializeCookie('PILOTFISH', mac)).toBe(`PILOTFISH=${mac}`)
  })

  it('truncates the full MAC: fewer bytes are a prefix of it', () => {
    const signer = new Signer([NEW])
    expect(signer.mac(DATA, 0, 32).startsWith(signer.mac(DATA, 0, 12))).toBe(true)
    expect(signer.verify(DATA, signer.mac(DATA, 0, 12), 12)).toBe(0)
  })

  it('counts its keys and signs with the one asked for', () => {
    const signer = new Signer([NEW, OLD])
    expect(signer.size).toBe(2)
    expect(signer.mac(DATA)).toBe(new Signer([NEW]).mac(DATA))
    expect(signer.mac(DATA, 1)).toBe(new Signer([OLD]).mac(DATA))
    expect(signer.mac(DATA, 1)).not.toBe(signer.mac(DATA, 0))
  })

  it.each([
    { desc: 'no keys', keys: [] },
    { desc: 'an empty key', keys: [NEW, ''] },
    { desc: 'an empty byte key', keys: [new Uint8Array(0)] },
    { desc: 'a key of another type', keys: [42] as unknown as string[] },
  ])('refuses $desc', ({ keys }) => {
    expect(() => new Signer(keys)).toThrow(TypeError)
  })

  it.each([
    { desc: 'a key index past the end', call: (s: Signer) => s.mac(DATA, 2) },
    { desc: 'a negative key index', call: (s: Signer) => s.mac(DATA, -1) },
    { desc: 'a fractional key index', call: (s: Signer) => s.mac(DATA, 0.5) },
    { desc: 'zero bytes', call: (s: Signer) => s.mac(DATA, 0, 0) },
    { desc: '33 bytes', call: (s: Signer) => s.mac(DATA, 0, 33) },
    { desc: 'fractional bytes', call: (s: Signer) => s.mac(DATA, 0, 1.5) },
    { desc: 'verify with 33 bytes', call: (s: Signer) => s.verify(DATA, 'x', 33) },
  ])('refuses $desc (RangeError)', ({ call }) => {
    expect(() => call(new Signer([NEW, OLD]))).toThrow(RangeError)
  })

  it('verifies its own MAC under the first key', () => {
    const signer = new Signer([NEW])
    expect(signer.verify(DATA, signer.mac(DATA))).toBe(0)
    expect(signer.verify('', signer.mac(''))).toBe(0)
  })

  it('keeps verifying MACs of the old key after a new one is put first, and stops once it is removed', () => {
    const before = new Signer([OLD])
    const rotating = new Signer([NEW, OLD])
    const after = new Signer([NEW])
    const oldMac = before.mac(DATA)
    expect(rotating.verify(DATA, oldMac)).toBe(1)
    expect(rotating.verify(DATA, rotating.mac(DATA))).toBe(0)
    expect(after.verify(DATA, rotating.mac(DATA))).toBe(0)
    expect(after.verify(DATA, oldMac)).toBe(-1)
  })

  it('refuses a MAC made with a key it does not have', () => {
    expect(new Signer([NEW, OLD]).verify(DATA, new Signer(['someone else\'s key, also long enough']).mac(DATA))).toBe(-1)
  })

  it('refuses a MAC for other data', () => {
    const signer = new Signer([NEW])
    expect(signer.verify(`${DATA}!`, signer.mac(DATA))).toBe(-1)
    expect(signer.verify(DATA.replace('web', 'api'), signer.mac(DATA))).toBe(-1)
  })

  it('refuses a MAC with any one character changed', () => {
    const signer = new Signer([NEW])
    const mac = signer.mac(DATA, 0, 32)
    for (let i = 0; i < mac.length; i++) expect(signer.verify(DATA, withCharChanged(mac, i), 32), `position ${i}`).toBe(-1)
  })

  it('refuses a second spelling of the MAC that decodes to the same bytes', () => {
    const signer = new Signer([NEW])
    const mac = signer.mac(DATA) // 16 bytes: the last character carries 2 bits, its low 4 bits are zero
    const last = BASE64URL.indexOf(mac.at(-1)!)
    const respelt = mac.slice(0, -1) + BASE64URL[last | 1]!
    expect(Buffer.from(respelt, 'base64url').equals(Buffer.from(mac, 'base64url'))).toBe(true)
    expect(signer.verify(DATA, respelt)).toBe(-1)
    const mac32 = signer.mac(DATA, 0, 32) // the last of 43 characters carries 4 bits, its low 2 are zero
    const respelt32 = mac32.slice(0, -1) + BASE64URL[BASE64URL.indexOf(mac32.at(-1)!) | 1]!
    expect(Buffer.from(respelt32, 'base64url').equals(Buffer.from(mac32, 'base64url'))).toBe(true)
    expect(signer.verify(DATA, respelt32, 32)).toBe(-1)
  })

  it('refuses a MAC of another length', () => {
    const signer = new Signer([NEW])
    const mac = signer.mac(DATA)
    expect(signer.verify(DATA, mac.slice(0, -1))).toBe(-1)
    expect(signer.verify(DATA, `${mac}A`)).toBe(-1)
    expect(signer.verify(DATA, `${mac}==`)).toBe(-1)
    expect(signer.verify(DATA, mac, 15)).toBe(-1)
    expect(signer.verify(DATA, signer.mac(DATA, 0, 32))).toBe(-1)
    expect(signer.verify(DATA, signer.mac(DATA, 0, 12))).toBe(-1)
  })

  it.each([
    { desc: 'an empty string', mac: '' },
    { desc: 'standard base64 characters', mac: '+/+/+/+/+/+/+/+/+/+/+A' },
    { desc: 'a character outside the alphabet', mac: 'AAAAAAAAAAAAAAAAAAAA!A' },
    { desc: 'whitespace', mac: 'AAAAAAAAAAAAAAAAAAAA A' },
    { desc: 'a non-ASCII character', mac: 'AAAAAAAAAAAAAAAAAAAAéA' },
    { desc: 'an astral character', mac: 'AAAAAAAAAAAAAAAAAAAA😀' },
    { desc: 'a NUL', mac: 'AAAAAAAAAAAAAAAAAAAA\0A' },
    { desc: 'a number', mac: 42 as unknown as string },
    { desc: 'undefined', mac: undefined as unknown as string },
    { desc: 'null', mac: null as unknown as string },
  ])('answers -1, without throwing, for $desc', ({ mac }) => {
    const signer = new Signer([NEW, OLD])
    expect(signer.verify(DATA, mac)).toBe(-1)
  })

  it('answers -1, without throwing, for data that is not a string', () => {
    const signer = new Signer([NEW])
    expect(signer.verify(undefined as unknown as string, signer.mac('undefined'))).toBe(-1)
  })

  it('shows no key when inspected or serialised', () => {
    const signer = new Signer([NEW])
    expect(inspect(signer, { showHidden: true, depth: 5 })).toBe('Signer { size: 1 }')
    expect(JSON.stringify(signer)).toBe('{"size":1}')
  })
})
