// A failed attempt goes once to another eligible target (docs/design-notes.md, "Retry"): a dead port in a group,
// and a target killed under load, with real backends on 127.0.0.1 and no health check to take it out.
import http from 'node:http'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { deadPort, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { sleep, underLoad } from './load.ts'

interface Answer { status: number, name: string, body: string }

/** One request; a body goes with Content-Length, or chunked in two writes when `chunked`. */
function send (port: number, method: string, agent: http.Agent, body?: string, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = body === undefined || chunked ? {} : { 'content-length': Buffer.byteLength(body) }
    const req = http.request({ host: '127.0.0.1', port, method, path: '/r', agent, headers }, (res) => {
      let text = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve({ status: res.statusCode ?? 0, name: '', body: text })
        const j = JSON.parse(text) as { name: string, body: string }
        resolve({ status: 200, name: j.name, body: j.body })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body !== undefined && chunked) {
      const half = body.length >> 1
      req.write(body.slice(0, half))
      setImmediate(() => req.end(body.slice(half)))
    } else {
      req.end(body)
    }
  })
}

/**
 * A backend that answers a moment later, so a kill finds requests in flight on it; with `close`, it closes each
 * connection after its response, so every request reaches it on a new connection (none is the stale race).
 */
const slowish = (name: string, close = false): Promise<Backend> =>
  startBackend(name, (_req, res, body) => {
    if (close) res.setHeader('connection', 'close')
    setTimeout(() => res.end(JSON.stringify({ name, body })), 10)
  })

/**
 * `workers` keep-alive clients sending POSTs with `size`-byte bodies until `during` resolves. Each client has one
 * request in flight at a time; a success must echo its body whole.
 */
async function postLoad (port: number, during: () => Promise<void>, workers: number, size: number) {
  const r = { ok: 0, failed: 0, corrupt: 0, errors: [] as string[] }
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers })
  let running = true
  const loop = async (): Promise<void> => {
    while (running) {
      const body = randomBytes(size >> 1).toString('hex')
      try {
        const a = await send(port, 'POST', agent, body)
        if (a.status !== 200) {
          r.failed++
          if (r.errors.length < 10) r.errors.push(`status ${a.status}`)
        } else if (a.body !== body) r.corrupt++
        else r.ok++
      } catch (e) {
        r.failed++
        if (r.errors.length < 10) r.errors.push((e as Error).message)
      }
    }
  }
  const loops = Array.from({ length: workers }, loop)
  try {
    await during()
  } finally {
    running = false
    await Promise.all(loops)
    agent.destroy()
  }
  return r
}

describe('redispatch: a target whose port has nothing listening', () => {
  let backends: Backend[] = []
  let pf: Running | null = null
  afterEach(async () => {
    await pf?.stop()
    for (const b of backends) await b.close()
    backends = []
    pf = null
  })

  it('serves every GET and every POST (bodies whole, Content-Length and chunked) from the live targets', async () => {
    backends = [await startBackend('a'), await startBackend('b')]
    const dead = await deadPort()
    pf = await startPilotfish(forwardConfig([backends[0]!.port, dead, backends[1]!.port]))
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
    const answers: Answer[] = []
    const sent: string[] = []
    try {
      // Round robin over three: every third request is first sent to the dead port.
      for (let i = 0; i < 30; i++) answers.push(await send(pf.port, 'GET', agent))
      for (let i = 0; i < 30; i++) {
        const body = randomBytes(1 + Math.floor(Math.random() * 40000)).toString('hex')
        sent.push(body)
        answers.push(await send(pf.port, 'POST', agent, body, i % 2 === 1))
      }
    } finally {
      agent.destroy()
    }
    expect(answers.map((a) => a.status)).toEqual(Array(60).fill(200))
    expect(answers.slice(30).map((a) => a.body)).toEqual(sent)
    const names = new Set(answers.map((a) => a.name))
    expect([...names].sort()).toEqual(['a', 'b'])
    // Each live target took its own share and the dead one's: 20 of 60 would have been refused.
    expect(backends[0]!.seen.length + backends[1]!.seen.length).toBe(60)
  })
})

describe('a target killed under load', () => {
  let backends: Backend[] = []
  let pf: Running | null = null
  afterEach(async () => {
    await pf?.stop()
    for (const b of backends) await b.close() // the killed one's close() finds it closed, and resolves
    backends = []
    pf = null
  })

  it.each([
    { desc: 'keep-alive target connections', close: false },
    { desc: 'a new target connection per request', close: true },
  ])('fails no GET ($desc): those in flight on it, on its pooled connections and sent to it after all go elsewhere', async ({ close }) => {
    backends = [await slowish('a', close), await slowish('b', close), await slowish('c', close)]
    pf = await startPilotfish(forwardConfig(backends.map((b) => b.port)))
    const c = backends[2]!
    let seenAtKill = 0
    const result = await underLoad(pf.port, async () => {
      await sleep(400)
      seenAtKill = c.seen.length
      c.server.closeAllConnections() // in-flight and idle keep-alive connections close under the proxy
      c.server.close()
      await sleep(600)
    }, 8)
    expect(result.errors).toEqual([])
    expect(result.failed).toBe(0)
    expect(seenAtKill).toBeGreaterThan(0) // c was in rotation before it died
    expect(c.seen.length).toBe(seenAtKill)
    expect(result.byName.get('a')! + result.byName.get('b')!).toBeGreaterThan(result.byName.get('c')! * 2)
  })

  it('fails at most one POST with a body per client connection: only those in flight on it when it died', async () => {
    backends = [await slowish('a'), await slowish('b'), await slowish('c')]
    pf = await startPilotfish(forwardConfig(backends.map((b) => b.port)))
    const c = backends[2]!
    const workers = 6
    const result = await postLoad(pf.port, async () => {
      await sleep(400)
      c.server.closeAllConnections()
      c.server.close()
      await sleep(600)
    }, workers, 4096)
    expect(result.corrupt).toBe(0)
    expect(result.failed).toBeLessThanOrEqual(workers) // the documented bound
    expect(result.ok).toBeGreaterThan(100)
  })
})
