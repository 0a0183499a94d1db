// The plugin with its real probe task (run in the test's thread, as the harness runs tasks) against real
// targets on 127.0.0.1: a sidecar that starts serves a live target after one probe and keeps a dead one out.
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { deadPort } from '../../e2e/harness.ts'
import probe from '../../../plugins/health-check/probe.task.ts'
import { Driver, section } from './driver.ts'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
})

async function listen (s: net.Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => { if ('closeAllConnections' in s) (s as http.Server).closeAllConnections(); s.close(() => resolve()) }))
  return (s.address() as AddressInfo).port
}

async function until (check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('the plugin with the real probe task', () => {
  it('gives a verdict on each configured target within one probe of starting', async () => {
    const paths: string[] = []
    const live = await listen(http.createServer((req, res) => { paths.push(req.url!); res.end(req.url === '/health' ? 'ok' : 'no') }))
    const sick = await listen(http.createServer((_req, res) => { res.statusCode = 503; res.end() }))
    const dead = await deadPort()
    const d = new Driver({ shards: 2, probe })
    closers.push(() => d.close())
    const started = Date.now()
    await d.start([{
      name: 'api',
      targets: [{ host: '127.0.0.1', port: live }, { host: '127.0.0.1', port: sick }, { host: '127.0.0.1', port: dead }],
      config: section({ healthCheck: { intervalSeconds: 10, timeoutSeconds: 2, path: '/health' } }),
    }])
    await until(() => d.eligible('api', 1).length === 1)
    expect(Date.now() - started).toBeLessThan(3000) // not healthyThresholdCount (5) × interval (10 s)
    expect(d.states('api')).toEqual({
      [`127.0.0.1:${live}`]: 'healthy',
      [`127.0.0.1:${sick}`]: 'unhealthy Target.ResponseCodeMismatch',
      [`127.0.0.1:${dead}`]: 'unhealthy Target.ConnectionRefused',
    })
    expect(d.eligible('api', 0)).toEqual([`127.0.0.1:${live}`])
    expect(paths).toEqual(['/health'])
  })

  it('probes a tcp check on the configured port instead of the traffic port', async () => {
    const tcp = await listen(net.createServer((s) => s.end()))
    const dead = await deadPort()
    const d = new Driver({ probe })
    closers.push(() => d.close())
    await d.start([{
      name: 'db',
      targets: [{ host: '127.0.0.1', port: dead }],
      config: section({ healthCheck: { protocol: 'tcp', port: tcp, intervalSeconds: 10, timeoutSeconds: 2 } }),
    }])
    await until(() => d.reports.length === 2)
    expect(d.states('db')).toEqual({ [`127.0.0.1:${dead}`]: 'healthy' })
    expect(d.probes[0]).toMatchObject({ protocol: 'tcp', port: tcp })
  })
})
