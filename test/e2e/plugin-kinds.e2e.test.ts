// Hook kinds beyond the request path, in a running sidecar: target state from work done in the task pool,
// published from the leader shard to every shard.
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { certificate } from './certs.ts'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callJson, deadPort, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { sleep } from './load.ts'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/plugins/${name}.ts`, import.meta.url))

/** Statuses and backend names of `n` requests, each on a new connection (so both shards get some). */
async function burst (port: number, n: number): Promise<Array<string | number>> {
  const out: Array<string | number> = []
  for (let i = 0; i < n; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } }).catch(() => null)
    out.push(r === null ? 0 : r.status === 200 ? (JSON.parse(await r.text()) as { name: string }).name : r.status)
  }
  return out
}

async function until (fn: () => Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await fn()) return true
    await sleep(50)
  }
  return false
}

describe('targetState, tasks and published state', () => {
  let live: Backend, pf: Running, revived: http.Server | null = null
  let dead: number
  beforeAll(async () => {
    live = await startBackend('live')
    dead = await deadPort()
    pf = await startPilotfish({
      ...forwardConfig([live.port, dead], {}, { plugins: ['health-lite'] }),
      plugins: [{ name: 'health-lite', from: fixture('health-lite') }],
    }, 2)
  })
  afterAll(async () => {
    await pf.stop()
    await live.close()
    revived?.closeAllConnections()
    revived?.close()
  })

  it('a target the pool task finds down leaves the rotation in every shard', async () => {
    expect(await until(async () => (await burst(pf.port, 12)).every((x) => x === 'live'))).toBe(true)
  })

  it('and comes back once it answers again', async () => {
    revived = http.createServer((_req, res) => res.end(JSON.stringify({ name: 'revived' })))
    await new Promise<void>((resolve) => revived!.listen(dead, '127.0.0.1', resolve))
    expect(await until(async () => new Set(await burst(pf.port, 12)).has('revived'))).toBe(true)
    expect(new Set(await burst(pf.port, 12))).toEqual(new Set(['live', 'revived']))
  })
})


describe('a listener kind from a plugin (https)', () => {
  let be: Backend, pf: Running
  const tls = certificate()
  beforeAll(async () => {
    be = await startBackend('be')
    pf = await startPilotfish({
      ...forwardConfig([be.port], { protocol: 'https', plugins: ['tls'] }),
      plugins: [{ name: 'tls', from: fixture('tls-lite'), config: tls }],
    }, 2)
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  it('binds the listener in every shard and serves HTTP/1.1 over the plugin\'s TLS', async () => {
    const dispatcher = new Agent({ connect: { ca: tls.cert } })
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`https://127.0.0.1:${pf.port}/secure`, { dispatcher } as RequestInit)
      expect(res.status).toBe(200)
      const seen = JSON.parse(await res.text()) as { url: string, headers: Record<string, string> }
      expect([seen.url, seen.headers['x-forwarded-proto']]).toEqual(['/secure', 'https'])
    }
    await dispatcher.close()
  })

  it('refuses a protocol that none of the listener\'s plugins provides', async () => {
    const cfg = (await callJson(`${pf.admin}/v1/config`)).body
    cfg.listeners[0].protocol = 'quic'
    const r = await callJson(`${pf.admin}/v1/config`, 'PUT', cfg)
    expect(r.status).toBe(400)
    expect(r.body.problems).toContainEqual({ path: '/listeners/0/protocol', message: 'quic is not provided by any plugin in /listeners/0/plugins (http is built in)' })
  })
})

describe('a listener kind that moves bytes itself (tcp)', () => {
  let echoes: net.Server[] = []
  let pf: Running
  beforeAll(async () => {
    for (const name of ['one', 'two']) {
      const server = net.createServer((s) => s.on('data', (d) => s.write(`${name}:${d.toString()}`)))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      echoes.push(server)
    }
    const targets = echoes.map((s) => ({ host: '127.0.0.1', port: (s.address() as net.AddressInfo).port }))
    pf = await startPilotfish({
      listeners: [{ name: 'tcp', host: '127.0.0.1', port: 0, protocol: 'tcp', plugins: ['tcp'], defaultAction: { type: 'fixed-response', statusCode: 404 } }],
      targetGroups: [{ name: 'echo', targets }],
      plugins: [{ name: 'tcp', from: fixture('tcp-lite'), config: { targetGroup: 'echo' } }],
    }, 2)
  })
  afterAll(async () => {
    await pf.stop()
    for (const s of echoes) s.close()
    echoes = []
  })

  const roundTrip = (text: string): Promise<string> => new Promise((resolve, reject) => {
    const s = net.connect(pf.port, '127.0.0.1', () => s.write(text))
    s.once('data', (d) => { resolve(d.toString()); s.destroy() })
    s.once('error', reject)
  })

  it("picks targets with the group's algorithm and passes bytes both ways", async () => {
    const answers = new Set<string>()
    for (let i = 0; i < 8; i++) answers.add(await roundTrip('ping'))
    expect(answers).toEqual(new Set(['one:ping', 'two:ping']))
  })

  it('counts a connection in flight until the plugin releases it', async () => {
    const s = net.connect(pf.port, '127.0.0.1')
    await new Promise((resolve) => s.once('connect', resolve))
    s.write('hold')
    await new Promise((resolve) => s.once('data', resolve))
    const inFlight = async (): Promise<number> => ((await callJson(`${pf.admin}/v1/target-groups/echo`)).body.targets as Array<{ inFlight: number }>)
      .reduce((n, t) => n + t.inFlight, 0)
    expect(await inFlight()).toBe(1)
    s.destroy()
    expect(await until(async () => (await inFlight()) === 0)).toBe(true)
  })
})

describe('pool tasks', () => {
  let pf: Running
  beforeAll(async () => {
    pf = await startPilotfish({
      ...forwardConfig([1], { plugins: ['tasky'] }),
      plugins: [{ name: 'tasky', from: fixture('tasky'), taskTimeoutSeconds: 0.5, hookTimeoutSeconds: 5 }],
    })
  })
  afterAll(async () => { await pf.stop() })

  it('a task that never returns is stopped at its timeout, and the pool runs the next ones', async () => {
    const first = await fetch(`http://127.0.0.1:${pf.port}/`)
    expect([first.status, await first.text()]).toEqual([200, 'done'])
    const stuck = await fetch(`http://127.0.0.1:${pf.port}/`, { headers: { 'x-spin': 'forever' } })
    expect(stuck.status).toBe(504)
    expect(await stuck.text()).toMatch(/did not finish within 0.5 s/)
    for (let i = 0; i < 3; i++) expect(await (await fetch(`http://127.0.0.1:${pf.port}/`)).text()).toBe('done')
  })
})
