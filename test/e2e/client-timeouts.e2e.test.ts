// Clients that are slow on purpose: the first head is due from accept, and a request body has a minimum rate.
import { mkdtempSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadPort, forwardConfig, raw, startBackend, startPilotfish, statuses, type Backend, type Running } from './harness.ts'
import { startCli } from './process.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Connects and resolves with what the proxy sent once it closes the connection (or after `limitMs`, with null). */
function closedAfter (port: number, send: (s: net.Socket) => Promise<void> | void, limitMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let got = ''
    const timer = setTimeout(() => { s.destroy(); resolve(null) }, limitMs)
    s.on('data', (c: Buffer) => { got += c.toString('latin1') })
    s.on('error', () => {})
    s.on('close', () => { clearTimeout(timer); resolve(got) })
    s.on('connect', () => { void send(s) })
  })
}

/** Sends `total` body bytes in pieces of `piece` every `everyMs`, until the proxy answers or closes. */
async function trickle (s: net.Socket, total: number, piece: number, everyMs: number): Promise<void> {
  s.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`)
  for (let sent = 0; sent < total && !s.destroyed && s.writable; sent += piece) {
    await sleep(everyMs)
    s.write(Buffer.alloc(Math.min(piece, total - sent), 'b'))
  }
}

describe('the first request head is due within headerTimeoutSeconds of accept', () => {
  let be: Backend
  let pf: Running
  beforeAll(async () => {
    be = await startBackend()
    pf = await startPilotfish(forwardConfig([be.port], { headerTimeoutSeconds: 0.5, idleTimeoutSeconds: 60 }))
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('closes a connection that sends no byte, long before the idle timeout', async () => {
    // The idle timeout is 60 s: a close within 10 s is the header timeout's, counted from accept.
    expect(await closedAfter(pf.port, () => {}, 10_000)).toBe('')
  })

  it('answers 408 to a first head still incomplete at the deadline', async () => {
    expect(statuses(await closedAfter(pf.port, (s) => { s.write('GET / HTTP/1.1\r\n') }, 10_000) ?? '')).toEqual([408])
  })

  it('between requests on a kept-alive connection, waits the idle timeout, not the header timeout', async () => {
    const text = await closedAfter(pf.port, async (s) => {
      s.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n')
      await sleep(1500) // three header timeouts, well within the idle timeout
      s.write('GET /2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    }, 10_000)
    expect(statuses(text ?? '')).toEqual([200, 200])
  })
})

describe('minimum request body rate (minRequestBodyRate)', () => {
  let be: Backend
  let slow: http.Server
  let pf: Awaited<ReturnType<typeof startCli>>
  let port: number
  beforeAll(async () => {
    be = await startBackend()
    // A target that takes 1.5 s (three grace periods) to ask for an Expect: 100-continue body.
    slow = http.createServer((_req, res) => { res.end('slow') })
    slow.on('checkContinue', (req, res) => {
      setTimeout(() => {
        res.writeContinue()
        let n = 0
        req.on('data', (c: Buffer) => { n += c.length })
        req.on('end', () => res.end(`got ${n}`))
      }, 1500)
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    port = await deadPort()
    const dir = mkdtempSync(join(tmpdir(), 'pilotfish-rate-'))
    const file = join(dir, 'pilotfish.yaml')
    writeFileSync(file, [
      'listeners:',
      `  - { name: web, host: 127.0.0.1, port: ${port}, accessLog: true, bodyTimeoutSeconds: 30,`,
      '      minRequestBodyRate: { bytesPerSecond: 1000, graceSeconds: 0.5 },',
      '      rules: [{ priority: 1, name: slow, conditions: { path: [/continue] }, action: { type: forward, targetGroups: [{ name: slow }] } }],',
      '      defaultAction: { type: forward, targetGroups: [{ name: app }] } }',
      'targetGroups:',
      `  - { name: app, targets: [{ host: 127.0.0.1, port: ${be.port} }] }`,
      `  - { name: slow, targets: [{ host: 127.0.0.1, port: ${(slow.address() as AddressInfo).port} }] }`,
    ].join('\n'))
    pf = await startCli(['run', '--config', file, '--shards', '1', '--admin', '127.0.0.1:0'])
  })
  afterAll(async () => { await pf.stop(); await be.close(); slow.close() })

  it('starts the clock with the first body byte: waiting for a slow 100 Continue is not sending slowly', async () => {
    const text = await closedAfter(port, (s) => {
      s.write('POST /continue HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 300\r\nConnection: close\r\n\r\n')
      s.once('data', () => s.write(Buffer.alloc(300, 'c'))) // the 100, relayed
    }, 15_000)
    expect(statuses(text ?? '')).toEqual([100, 200])
    expect(text).toContain('got 300')
  })

  it('cuts off a body trickled below the rate with 408, never forwards it as complete, and logs why', async () => {
    // 10 bytes every 100 ms is 100 B/s, a tenth of the minimum; the body timeout (30 s) alone would never fire.
    const text = await closedAfter(port, (s) => trickle(s, 100_000, 10, 100), 15_000)
    expect(statuses(text ?? '')).toEqual([408])
    expect(text).toMatch(/connection: close/i)
    expect(be.seen.length).toBe(0)
    await sleep(200) // the access log line is written asynchronously
    const line = pf.stdout().split('\n').find((l) => l.includes('body-rate-too-low'))
    expect(JSON.parse(line!)).toMatchObject({ status: 408, reason: 'body-rate-too-low', path: '/up' })
  })

  it('lets a body at a rate above the minimum through', async () => {
    // 500 bytes every 100 ms is 5,000 B/s: 10 KB in about 2 s.
    const text = await closedAfter(port, async (s) => { await trickle(s, 10_000, 500, 100); await sleep(500); s.end() }, 15_000)
    expect(statuses(text ?? '')).toEqual([200])
    expect(be.seen.at(-1)?.body.length).toBe(10_000)
  })
})

it('keeps the connection of a client that sends a first request at once (the header timeout is per head)', async () => {
  const be = await startBackend()
  const pf = await startPilotfish(forwardConfig([be.port], { headerTimeoutSeconds: 0.5 }))
  try {
    expect(statuses(await raw(pf.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toEqual([200])
  } finally {
    await pf.stop()
    await be.close()
  }
})
