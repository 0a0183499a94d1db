import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { forwardConfig, raw, startBackend, startPilotfish, statuses, type Backend, type Running } from './harness.ts'

describe('WebSocket and Upgrade pass-through', () => {
  let be: Backend
  let wss: WebSocketServer
  let pf: Running
  beforeAll(async () => {
    be = await startBackend('ws')
    wss = new WebSocketServer({ server: be.server })
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.headers['x-forwarded-for']}`)
      ws.on('message', (data) => ws.send(`echo ${data.toString()}`))
    })
    pf = await startPilotfish(forwardConfig([be.port]))
  })
  afterAll(async () => { await pf.stop(); wss.close(); await be.close() })

  it('echoes messages through the proxy after the 101', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${pf.port}/chat`)
    const got: string[] = []
    await new Promise<void>((resolve, reject) => {
      ws.onmessage = (e) => {
        got.push(String(e.data))
        if (got.length === 1) ws.send('one')
        else if (got.length === 2) ws.send('two')
        else { ws.close(); resolve() }
      }
      ws.onerror = () => reject(new Error('websocket error'))
    })
    expect(got).toEqual(['hello 127.0.0.1', 'echo one', 'echo two'])
  })

  it('does not upgrade when Connection does not list upgrade', async () => {
    const text = await raw(pf.port, 'GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    // The target sees a plain GET (the Upgrade field is hop-by-hop and goes), so it answers it as one.
    expect(statuses(text)).toEqual([200])
    expect(be.seen.at(-1)?.headers.upgrade).toBeUndefined()
  })
})
