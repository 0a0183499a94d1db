// The sticky cookie's value: signed, naming a target by a keyed token, read by any holder of the keys.
import { describe, expect, it } from 'vitest'
import { Signer } from '../../../core/plugin-runtime.ts'
import { StickyCodec } from '../../../plugins/stickiness/codec.ts'

const KEY_A = 'a'.repeat(32)
const KEY_B = 'b'.repeat(32)
const codec = (...keys: string[]): StickyCodec => new StickyCodec(new Signer(keys), 'PILOTFISH', 'web', 86_400_000)
const later = Date.now() + 60_000

describe('sticky cookie values', () => {
  it('reads back the token and expiry it wrote, from another codec with the same keys (another shard or replica)', () => {
    const a = codec(KEY_A)
    const value = a.encode(a.token('10.0.0.1:80', 0), later)
    const v = codec(KEY_A).decode(value)
    expect(v).toMatchObject({ token: a.token('10.0.0.1:80', 0), key: 0 })
    expect(v!.expiresAt).toBe(Math.ceil(later / 1000) * 1000)
  })

  it('names the target without its address: neither host nor port appears in the value', () => {
    const a = codec(KEY_A)
    const value = a.encode(a.token('10.1.2.3:8080', 0), later)
    expect(value).not.toMatch(/10\.1\.2\.3|8080/)
    expect(value).toMatch(/^[A-Za-z0-9_-]{16}\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/)
  })

  it('refuses a value with any character changed, a foreign key, or no structure', () => {
    const a = codec(KEY_A)
    const value = a.encode(a.token('10.0.0.1:80', 0), later)
    for (let i = 0; i < value.length; i++) {
      const c = value[i] === 'A' ? 'B' : 'A'
      expect(codec(KEY_A).decode(value.slice(0, i) + c + value.slice(i + 1)), `changed at ${i}`).toBeNull()
    }
    expect(codec(KEY_B).decode(value)).toBeNull()
    for (const junk of ['', 'x', '...', 'a.b.c', value + 'x', value.slice(1), '%00'.repeat(20)]) expect(codec(KEY_A).decode(junk)).toBeNull()
  })

  it('does not let a cookie for one group or cookie name pass for another', () => {
    const s = new Signer([KEY_A])
    const web = new StickyCodec(s, 'PILOTFISH', 'web', 86_400_000)
    const value = web.encode(web.token('10.0.0.1:80', 0), later)
    expect(new StickyCodec(s, 'PILOTFISH', 'api', 86_400_000).decode(value)).toBeNull()
    expect(new StickyCodec(s, 'OTHER', 'web', 86_400_000).decode(value)).toBeNull()
  })

  it('reads a value signed by an older key, saying which key, with the token that key gives the target', () => {
    const old = codec(KEY_A)
    const value = old.encode(old.token('10.0.0.1:80', 0), later)
    const rotated = codec(KEY_B, KEY_A)
    const v = rotated.decode(value)
    expect(v).toMatchObject({ key: 1, token: rotated.token('10.0.0.1:80', 1) })
  })

  it('ties a companion to the value it was bound to (app_cookie)', () => {
    const a = codec(KEY_A)
    const value = a.encode(a.token('10.0.0.1:80', 0), later, 'session-1')
    expect(a.decode(value, 'session-1')).not.toBeNull()
    expect(a.decode(value, 'session-2')).toBeNull()
    expect(codec(KEY_A).decode(value)).toBeNull()
  })
  it('gives every client of a target in the same step one value, so the verified cache is bounded by targets, not clients', () => {
    const a = new StickyCodec(new Signer([KEY_A]), 'PILOTFISH', 'web', 256_000) // a 256 s duration: 1 s steps
    const token = a.token('10.0.0.1:80', 0)
    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 100
    expect(a.issue(token, t0)).toBe(a.issue(token, t0 + 800))
    expect(a.issue(token, t0 + 1000)).not.toBe(a.issue(token, t0))
    const v = a.decode(a.issue(token, t0))!
    // Never shorter than the duration, and longer by less than one step.
    expect(v.expiresAt - t0).toBeGreaterThanOrEqual(256_000)
    expect(v.expiresAt - t0).toBeLessThan(257_000)
    const day = new StickyCodec(new Signer([KEY_A]), 'PILOTFISH', 'web', 86_400_000)
    const tokenDay = day.token('10.0.0.1:80', 0)
    // A day's cookie rounds to 338 s steps (86,400 / 256, up to whole seconds).
    expect(day.issue(tokenDay, t0)).toBe(day.issue(tokenDay, t0 + 1000))
  })

  it('binds an app_cookie companion per session: values differ by the session they follow', () => {
    const a = codec(KEY_A)
    const token = a.token('10.0.0.1:80', 0)
    expect(a.issue(token, Date.now(), 's1')).not.toBe(a.issue(token, Date.now(), 's2'))
  })
})
