import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadPort, startBackend, type Backend } from './harness.ts'
import { listeningPorts, runCli, startCli } from './process.ts'
import { certificate } from './certs.ts'

describe('pilotfish command line', () => {
  let a: Backend
  let b: Backend
  const dir = mkdtempSync(join(tmpdir(), 'pilotfish-cli-'))
  beforeAll(async () => { a = await startBackend('a'); b = await startBackend('b') })
  afterAll(async () => { await a.close(); await b.close() })

  it('proxies round robin across --to targets with `pilotfish proxy`', async () => {
    const port = await deadPort()
    const pf = await startCli(['proxy', '--from', `127.0.0.1:${port}`, '--to', `127.0.0.1:${a.port}`, '--to', `127.0.0.1:${b.port}`, '--shards', '1', '--admin', '127.0.0.1:0'])
    try {
      const names: string[] = []
      for (let i = 0; i < 4; i++) names.push(((await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { name: string }).name)
      expect(names.sort()).toEqual(['a', 'a', 'b', 'b'])
    } finally {
      expect(await pf.stop()).toBe(0)
    }
  })

  it('runs a YAML config with ${ENV} interpolation via `pilotfish run --config`', async () => {
    const port = await deadPort()
    const file = join(dir, 'pilotfish.yaml')
    writeFileSync(file, [
      'admin: { port: 0 }',
      'listeners:',
      '  - name: web',
      '    host: 127.0.0.1',
      '    port: ${WEB_PORT}',
      '    defaultAction: { type: forward, targetGroups: [{ name: app }] }',
      'targetGroups:',
      '  - name: app',
      '    targets: [{ host: 127.0.0.1, port: ${APP_PORT:-1} }]',
    ].join('\n'))
    const pf = await startCli(['run', '--config', file, '--shards', '2'], { WEB_PORT: String(port), APP_PORT: String(b.port) })
    try {
      expect(((await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { name: string }).name).toBe('b')
    } finally {
      await pf.stop()
    }
  })

  it('writes a JSON access log line per request, with the reason for a fault and without the query string', async () => {
    const port = await deadPort()
    const dead = await deadPort()
    // Two dead targets: a refused request is redispatched once, so it fails only when the second refuses too.
    const dead2 = await deadPort()
    const pf = await startCli(['proxy', '--from', `127.0.0.1:${port}`, '--to', `127.0.0.1:${a.port}`, '--to', `127.0.0.1:${dead}`, '--to', `127.0.0.1:${dead2}`, '--shards', '1', '--admin', '127.0.0.1:0', '--access-log'])
    try {
      const statuses = [(await fetch(`http://127.0.0.1:${port}/x?token=hunter2`)).status, (await fetch(`http://127.0.0.1:${port}/y?token=hunter2`)).status]
      expect(statuses.sort()).toEqual([200, 502])
      let lines: Array<Record<string, unknown>> = []
      for (let i = 0; i < 100 && lines.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        lines = pf.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      }
      expect(lines).toHaveLength(2)
      const failed = lines.find((l) => l.status === 502)!
      expect(failed).toMatchObject({ type: 'request', listener: 'proxy', method: 'GET', target_group: 'targets', target: `127.0.0.1:${dead2}`, reason: 'target-connect-failed', retries: 1 })
      expect(pf.stdout()).not.toContain('hunter2')
    } finally {
      await pf.stop()
    }
  })

  it('prints every error with its JSON path and exits 1 with `pilotfish validate`', async () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, [
      'listeners:',
      '  - name: Web',
      '    port: 99999',
      '    defaultAction: { type: forward, targetGroups: [{ name: missing }] }',
      'targetGroups:',
      '  - name: app',
      '    algorithm: fastest',
      '    targets: []',
    ].join('\n'))
    const run = await runCli(['validate', file])
    expect(run.code).toBe(1)
    // Each problem once: the message's first line names the first, the list the rest.
    for (const path of ['/listeners/0/name', '/listeners/0/port', '/targetGroups/0/algorithm']) {
      expect(run.stderr.split(path + ':').length - 1, path).toBe(1)
    }
  })

  it('accepts the shipped example and default configs with `pilotfish validate`', async () => {
    // The example's secrets and certificate come from the environment, as it says.
    const c = certificate(90) // beyond the 30 days the tls plugin warns of: validate then writes nothing
    writeFileSync(join(dir, 'example.pem'), c.cert)
    writeFileSync(join(dir, 'example.key'), c.key)
    const env = { PILOTFISH_STICKY_KEY: 'k'.repeat(32), PILOTFISH_CERT_FILE: join(dir, 'example.pem'), PILOTFISH_KEY_FILE: join(dir, 'example.key') }
    const ok = await runCli(['validate', new URL('../../examples/pilotfish.yaml', import.meta.url).pathname], undefined, env)
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect((await runCli(['validate', new URL('../../sidecar/default-config.yaml', import.meta.url).pathname])).code).toBe(0)
  })

  it('validates stickiness with the built-in\'s schemas: keys required at /stickiness, a group section at its path', async () => {
    const file = join(dir, 'sticky.yaml')
    const config = (group: string, top: string): string => [
      'listeners: [{ name: web, port: 8080, defaultAction: { type: forward, targetGroups: [{ name: app }] } }]',
      `targetGroups: [{ name: app, slowStartSeconds: 60, healthCheck: { path: /health }, stickiness: ${group} }]`,
      top,
    ].join('\n')
    writeFileSync(file, config('{ type: lb_cookie }', ''))
    const noKeys = await runCli(['validate', file])
    expect(noKeys.code).toBe(1)
    expect(noKeys.stderr).toMatch(/\/stickiness\b.*keys/)
    writeFileSync(file, config('{ type: app_cookie }', `stickiness: { keys: ["${'k'.repeat(32)}"] }`))
    const noApp = await runCli(['validate', file])
    expect(noApp.code).toBe(1)
    expect(noApp.stderr).toContain('/targetGroups/0/stickiness')
    expect(noApp.stderr).toContain('appCookieName')
    expect(noApp.stderr).not.toContain('k'.repeat(32))
    writeFileSync(file, config('{ type: lb_cookie, durationSeconds: 60 }', `stickiness: { keys: ["${'k'.repeat(32)}"] }`))
    const ok = await runCli(['validate', file])
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
  })

  it('validates plugins too: their module loads (from a path relative to the config file) and their own config schema', async () => {
    const fixtures = new URL('./fixtures/plugins/', import.meta.url).pathname
    const file = join(dir, 'plugins.yaml')
    writeFileSync(file, [
      'listeners: [{ name: web, port: 8080, plugins: [stamp], defaultAction: { type: fixed-response, statusCode: 200 } }]',
      'plugins:',
      `  - { name: stamp, from: ${join(relative(dir, fixtures), 'stamp.ts')}, config: { value: 7 } }`,
    ].join('\n'))
    const run = await runCli(['validate', file])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('/plugins/0/config/value')
    writeFileSync(file, readFileSync(file, 'utf8').replace('value: 7', 'value: seven'))
    expect((await runCli(['validate', file])).code).toBe(0)
  })

  it('sets plugins up as a shard would with `pilotfish validate`: what they refuse (a health check timeout over its interval, a setup that throws) is an error', async () => {
    const file = join(dir, 'refused.yaml')
    const health = (timeout: number) => writeFileSync(file, [
      'listeners: [{ name: web, port: 8080, defaultAction: { type: forward, targetGroups: [{ name: app }] } }]',
      `targetGroups: [{ name: app, healthCheck: { intervalSeconds: 3, timeoutSeconds: ${timeout} } }]`,
    ].join('\n'))
    health(5)
    const refused = await runCli(['validate', file])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('/targetGroups/0/healthCheck/timeoutSeconds: must not be more than intervalSeconds (3)')
    health(3)
    expect((await runCli(['validate', file])).code).toBe(0)
    writeFileSync(join(dir, 'setup-throws.ts'), "export default { name: 'st', version: '1', configSchema: {}, setup () { throw new Error('no database at db.internal') } }\n")
    writeFileSync(file, [
      'listeners: [{ name: web, port: 8080, plugins: [st], defaultAction: { type: fixed-response, statusCode: 200 } }]',
      'plugins: [{ name: st, from: ./setup-throws.ts }]',
    ].join('\n'))
    const thrown = await runCli(['validate', file])
    expect(thrown.code).toBe(1)
    expect(thrown.stderr).toContain('no database at db.internal')
  })

  it('gives plugins env.counter under `pilotfish validate`, and refuses what a shard would: a core name, or another plugin\'s counter redeclared', async () => {
    const counter = (file: string, name: string, help: string) => writeFileSync(join(dir, file),
      `export default { name: 'c', version: '1', configSchema: {}, setup (_c, env) { env.counter('${name}', '${help}', ['group']).labels('app').inc(); return {} } }\n`)
    const file = join(dir, 'counters.yaml')
    writeFileSync(file, [
      'listeners: [{ name: web, port: 8080, plugins: [c1, c2], defaultAction: { type: fixed-response, statusCode: 200 } }]',
      'plugins: [{ name: c1, from: ./c1.ts }, { name: c2, from: ./c2.ts }]',
    ].join('\n'))
    counter('c1.ts', 'acme_things_total', 'Things')
    counter('c2.ts', 'acme_things_total', 'Things') // the same declaration: shared
    expect((await runCli(['validate', file])).code).toBe(0)
    counter('c2.ts', 'acme_things_total', 'Other things')
    const clash = await runCli(['validate', file])
    expect(clash.code).toBe(1)
    expect(clash.stderr).toContain('plugin c2 failed in setup: plugin counter acme_things_total: it is declared already with help "Things"')
    counter('c2.ts', 'pilotfish_requests_total', 'Things')
    const core = await runCli(['validate', file])
    expect(core.code).toBe(1)
    expect(core.stderr).toContain("plugin counter pilotfish_requests_total: the name is one of the core's metrics")
  })

  it('logs a refused plugin reload, and keeps serving the running version', async () => {
    const port = await deadPort()
    const plugin = join(dir, 'p.ts')
    writeFileSync(plugin, "export default { name: 'p', version: '1', configSchema: {}, setup () { return {} } }\n")
    const file = join(dir, 'reload.yaml')
    writeFileSync(file, [
      'admin: { port: 0 }',
      `listeners: [{ name: web, host: 127.0.0.1, port: ${port}, plugins: [p], defaultAction: { type: fixed-response, statusCode: 200, body: ok } }]`,
      'plugins: [{ name: p, from: ./p.ts }]',
    ].join('\n'))
    const pf = await startCli(['run', '--config', file, '--shards', '1'])
    try {
      const admin = /admin API on (http:\/\/[^\s;]+)/.exec(pf.stderr())![1]
      writeFileSync(plugin, 'export default {\n')
      expect((await fetch(`${admin}/v1/plugins/p/reload`, { method: 'POST' })).status).toBe(400)
      expect(pf.stderr()).toMatch(/pilotfish: plugin p: change refused, the running version stays: \/plugins\/0\/from: could not load/)
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok')
    } finally {
      await pf.stop()
    }
  })

  it('a second sidecar on the same admin address stops, saying it is the admin API and what to do', async () => {
    const admin = await deadPort()
    const env = { PILOTFISH_ADMIN: `127.0.0.1:${admin}` } // as two sidecars on the default 127.0.0.1:9901 would be
    const first = await startCli(['proxy', '--from', `127.0.0.1:${await deadPort()}`, '--to', `127.0.0.1:${a.port}`, '--shards', '1'], env)
    try {
      expect(first.stderr()).toContain(`admin API on http://127.0.0.1:${admin}`)
      const second = await runCli(['proxy', '--from', `127.0.0.1:${await deadPort()}`, '--to', `127.0.0.1:${a.port}`, '--shards', '1'], 15_000, env)
      expect(second.code).toBe(1)
      const lines = second.stderr.split('\n').filter((l) => l.includes('EADDRINUSE'))
      expect(lines).toHaveLength(1) // once, not twice
      expect(lines[0]).toContain(`the admin API could not bind 127.0.0.1:${admin}`)
      expect(lines[0]).toContain("That is the admin API's address")
      for (const way of ['--admin HOST:PORT', 'PILOTFISH_ADMIN=HOST:PORT', '--admin off']) expect(lines[0]).toContain(way)
      // Told its own address, it runs beside the first.
      const own = await deadPort()
      const beside = await startCli(['proxy', '--from', `127.0.0.1:${await deadPort()}`, '--to', `127.0.0.1:${a.port}`, '--shards', '1', '--admin', `127.0.0.1:${own}`], env)
      expect((await fetch(`http://127.0.0.1:${own}/v1/status`)).status).toBe(200)
      expect(await beside.stop()).toBe(0)
    } finally {
      await first.stop()
    }
  })

  it('runs without an admin socket with `--admin off` (proxy) and PILOTFISH_ADMIN=off (run)', async () => {
    const port = await deadPort()
    const off = await startCli(['proxy', '--from', `127.0.0.1:${port}`, '--to', `127.0.0.1:${a.port}`, '--shards', '2', '--admin', 'off'])
    try {
      expect(off.stderr()).toContain('admin API off')
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200)
      expect(listeningPorts(off.child.pid!)).toEqual(new Set([port])) // the listener (both shards'), nothing else
    } finally {
      expect(await off.stop()).toBe(0)
    }
    const file = join(dir, 'no-admin.yaml')
    const web = await deadPort()
    writeFileSync(file, `listeners: [{ name: web, host: 127.0.0.1, port: ${web}, defaultAction: { type: fixed-response, statusCode: 200, body: up } }]\n`)
    const run = await startCli(['run', '--config', file, '--shards', '1'], { PILOTFISH_ADMIN: 'off' })
    try {
      expect(await (await fetch(`http://127.0.0.1:${web}/`)).text()).toBe('up')
      expect(listeningPorts(run.child.pid!)).toEqual(new Set([web]))
    } finally {
      await run.stop()
    }
  })

  it('explains usage and exits 2 without a command', async () => {
    const run = await runCli([])
    expect(run.code).toBe(2)
    expect(run.stdout).toContain('pilotfish proxy --from')
  })
})
