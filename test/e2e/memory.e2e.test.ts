// A sidecar gives a burst's memory back: after large uploads and downloads its RSS returns close to idle.
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCli } from './process.ts'

const MiB = 1024 * 1024
/** Each way. Big enough that V8's own GC schedule lets ~64 MiB of dead Buffers pile up in a shard. */
const BURST = 256 * MiB
/**
 * How close to idle it must come back. Measured (docs/design-notes.md, "Memory"): ≈ +25–35 MiB with the reclaimer
 * (16 MiB scavenge step), ≈ +78 MiB without it (this test fails on the code before it).
 */
const BOUND = 50 * MiB
/** How long it may take: the full GC comes within ~2 s of the burst's end; the rest is generosity for CI. */
const WITHIN_MS = 20_000
const CHUNK = Buffer.alloc(64 * 1024, 'p')

function rss (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
  return Number(m?.[1] ?? 0) * 1024
}

function source (bytes: number): Readable {
  let left = bytes
  return new Readable({
    read () {
      if (left <= 0) return void this.push(null)
      const c = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
      left -= c.length
      this.push(c)
    },
  })
}

/** Streams both ways, never buffering a body: resolves with the bytes the other side counted. */
function request (port: number, method: 'PUT' | 'GET', agent: http.Agent, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = method === 'PUT' ? { 'content-length': bytes } : {}
    const req = http.request({ host: '127.0.0.1', port, method, path: '/', agent, headers }, (res) => {
      let n = 0
      let text = ''
      res.on('data', (c: Buffer) => { n += c.length; if (method === 'PUT') text += c.toString() })
      res.on('end', () => resolve(method === 'PUT' ? Number(text) : n))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (method === 'PUT') pipeline(source(bytes), req).catch(reject)
    else req.end()
  })
}

describe('memory after a burst', () => {
  let target: http.Server
  let sidecar: Awaited<ReturnType<typeof startCli>>
  let port = 0

  beforeAll(async () => {
    target = http.createServer((req, res) => {
      if (req.method === 'PUT') {
        let n = 0
        req.on('data', (c: Buffer) => { n += c.length })
        req.on('end', () => res.end(String(n)))
        return
      }
      res.writeHead(200, { 'content-length': BURST })
      pipeline(source(BURST), res).catch(() => {})
    })
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
    const tport = (target.address() as { port: number }).port
    sidecar = await startCli(['proxy', '--from', '127.0.0.1:0', '--to', `127.0.0.1:${tport}`, '--shards', '2', '--admin', '127.0.0.1:0'])
    port = Number(/listener proxy on [^\s]+:(\d+)/.exec(sidecar.stderr())?.[1])
  })

  afterAll(async () => {
    await sidecar?.stop()
    await new Promise<void>((resolve) => target.close(() => resolve()))
  })

  it(`returns within ${BOUND / MiB} MiB of its idle RSS after ${BURST / MiB} MiB up and down`, { timeout: 90_000 }, async () => {
    const pid = sidecar.child.pid!
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    expect(await request(port, 'PUT', agent, 1000)).toBe(1000) // every code path the burst takes, once
    await sleep(2000)
    const idle = rss(pid)

    let peak = idle
    const poll = setInterval(() => { peak = Math.max(peak, rss(pid)) }, 100)
    expect(await request(port, 'PUT', agent, BURST)).toBe(BURST)
    expect(await request(port, 'GET', agent, BURST)).toBe(BURST)
    clearInterval(poll)
    agent.destroy()

    const deadline = Date.now() + WITHIN_MS
    let now = rss(pid)
    while (now > idle + BOUND && Date.now() < deadline) {
      await sleep(500)
      now = rss(pid)
    }
    const report = `idle ${(idle / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)}, then ${(now / MiB).toFixed(1)}`
    expect(now, report).toBeLessThanOrEqual(idle + BOUND)
  })
})
