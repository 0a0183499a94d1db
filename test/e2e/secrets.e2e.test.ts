// Secrets never leave: admin.token and plugin config values marked writeOnly are "(redacted)" in every admin
// reply and log line, and a "(redacted)" sent back keeps the running value.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadPort, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { startCli } from './process.ts'

const PLUGIN = new URL('./fixtures/plugins/secret-key.ts', import.meta.url).pathname
const TOKEN = 'tok-SECRET-admin'
const SECRETS = [TOKEN, 'key-SECRET-one', 'inner-SECRET-two', 'list-SECRET-three']
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const dir = mkdtempSync(join(tmpdir(), 'pilotfish-secrets-'))
const failFlag = join(dir, 'fail-now')

function pluginEntry (config: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'secret',
    from: PLUGIN,
    config: { key: 'key-SECRET-one', nested: { inner: 'inner-SECRET-two', visible: 'shown' }, keys: ['list-SECRET-three'], failIfExists: failFlag, ...config },
  }
}

const expectNoSecret = (text: string): void => { for (const s of SECRETS) expect(text).not.toContain(s) }

describe('secrets in admin replies', () => {
  let be: Backend
  let pf: Running
  const call = (path: string, method = 'GET', body?: unknown, token = TOKEN) => fetch(`${pf.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  beforeAll(async () => {
    be = await startBackend()
    pf = await startPilotfish({
      ...forwardConfig([be.port], { plugins: ['secret'] }),
      admin: { host: '127.0.0.1', port: 0, token: TOKEN },
      plugins: [pluginEntry()],
    })
  })
  afterAll(async () => { await pf.stop(); await be.close(); rmSync(dir, { recursive: true, force: true }) })

  it('GET /v1/config shows "(redacted)" for admin.token and each writeOnly value, nested and in lists, and the rest as is', async () => {
    const text = await (await call('/v1/config')).text()
    expectNoSecret(text)
    const config = JSON.parse(text)
    expect(config.admin.token).toBe('(redacted)')
    expect(config.plugins[0].config).toEqual({
      key: '(redacted)', nested: { inner: '(redacted)', visible: 'shown' }, keys: ['(redacted)'], label: 'plain', failIfExists: failFlag,
    })
  })

  it('keeps every secret when GET /v1/config comes back edited in a PUT: the plugin still hashes the same key', async () => {
    const config = await (await call('/v1/config')).json() as { plugins: Array<{ config: Record<string, unknown> }> }
    config.plugins[0]!.config.label = 'edited'
    const put = await call('/v1/config', 'PUT', config)
    expect(put.status).toBe(200)
    const res = await fetch(`http://127.0.0.1:${pf.port}/`)
    expect(res.headers.get('x-label')).toBe('edited') // the change applied…
    expect(res.headers.get('x-key-hash')).toBe(sha('key-SECRET-one')) // …with the running key, not "(redacted)"
    expect((await call('/v1/status')).status).toBe(200) // and the token still authenticates
    expect(pf.sidecar.controlPlane.config.plugins[0]!.config).toMatchObject({ nested: { inner: 'inner-SECRET-two' }, keys: ['list-SECRET-three'] })
  })

  it('never echoes a secret, old or new, in a refused PUT: a setup error quoting the key is redacted', async () => {
    writeFileSync(failFlag, '')
    try {
      const running = await (await call('/v1/config')).json() as Record<string, unknown>
      const res = await call('/v1/config', 'PUT', { ...running, plugins: [pluginEntry({ key: 'key-SECRET-new-one' })] })
      const text = await res.text()
      expect(res.status).toBe(400)
      expect(JSON.parse(text).code).toBe('PF_ERR_PLUGIN_REFUSED')
      expect(text).toContain('refusing key (redacted)')
      expectNoSecret(text)
      expect(text).not.toContain('key-SECRET-new-one')
    } finally {
      rmSync(failFlag, { force: true })
    }
    expect((await fetch(`http://127.0.0.1:${pf.port}/`)).headers.get('x-key-hash')).toBe(sha('key-SECRET-one'))
  })

  it('redacts a refused reload\'s reason in its reply and in GET /v1/plugins', async () => {
    writeFileSync(failFlag, '')
    try {
      const reload = await (await call('/v1/plugins/secret/reload', 'POST')).text()
      expect(reload).toContain('(redacted)')
      expectNoSecret(reload)
      const plugins = await (await call('/v1/plugins')).text()
      expect(JSON.parse(plugins).plugins[0]).toMatchObject({ state: 'last-change-failed', lastError: expect.stringContaining('refusing key (redacted)') })
      expectNoSecret(plugins)
    } finally {
      rmSync(failFlag, { force: true })
    }
  })

  it('refuses a "(redacted)" that has no running value to stand for', async () => {
    const running = await (await call('/v1/config')).json() as { plugins: unknown[] }
    const res = await call('/v1/config', 'PUT', { ...running, plugins: [...running.plugins, { ...pluginEntry({ key: '(redacted)' }), name: 'another' }] })
    const body = await res.json() as { code: string, problems: Array<{ path: string }> }
    expect([res.status, body.code]).toEqual([400, 'PF_ERR_CONFIG_INVALID'])
    expect(body.problems.map((p) => p.path)).toEqual(['/plugins/1/config/key'])
  })
})

describe('secrets in log lines', () => {
  it('writes a plugin\'s failing hook and a refused reload to stderr with its secrets redacted', async () => {
    const be = await startBackend()
    const port = await deadPort()
    const file = join(mkdtempSync(join(tmpdir(), 'pilotfish-secrets-log-')), 'pilotfish.json')
    const flag = `${file}.fail`
    writeFileSync(file, JSON.stringify({
      admin: { host: '127.0.0.1', port: 0, token: TOKEN },
      ...forwardConfig([be.port], { port, plugins: ['secret'] }),
      plugins: [{ ...pluginEntry(), config: { ...pluginEntry().config as object, failIfExists: flag } }],
    }))
    const pf = await startCli(['run', '--config', file, '--shards', '1'])
    try {
      expect((await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-throw': '1' } })).status).toBe(500)
      expect((await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-stray': '1' } })).status).toBe(200)
      const admin = /admin API on (http:\/\/[^\s;]+)/.exec(pf.stderr())![1]
      writeFileSync(flag, '')
      expect((await fetch(`${admin}/v1/plugins/secret/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(400)
      for (let i = 0; i < 100 && !(/bad key/.test(pf.stderr()) && /stray key/.test(pf.stderr())); i++) await new Promise((resolve) => setTimeout(resolve, 20))
      const log = pf.stderr()
      expect(log).toContain('bad key (redacted) and (redacted)') // the hook's error, as the shard logged it
      expect(log).toMatch(/plugin secret: change refused.*refusing key \(redacted\)/)
      expect(log).toContain('stray key (redacted)')
      expectNoSecret(log)
      expectNoSecret(pf.stdout())
    } finally {
      await pf.stop()
      await be.close()
    }
  })
})
