import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadPort } from './harness.ts'
import { peakRss, startCli } from './process.ts'

const GiB = 1024 * 1024 * 1024
const CHUNK = Buffer.alloc(256 * 1024, 'x')

/** Bodies stream both ways: 1 GiB each way through a Pilotfish process whose peak memory stays bounded. */
describe('streaming large bodies with bounded memory', () => {
  let backend: http.Server
  let port: number
  let pf: Awaited<ReturnType<typeof startCli>>
  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      if (req.method === 'POST') {
        let n = 0
        req.on('data', (c: Buffer) => { n += c.length })
        req.on('end', () => res.end(String(n)))
        return
      }
      res.writeHead(200, { 'content-length': String(GiB) })
      let sent = 0
      const pump = (): void => {
        while (sent < GiB) {
          sent += CHUNK.length
          if (!res.write(CHUNK)) return void res.once('drain', pump)
        }
        res.end()
      }
      pump()
    })
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
    port = await deadPort()
    pf = await startCli(['proxy', '--from', `127.0.0.1:${port}`, '--to', `127.0.0.1:${(backend.address() as AddressInfo).port}`, '--shards', '1', '--admin', '127.0.0.1:0'])
  })
  afterAll(async () => { await pf.stop(); backend.close() })

  it('uploads 1 GiB (chunked) to the target without buffering it', async () => {
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/up' }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => { body += c.toString() })
        res.on('end', () => resolve(body))
      })
      req.on('error', reject)
      let sent = 0
      const pump = (): void => {
        while (sent < GiB) {
          sent += CHUNK.length
          if (!req.write(CHUNK)) return void req.once('drain', pump)
        }
        req.end()
      }
      pump()
    })
    expect(Number(received)).toBe(GiB)
    // 1 GiB through a proxy that buffered would need > 1 GiB; a streaming one stays near its idle size.
    expect(peakRss(pf.child.pid!)).toBeLessThan(256 * 1024 * 1024)
  })

  it('downloads 1 GiB (Content-Length) from the target without buffering it', async () => {
    const got = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/down' }, (res) => {
        let n = 0
        res.on('data', (c: Buffer) => { n += c.length })
        res.on('end', () => resolve(n))
        res.on('error', reject)
      }).on('error', reject)
    })
    expect(got).toBe(GiB)
    expect(peakRss(pf.child.pid!)).toBeLessThan(256 * 1024 * 1024)
  })
})
