// One list of the fields the engine owns, and one lookup: every user of them agrees.
import { describe, expect, it } from 'vitest'
import { fieldValue, isEngineField, Owned, ownedAs } from '../../../core/http1/fields.ts'
import { pluginReplyHead } from '../../../core/forwarder/local-reply.ts'
import { rewriteRequestHead, rewriteResponseHead } from '../../../core/forwarder/rewrite-head.ts'
import { setField, removeField } from '../../../core/plugin/headers.ts'
import { parseRequestHead, type RequestHead } from '../../../core/http1/request-head.ts'
import { parseResponseHead, type ResponseHead } from '../../../core/http1/response-head.ts'

const settings = { xForwardedFor: 'append', xForwardedClientPort: false, preserveHost: false, protocol: 'http', listenerPort: 80 } as const

function request (...fields: string[]): RequestHead {
  const h = parseRequestHead(`GET / HTTP/1.1\r\nhost: a.test\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`, { maxHeaderCount: 64 })
  if (!('names' in h)) throw new Error(h.reason)
  return h
}
function response (...fields: string[]): ResponseHead {
  const h = parseResponseHead(`HTTP/1.1 200 OK\r\ncontent-length: 0\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`, { maxHeaderCount: 64 })
  if (!('names' in h)) throw new Error(h.reason)
  return h
}

const owned = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'content-length', 'host']

describe('engine-owned fields', () => {
  it.each(owned)('%s: plugins can neither set nor remove it, a plugin reply drops it, a target never gets it from the client', (name) => {
    expect(isEngineField(name)).toBe(true)
    const f = { names: [], rawNames: [], values: [] }
    expect(() => setField(f, name, '1')).toThrow(/set by Pilotfish/)
    expect(() => removeField(f, name)).toThrow(/set by Pilotfish/)
    const reply = pluginReplyHead({ statusCode: 200, headers: { [name]: 'x' } })
    expect(reply instanceof Error ? reply.message : reply.head.toLowerCase().includes(`\n${name}: x`)).toBe(false)
  })

  it.each(['x-custom', 'cookie', 'set-cookie', 'content-type', 'x-forwarded-for'])('%s is the message\'s: plugins may edit it', (name) => {
    expect(isEngineField(name)).toBe(false)
    const f = { names: [], rawNames: [], values: [] }
    setField(f, name, 'v')
    expect(fieldValue(f, name)).toBe('v')
  })

  it('drops every hop-by-hop field from a request, and what Connection names, but never Host or framing', () => {
    const out = rewriteRequestHead(request('keep-alive: 5', 'proxy-connection: keep-alive', 'te: trailers', 'connection: x-hop, content-length, host', 'x-hop: 1', 'x-kept: 2'),
      '/', 'a.test', '192.0.2.1', 1, settings)
    expect(out).toBe('GET / HTTP/1.1\r\nhost: a.test\r\nx-kept: 2\r\nx-forwarded-for: 192.0.2.1\r\nx-forwarded-proto: http\r\nx-forwarded-port: 80\r\n\r\n')
  })

  it('drops hop-by-hop fields from a response but passes its framing through', () => {
    const out = rewriteResponseHead(response('proxy-connection: keep-alive', 'keep-alive: 5', 'x-kept: 1'), true, 1, false)
    expect(out).toBe('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-kept: 1\r\n\r\n')
  })

  it('classes transfer-encoding as both framing and hop-by-hop, content-length as framing only', () => {
    expect([ownedAs('transfer-encoding', Owned.Framing), ownedAs('transfer-encoding', Owned.HopByHop)]).toEqual([true, true])
    expect([ownedAs('content-length', Owned.Framing), ownedAs('content-length', Owned.HopByHop)]).toEqual([true, false])
    expect(ownedAs('host', Owned.Routing)).toBe(true)
  })
})

describe('fieldValue', () => {
  it.each([
    { desc: 'absent', fields: [], name: 'x-a', value: undefined },
    { desc: 'one field', fields: ['x-a: 1'], name: 'x-a', value: '1' },
    { desc: 'repeats joined with a comma', fields: ['x-a: 1', 'x-b: 0', 'X-A: 2'], name: 'x-a', value: '1, 2' },
    { desc: 'cookies joined as one Cookie field', fields: ['cookie: a=1', 'cookie: b=2'], name: 'cookie', value: 'a=1; b=2' },
    { desc: 'looked up by lower-case name only', fields: ['X-A: 1'], name: 'X-A', value: undefined },
  ])('$desc', ({ fields, name, value }) => {
    expect(fieldValue(request(...fields), name)).toBe(value)
  })
})
