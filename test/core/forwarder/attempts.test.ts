// Which failed attempts go again (core/forwarder/attempts.ts): the policy alone, as a table.
import { describe, expect, it } from 'vitest'
import { Attempts, Next } from '../../../core/forwarder/attempts.ts'
import { head } from './fakes.ts'

describe('attempts: what a failed attempt leads to', () => {
  it('redispatches a refused connection once, whatever the request', () => {
    const a = new Attempts()
    expect([a.connectFailed(), a.connectFailed()]).toEqual([Next.Elsewhere, Next.Fail])
  })

  it.each([
    { desc: 'a body-less GET on a new connection', text: 'GET / HTTP/1.1\r\nhost: a\r\n\r\n', reused: false, expected: [Next.Elsewhere, Next.Fail] },
    { desc: 'a body-less GET on a reused connection', text: 'GET / HTTP/1.1\r\nhost: a\r\n\r\n', reused: true, expected: [Next.SameTarget, Next.Elsewhere, Next.Fail] },
    { desc: 'a body-less DELETE', text: 'DELETE /x HTTP/1.1\r\nhost: a\r\n\r\n', reused: false, expected: [Next.Elsewhere, Next.Fail] },
    { desc: 'a PUT with a body', text: 'PUT / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\n\r\n', reused: true, expected: [Next.Fail] },
    { desc: 'a body-less POST', text: 'POST / HTTP/1.1\r\nhost: a\r\n\r\n', reused: true, expected: [Next.Fail] },
    { desc: 'a PATCH', text: 'PATCH / HTTP/1.1\r\nhost: a\r\n\r\n', reused: false, expected: [Next.Fail] },
  ])('after a reset: $desc goes again as far as the policy allows, once per kind', ({ text, reused, expected }) => {
    const a = new Attempts()
    const h = head(text)
    expect(expected.map(() => a.reset(h, reused))).toEqual(expected)
  })

  it('keeps its redispatch and its reset retry apart: a refused then reset GET reaches a third target', () => {
    const a = new Attempts()
    const h = head('GET / HTTP/1.1\r\nhost: a\r\n\r\n')
    expect([a.connectFailed(), a.reset(h, false), a.reset(h, false), a.connectFailed()]).toEqual([Next.Elsewhere, Next.Elsewhere, Next.Fail, Next.Fail])
  })
})
