// Plugin code reloads roll a new shard generation under load; a blocked shard is replaced by the watchdog.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callJson, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { runInOwnNetns } from './netns.ts'
import { fileURLToPath } from 'node:url'

/** A plugin whose code says which version it is: every response carries x-code. */
const source = (code: string): string => `export default {
  name: 'gen', version: '${code}', configSchema: { type: 'object' },
  setup () { return { onResponse (_req, res) { res.setHeader('x-code', '${code}') } } },
}
`


describe('plugin code reload: a new shard generation, no failed request', () => {
  let dir: string, file: string
  let be: Backend, pf: Running
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pilotfish-reload-'))
    file = join(dir, 'gen.ts')
    writeFileSync(file, source('A'))
    be = await startBackend('be')
    pf = await startPilotfish({ ...forwardConfig([be.port], { plugins: ['gen'] }), plugins: [{ name: 'gen', from: file }] }, 2)
  })
  afterAll(async () => {
    await pf.stop()
    await be.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const code = async (): Promise<string | null> => (await fetch(`http://127.0.0.1:${pf.port}/`)).headers.get('x-code')

  it('POST /v1/plugins/{name}/reload runs the new code in a new generation', async () => {
    expect(await code()).toBe('A')
    writeFileSync(file, source('B'))
    expect(await code()).toBe('A') // a file change alone changes nothing: the running generation keeps its module graph
    const r = await callJson(`${pf.admin}/v1/plugins/gen/reload`, 'POST')
    expect(r).toEqual({ status: 200, body: { generation: 2, configVersion: 2 } })
    // Each kept-alive connection of the old generation answers once more, saying `connection: close`.
    let first = await code()
    for (let i = 0; i < 4 && first === 'A'; i++) first = await code()
    expect(first).toBe('B')
    for (let i = 0; i < 6; i++) expect(await code()).toBe('B')
    expect((await callJson(`${pf.admin}/v1/plugins`)).body.plugins).toEqual([
      { name: 'gen', from: file, version: 'B', generation: 2, state: 'running', lastError: null },
    ])
  })

  it('new code that cannot load leaves the running generation serving, with the reason listed', async () => {
    writeFileSync(file, 'export default { name: "gen", version: "C", configSchema: {}, setup () { throw new Error("setup broke") } }\n')
    const r = await callJson(`${pf.admin}/v1/plugins/gen/reload`, 'POST')
    expect(r.status).toBe(400)
    expect(r.body.message).toMatch(/plugin gen failed in setup: setup broke/)
    writeFileSync(file, 'export default {\n')
    expect((await callJson(`${pf.admin}/v1/plugins/gen/reload`, 'POST')).status).toBe(400)
    const view = (await callJson(`${pf.admin}/v1/plugins`)).body
    expect(view.generation).toBe(2)
    expect(view.plugins[0]).toMatchObject({ version: 'B', state: 'last-change-failed', lastError: expect.stringMatching(/^\/plugins\/0\/from: could not load/) })
    expect(await code()).toBe('B')
    expect((await callJson(`${pf.admin}/v1/plugins/nope/reload`, 'POST')).status).toBe(404)
  })

  it('with watch: true, saving the module reloads it', async () => {
    const cfg = (await callJson(`${pf.admin}/v1/config`)).body
    cfg.plugins[0].watch = true
    writeFileSync(file, source('W1'))
    expect((await callJson(`${pf.admin}/v1/config`, 'PUT', cfg)).status).toBe(200)
    const generation = (await callJson(`${pf.admin}/v1/plugins`)).body.generation
    writeFileSync(`${file}.tmp`, source('W2'))
    renameSync(`${file}.tmp`, file) // as editors save
    let view = (await callJson(`${pf.admin}/v1/plugins`)).body
    for (let i = 0; i < 100 && view.plugins[0].version !== 'W2'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      view = (await callJson(`${pf.admin}/v1/plugins`)).body
    }
    expect(view.plugins[0]).toMatchObject({ version: 'W2', state: 'running', generation: generation + 1 })
    let seen = await code()
    for (let i = 0; i < 4 && seen !== 'W2'; i++) seen = await code()
    expect(seen).toBe('W2')
  })
})

describe('metrics across a reload', () => {
  it("keep counting the requests a retired generation served after its shards exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pilotfish-metrics-'))
    const file = join(dir, 'gen.ts')
    writeFileSync(file, source('M1'))
    const be = await startBackend('be')
    const pf = await startPilotfish({ ...forwardConfig([be.port], { plugins: ['gen'] }), plugins: [{ name: 'gen', from: file }] }, 2)
    const total = async (): Promise<number> => {
      const text = await (await fetch(`${pf.admin}/metrics`)).text()
      return [...text.matchAll(/^pilotfish_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0)
    }
    try {
      for (let i = 0; i < 10; i++) await fetch(`http://127.0.0.1:${pf.port}/`, { headers: { connection: 'close' } }).then((r) => r.text())
      expect(await total()).toBe(10)
      writeFileSync(file, source('M2'))
      expect((await callJson(`${pf.admin}/v1/plugins/gen/reload`, 'POST')).status).toBe(200)
      for (let i = 0; i < 100 && (await callJson(`${pf.admin}/v1/plugins`)).body.retiringShards > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
      expect((await callJson(`${pf.admin}/v1/plugins`)).body.retiringShards).toBe(0)
      expect(await total()).toBe(10) // the old generation's 10, though its shards are gone
      for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${pf.port}/`, { headers: { connection: 'close' } }).then((r) => r.text())
      expect(await total()).toBe(15)
    } finally {
      await pf.stop()
      await be.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('plugin code reloads under load (in a network namespace of the test\'s own)', () => {
  it('20 reloads in 30 s fail no request, answer each from exactly one generation, and keep a WebSocket open', async () => {
    const script = fileURLToPath(new URL('./scenarios/reload-under-load.ts', import.meta.url))
    const run = await runInOwnNetns(script, ['--reloads', '20', '--seconds', '30'], 90_000)
    expect(run.code, run.stderr.slice(-2000)).toBe(0)
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
    const all = JSON.stringify(r) // in every failure message: what the whole run saw
    expect(r.reloadStatuses, all).toEqual(Array(20).fill(200))
    expect(r.generation).toBe(21)
    expect([r.failed, r.errors], all).toEqual([0, []])
    expect(r.ok).toBeGreaterThan(100)
    // x-code is set (not appended) by the generation that answered: one value per response, a loaded one.
    for (const code of Object.keys(r.byCode)) expect(r.loaded).toContain(code)
    expect(r.byCode[r.loaded.at(-1)]).toBeGreaterThan(0)
    expect([r.wsBefore, r.wsAfter]).toEqual(['echo before', 'echo after'])
    expect(r.retiringWhileWsOpen).toBeGreaterThan(0) // the WebSocket's generation waits for it
    expect(r.retiringAtEnd, all).toBe(0) // and exits once it is closed
  }, 120_000)
})

describe('watchdog: a plugin that blocks its shard', () => {
  let be: Backend, pf: Running
  const faulty = fileURLToPath(new URL('./fixtures/plugins/faulty.ts', import.meta.url))
  beforeAll(async () => {
    be = await startBackend('be')
    pf = await startPilotfish({ ...forwardConfig([be.port], { plugins: ['faulty'] }), plugins: [{ name: 'faulty', from: faulty }] }, 2)
  })
  afterAll(async () => { await pf.stop(); await be.close() })

  /** A GET on a new connection (so the kernel picks a shard afresh each time); false if no 200 within 200 ms. */
  const probe = (): Promise<boolean> => new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: pf.port, path: '/', agent: false, timeout: 200 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
  })

  it('gets its shard replaced while the other shard keeps serving', async () => {
    expect((await callJson(`${pf.admin}/v1/status`)).body.shardRestarts).toBe(0) // the admin API is loaded before the clock runs
    const blocked = fetch(`http://127.0.0.1:${pf.port}/`, { headers: { 'x-fault': 'block' } }).then((r) => r.status, () => 0)
    const started = Date.now()
    let servedMeanwhile = 0
    let restarts = 0
    while (restarts === 0 && Date.now() - started < 10_000) {
      // 8 at once: each lands on a shard the kernel picks, so some reach the shard that is not blocked.
      servedMeanwhile += (await Promise.all(Array.from({ length: 8 }, probe))).filter(Boolean).length
      restarts = (await callJson(`${pf.admin}/v1/status`)).body.shardRestarts
    }
    const replacedAfterMs = Date.now() - started
    expect(restarts).toBe(1)
    expect(await blocked).toBe(0) // that request's connection died with its shard
    expect(servedMeanwhile).toBeGreaterThan(0)
    console.log(`watchdog: blocked shard replaced after ${replacedAfterMs} ms; ${servedMeanwhile} requests served meanwhile`)
    for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${pf.port}/`)).status).toBe(200)
  }, 20_000)
})
