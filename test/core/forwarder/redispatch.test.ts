// A failed attempt goes once to another eligible target of the group: the exchange driven with fakes
// (test/core/forwarder/fakes.ts) through refusals, connect timeouts and resets, with what each target got.
import { describe, expect, it } from 'vitest'
import { Exchange } from '../../../core/forwarder/exchange.ts'
import { Outcome, type Target } from '../../../core/pipeline.ts'
import { FakeClient, fixture, head, type Fixture, type FixtureOptions } from './fakes.ts'

const GET = 'GET /x HTTP/1.1\r\nhost: a.test\r\n\r\n'
const GET_OUT = 'GET /x HTTP/1.1\r\nhost: a.test\r\nx-forwarded-proto: http\r\nx-forwarded-port: 80\r\n\r\n'
const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi'

/** A fixture whose new connections wait for the test to connect or refuse them. */
function dead (options: FixtureOptions): Fixture {
  const f = fixture(options)
  for (const p of f.pools) p.connects = false
  return f
}

function start (text: string, f: Fixture, body?: Buffer) {
  const client = new FakeClient()
  const ex = new Exchange(f.listener, client, head(text))
  ex.start()
  // As the client connection does: body bytes that came with the head, then flush; false pauses its reading.
  if (body !== undefined && !ex.sendBody(body)) client.paused = true
  ex.flush()
  return { ex, client, ...f }
}

const inFlight = (targets: Target[]): number[] => targets.map((t) => t.endpoint.inFlight)
const record = (f: Fixture) => f.finished.map((r) => ({ status: r.status, outcome: r.outcome, reason: r.reason, targetId: r.targetId, retries: r.retries }))

describe('redispatch: a connection that is refused or never established', () => {
  it('sends a refused GET to another target, having written nothing to the refused one', () => {
    const x = start(GET, dead({ targets: 3 }))
    const refused = x.pools[0]!.last
    expect([refused.written, inFlight(x.targets)]).toEqual(['', [1, 0, 0]])
    refused.refuse()
    const other = x.pools[1]!.last
    expect([other.written, inFlight(x.targets)]).toEqual(['', [0, 1, 0]]) // the head waits for 'connect'
    other.connect()
    expect(other.written).toBe(GET_OUT)
    other.send(OK)
    expect([x.client.out, x.client.done, inFlight(x.targets)]).toEqual([OK, [true], [0, 0, 0]])
    expect(record(x)).toEqual([{ status: 200, outcome: Outcome.Ok, reason: '', targetId: '10.0.0.2:80', retries: 1 }])
  })

  it('holds a request body until the connection is established, and the other target gets it whole, byte for byte', () => {
    const bytes = Buffer.from([0, 13, 10, 255, 128, 1, 2, 3, 0x7f, 0xfe, 0, 10])
    const x = start('POST /up HTTP/1.1\r\nhost: a\r\ncontent-length: 12\r\n\r\n', dead({ targets: 2 }), bytes.subarray(0, 5))
    expect(x.client.paused).toBe(true) // held: the client connection pauses until the bytes can go out
    x.pools[0]!.last.refuse()
    const other = x.pools[1]!.last
    expect(x.ex.sendBody(bytes.subarray(5, 9))).toBe(false) // still connecting: held too
    other.connect()
    expect(x.client.paused).toBe(false)
    expect(x.ex.sendBody(bytes.subarray(9))).toBe(true) // established: straight through
    x.ex.onRequestComplete()
    const [outHead, outBody] = other.written.split('\r\n\r\n')
    expect([outHead!.startsWith('POST /up HTTP/1.1\r\n'), Buffer.from(outBody!, 'latin1')]).toEqual([true, bytes])
    expect(x.pools[0]!.last.written).toBe('')
    other.send(OK)
    expect([x.client.out, inFlight(x.targets), x.finished[0]!.requestBytes]).toEqual([OK, [0, 0], 12])
  })

  it('sends the held request at once when the other target has an idle connection', () => {
    const f = dead({ targets: 2 })
    f.pools[1]!.connects = true
    const idle = f.pools[1]!.open()
    f.pools[1]!.idle.push(idle)
    const x = start('PUT / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\n', f, Buffer.from('abc'))
    x.ex.onRequestComplete()
    x.pools[0]!.last.refuse()
    expect([x.pools[1]!.opened.length, idle.uses, idle.written.endsWith('\r\n\r\nabc'), idle.corked]).toEqual([1, 1, true, false])
    x.pools[1]!.last.send(OK)
    expect([x.client.out, idle.released]).toEqual([OK, true])
  })

  it('redispatches a connect timeout as it does a refusal', () => {
    const x = start(GET, dead({ targets: 2 }))
    x.pools[0]!.last.user!.onTargetTimeout()
    expect(x.pools[0]!.last.destroyed).toBe(true)
    x.pools[1]!.last.connect()
    x.pools[1]!.last.send(OK)
    expect(record(x)).toEqual([{ status: 200, outcome: Outcome.Ok, reason: '', targetId: '10.0.0.2:80', retries: 1 }])
  })

  it('redispatches once only: two refusing targets answer 502 and the third is never tried', () => {
    const x = start(GET, dead({ targets: 3 }))
    x.pools[0]!.last.refuse()
    x.pools[1]!.last.refuse()
    expect(x.client.out).toMatch(/^HTTP\/1.1 502 /)
    expect([x.pools[2]!.opened.length, inFlight(x.targets), x.client.done]).toEqual([0, [0, 0, 0], [true]])
    expect(record(x)).toEqual([{ status: 502, outcome: Outcome.ConnectFailed, reason: 'target-connect-failed', targetId: '10.0.0.2:80', retries: 1 }])
  })

  it('fails as before when the group has no other eligible target', () => {
    const f = dead({ targets: 2 })
    f.targets[1]!.eligible = false
    const x = start(GET, f)
    x.pools[0]!.last.refuse()
    expect([x.pools[1]!.opened.length, inFlight(x.targets)]).toEqual([0, [0, 0]])
    expect(record(x)).toEqual([{ status: 502, outcome: Outcome.ConnectFailed, reason: 'target-connect-failed', targetId: '10.0.0.1:80', retries: 0 }])
  })

  it('takes the next eligible target in list order when the selector keeps answering the failed one, and runs onForward again', () => {
    const seen: string[] = []
    const f = dead({
      targets: 3,
      selector: (targets) => ({ select: () => targets[0]! }), // a consistent hash: one key, one answer
      hooks: { onForward (req, t) { seen.push(t.endpoint.id); req.setHeader('x-target', t.endpoint.id) } },
    })
    f.targets[1]!.eligible = false
    const x = start(GET, f)
    x.pools[0]!.last.refuse()
    x.pools[2]!.last.connect()
    expect(seen).toEqual(['10.0.0.1:80', '10.0.0.3:80'])
    expect(x.pools[2]!.last.written).toContain('\r\nx-target: 10.0.0.3:80\r\n')
    expect(x.pools[2]!.last.written).not.toContain('10.0.0.1:80')
    x.pools[2]!.last.send(OK)
    expect([x.finished[0]!.targetId, inFlight(x.targets)]).toEqual(['10.0.0.3:80', [0, 0, 0]])
  })
})

describe('reset retry: a target that closes an established connection before any response byte', () => {
  it('sends a body-less GET to another target', () => {
    const x = start(GET, fixture({ targets: 2 }))
    expect(x.pools[0]!.last.written).toBe(GET_OUT)
    x.pools[0]!.last.close(false)
    expect(x.pools[1]!.last.written).toBe(GET_OUT)
    x.pools[1]!.last.send(OK)
    expect([x.client.out, inFlight(x.targets)]).toEqual([OK, [0, 0]])
    expect(record(x)).toEqual([{ status: 200, outcome: Outcome.Ok, reason: '', targetId: '10.0.0.2:80', retries: 1 }])
  })

  it.each([
    { desc: 'a POST (not idempotent)', text: 'POST / HTTP/1.1\r\nhost: a\r\n\r\n', body: undefined },
    { desc: 'a PUT with a body (sent, and not kept)', text: 'PUT / HTTP/1.1\r\nhost: a\r\ncontent-length: 1\r\n\r\n', body: Buffer.from('x') },
  ])('answers 502 to $desc, trying no other target', ({ text, body }) => {
    const x = start(text, fixture({ targets: 2 }), body)
    if (body !== undefined) x.ex.onRequestComplete()
    x.pools[0]!.last.close(false)
    expect([x.pools[1]!.opened.length, x.client.out.startsWith('HTTP/1.1 502 '), inFlight(x.targets)]).toEqual([0, true, [0, 0]])
    expect(record(x)[0]!.reason).toBe('target-closed-early')
  })

  it('does not retry once a response byte has arrived', () => {
    const x = start(GET, fixture({ targets: 2 }))
    x.pools[0]!.last.close(true)
    expect([x.pools[1]!.opened.length, record(x)[0]!.reason]).toEqual([0, 'target-closed-early'])
  })

  it('retries once only: a GET reset by two targets answers 502 and the third is never tried', () => {
    const x = start(GET, fixture({ targets: 3 }))
    x.pools[0]!.last.close(false)
    x.pools[1]!.last.close(false)
    expect([x.pools[2]!.opened.length, x.client.out.startsWith('HTTP/1.1 502 '), inFlight(x.targets)]).toEqual([0, true, [0, 0, 0]])
  })

  it('never retries a response timeout (the target may have acted)', () => {
    const x = start(GET, fixture({ targets: 2 }))
    x.pools[0]!.last.user!.onTargetTimeout()
    expect([x.pools[1]!.opened.length, x.client.out.startsWith('HTTP/1.1 504 '), inFlight(x.targets)]).toEqual([0, true, [0, 0]])
    expect(record(x)[0]!.reason).toBe('target-timeout')
  })

  it('after the stale keep-alive race, retries the same target on a fresh connection, and redispatches when that is refused', () => {
    const f = fixture({ targets: 2 })
    const stale = f.pools[0]!.open()
    stale.uses = 1 // it carried a request before
    f.pools[0]!.idle.push(stale)
    f.pools[0]!.connects = false // the target has gone: its port refuses
    const x = start(GET, f)
    stale.close(false)
    expect([x.pools[0]!.opened.length, x.pools[1]!.opened.length]).toEqual([2, 0]) // same target first
    x.pools[0]!.last.refuse()
    x.pools[1]!.last.send(OK)
    expect([x.client.out, inFlight(x.targets)]).toEqual([OK, [0, 0]])
    expect(record(x)).toEqual([{ status: 200, outcome: Outcome.Ok, reason: '', targetId: '10.0.0.2:80', retries: 2 }])
  })
})
