import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { forwardConfig, startPilotfish, type Running } from './harness.ts'
import { sleep } from './load.ts'

/** A target that counts its connections and notices when Pilotfish closes one. */
async function countingTarget (): Promise<{ port: number, opened: () => number, open: () => number, close: () => void }> {
  const sockets = new Set<Socket>()
  let opened = 0
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (_req, res) => res.end('ok'))
  server.on('connection', (s: Socket) => { opened++; sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, opened: () => opened, open: () => sockets.size, close: () => { server.closeAllConnections(); server.close() } }
}

describe('keep-alive pool to targets', () => {
  let pf: Running | null = null
  let close: (() => void) | null = null
  afterEach(async () => { await pf?.stop(); close?.() })

  it('reuses one target connection for sequential requests', async () => {
    const t = await countingTarget()
    close = t.close
    pf = await startPilotfish(forwardConfig([t.port]))
    for (let i = 0; i < 10; i++) expect(await (await fetch(`http://127.0.0.1:${pf.port}/`)).text()).toBe('ok')
    expect(t.opened()).toBe(1)
  })

  it('closes an idle target connection after keepAliveTimeoutSeconds and opens a fresh one next time', async () => {
    const t = await countingTarget()
    close = t.close
    pf = await startPilotfish(forwardConfig([t.port], {}, { keepAliveTimeoutSeconds: 0.3 }))
    expect(await (await fetch(`http://127.0.0.1:${pf.port}/`)).text()).toBe('ok')
    for (let i = 0; i < 100 && t.open() > 0; i++) await sleep(20)
    expect(t.open()).toBe(0)
    expect(await (await fetch(`http://127.0.0.1:${pf.port}/`)).text()).toBe('ok')
    expect(t.opened()).toBe(2)
  })
})
