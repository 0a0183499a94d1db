// Maintenance (the seed's "a server under maintenance gets no traffic") and target states in the admin API and
// /metrics, on a group without health checks: PUT …/maintenance takes a registered target out of rotation with
// no failed request and lets a WebSocket on it finish; DELETE brings it back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { callJson, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { underLoad } from './load.ts'

interface TargetView { id: string, port: number, state: string, reason: string | null, since: string, inFlight: number }

describe('maintenance', () => {
  let a: Backend
  let b: Backend
  let wss: WebSocketServer
  let pf: Running
  beforeAll(async () => {
    a = await startBackend('a')
    b = await startBackend('b')
    wss = new WebSocketServer({ server: b.server })
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${data.toString()}`)))
    pf = await startPilotfish({
      ...forwardConfig([a.port, b.port]),
      targetGroups: [
        { name: 'app', targets: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }] },
        { name: 'spare', targets: [{ host: '127.0.0.1', port: a.port }] },
      ],
    }, 2)
  })
  afterAll(async () => { await pf.stop(); wss.close(); await a.close(); await b.close() })

  const group = async (name = 'app'): Promise<TargetView[]> => (await callJson(`${pf.admin}/v1/target-groups/${name}`)).body.targets
  const maintenance = (port: number, method: 'PUT' | 'DELETE') =>
    fetch(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${port}/maintenance`, { method })

  it('shows every target healthy in a group without health checks, and unused in a group no listener forwards to', async () => {
    expect((await group()).map((t) => [t.port, t.state, t.reason])).toEqual([[a.port, 'healthy', null], [b.port, 'healthy', null]])
    expect((await group('spare')).map((t) => [t.state, t.reason])).toEqual([['unused', 'Target.NotInUse']])
  })

  it('takes a target out under load with no failed request, lets its WebSocket finish, and brings it back', async () => {
    // Only b speaks WebSocket (a answers an upgrade with a plain 200): round robin, so a few tries land one on b.
    let ws: WebSocket | null = null
    for (let i = 0; i < 10 && ws === null; i++) {
      const s = new WebSocket(`ws://127.0.0.1:${pf.port}/chat`)
      ws = await new Promise<WebSocket | null>((resolve) => { s.onopen = () => resolve(s); s.onerror = () => resolve(null) })
    }
    if (ws === null) throw new Error('no WebSocket reached b')
    const open = ws
    const echo = (text: string): Promise<string> => new Promise((resolve) => {
      open.onmessage = (e) => resolve(String(e.data))
      open.send(text)
    })
    expect(await echo('before')).toBe('echo before')

    let during = new Map<string, number>()
    const load = await underLoad(pf.port, async () => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      const put = await maintenance(b.port, 'PUT')
      expect(put.status).toBe(200)
      const seenBefore = b.seen.length
      await new Promise((resolve) => setTimeout(resolve, 500))
      // No new request reached b once the PUT had answered (each shard had applied it by then).
      during = new Map([['b', b.seen.length - seenBefore]])
    }, 6)
    expect(load.failed, load.errors.join('; ')).toBe(0)
    expect(load.ok).toBeGreaterThan(50)
    expect(during.get('b')).toBe(0)

    const view = await group()
    expect(view.map((t) => [t.port, t.state, t.reason])).toEqual([[a.port, 'healthy', null], [b.port, 'maintenance', 'Target.Maintenance']])
    // The WebSocket to b (a request in flight) goes on through maintenance.
    expect(await echo('during')).toBe('echo during')
    open.close()

    const metrics = await (await fetch(`${pf.admin}/metrics`)).text()
    expect(metrics).toContain(`pilotfish_target_state{group="app",target="127.0.0.1:${b.port}",state="maintenance"} 1`)
    expect(metrics).toContain(`pilotfish_target_state{group="app",target="127.0.0.1:${b.port}",state="healthy"} 0`)
    expect(metrics).toContain(`pilotfish_target_state_transitions_total{group="app",target="127.0.0.1:${b.port}",state="maintenance"} 1`)

    expect((await maintenance(b.port, 'DELETE')).status).toBe(200)
    expect((await group()).find((t) => t.port === b.port)?.state).toBe('healthy')
    const names = new Set<string>()
    for (let i = 0; i < 8; i++) names.add(((await (await fetch(`http://127.0.0.1:${pf.port}/`)).json()) as { name: string }).name)
    expect(names).toEqual(new Set(['a', 'b']))
  })

  it('keeps a target in maintenance across another registration, and forgets it when the target is deregistered', async () => {
    expect((await maintenance(b.port, 'PUT')).status).toBe(200)
    const c = await startBackend('c')
    try {
      expect((await callJson(`${pf.admin}/v1/target-groups/app/targets`, 'POST', { host: '127.0.0.1', port: c.port })).status).toBe(201)
      expect((await group()).map((t) => [t.port, t.state])).toEqual([[a.port, 'healthy'], [b.port, 'maintenance'], [c.port, 'healthy']])
      for (let i = 0; i < 6; i++) expect(((await (await fetch(`http://127.0.0.1:${pf.port}/`)).json()) as { name: string }).name).not.toBe('b')
      expect((await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${c.port}`, 'DELETE')).status).toBe(200)
    } finally {
      await c.close()
    }
    expect((await maintenance(b.port, 'DELETE')).status).toBe(200)
  })

  it('drains a deregistered target under load with no failed request, while its WebSocket goes on', async () => {
    const c = await startBackend('c')
    const wsc = new WebSocketServer({ server: c.server })
    wsc.on('connection', (ws) => ws.on('message', (data) => ws.send(`c ${data.toString()}`)))
    try {
      expect((await callJson(`${pf.admin}/v1/target-groups/app/targets`, 'POST', { host: '127.0.0.1', port: c.port })).status).toBe(201)
      // Only c answers an upgrade with "c …" (b echoes "echo …", a does not upgrade): try until one lands on c.
      let ws: WebSocket | null = null
      for (let i = 0; i < 15 && ws === null; i++) {
        const s = new WebSocket(`ws://127.0.0.1:${pf.port}/chat`)
        const got = await new Promise<string | null>((resolve) => {
          s.onopen = () => { s.onmessage = (e) => resolve(String(e.data)); s.send('who') }
          s.onerror = () => resolve(null)
        })
        if (got === 'c who') ws = s
        else s.close()
      }
      if (ws === null) throw new Error('no WebSocket reached c')
      const open = ws
      const load = await underLoad(pf.port, async () => {
        await new Promise((resolve) => setTimeout(resolve, 200))
        expect((await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${c.port}`, 'DELETE')).status).toBe(200)
        expect((await group()).find((t) => t.port === c.port)?.state).toBe('draining')
        await new Promise((resolve) => setTimeout(resolve, 300))
      }, 6)
      expect(load.failed, load.errors.join('; ')).toBe(0)
      const reply = await new Promise<string>((resolve) => { open.onmessage = (e) => resolve(String(e.data)); open.send('after') })
      expect(reply).toBe('c after')
      open.close()
    } finally {
      wsc.close()
      await c.close()
    }
  })

  it('answers 404 for a target or group it does not have, and 400 for a malformed target id', async () => {
    expect((await fetch(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:1/maintenance`, { method: 'PUT' })).status).toBe(404)
    expect((await fetch(`${pf.admin}/v1/target-groups/nope/targets/127.0.0.1:${a.port}/maintenance`, { method: 'PUT' })).status).toBe(404)
    expect((await fetch(`${pf.admin}/v1/target-groups/app/targets/nonsense/maintenance`, { method: 'PUT' })).status).toBe(400)
  })
})
