// Loading config files: YAML and JSON, ${ENV} interpolation, parse errors with positions, the shipped files.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PilotfishError } from '../../../core/errors.ts'
import { defaultConfigPath, interpolate, loadConfigFile, parseConfigText } from '../../../sidecar/control-plane/config-load.ts'
import { RuleTable } from '../../../core/rule/rule-table.ts'
import type { FixedResponseAction } from '../../../core/rule/rule-table.ts'

const yamlConfig = `
listeners:
  - name: web
    port: \${PORT:-8080}
    defaultAction: { type: fixed-response, statusCode: 200, body: hello }
`

const errorOf = (f: () => unknown): PilotfishError => {
  try { f() } catch (err) { return err as PilotfishError }
  throw new Error('expected a throw')
}

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'pilotfish-config-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('loading config files', () => {
  it('loads YAML', async () => {
    const path = join(dir, 'a.yaml')
    await writeFile(path, yamlConfig)
    const c = await loadConfigFile(path, {})
    expect(c.listeners[0]).toMatchObject({ name: 'web', port: 8080, idleTimeoutSeconds: 60 })
  })

  it('loads JSON, including an unquoted ${…} number', async () => {
    const path = join(dir, 'a.json')
    await writeFile(path, JSON.stringify({
      listeners: [{ name: 'web', port: 1, defaultAction: { type: 'fixed-response', statusCode: 204 } }],
    }).replace('"port":1', '"port":${PORT}'))
    const c = await loadConfigFile(path, { PORT: '9090' })
    expect(c.listeners[0]!.port).toBe(9090)
  })

  it('reports a missing file as PF_ERR_CONFIG_READ naming it', async () => {
    const path = join(dir, 'absent.yaml')
    await expect(loadConfigFile(path, {})).rejects.toMatchObject({ code: 'PF_ERR_CONFIG_READ', message: expect.stringContaining(path) })
  })

  it('validates what it parsed (PF_ERR_CONFIG_INVALID with JSON paths)', () => {
    const err = errorOf(() => parseConfigText('listeners: [{ name: web, port: 99999 }]', 'x.yaml', {}))
    expect(err.code).toBe('PF_ERR_CONFIG_INVALID')
    expect(err.problems.map((p) => p.path)).toEqual(['/listeners/0/defaultAction', '/listeners/0/port'])
  })
})

describe('YAML parsing', () => {
  it('rejects an empty file as an invalid config (the document must be an object)', () => {
    const err = errorOf(() => parseConfigText('# nothing here\n', 'empty.yaml', {}))
    expect(err.code).toBe('PF_ERR_CONFIG_INVALID')
    expect(err.problems).toEqual([{ path: '', message: 'must be object' }])
  })

  it.each([
    { desc: 'a duplicate key', text: 'listeners: []\nlisteners: []\n', line: 2, col: 1, message: /unique/ },
    { desc: 'an unclosed quote', text: 'admin:\n  host: "x', line: 2, col: 11, message: /quote/ }, // where the closing quote is missing
    { desc: 'a tab used for indentation', text: 'admin:\n\thost: x\n', line: 2, col: 1, message: /./ },
    { desc: 'two documents in one file', text: 'a: 1\n---\nb: 2\n', line: 2, col: 1, message: /multiple documents/ },
  ])('reports $desc as PF_ERR_CONFIG_PARSE with line and column', ({ text, line, col, message }) => {
    const err = errorOf(() => parseConfigText(text, 'cfg.yaml', {}))
    expect(err.code).toBe('PF_ERR_CONFIG_PARSE')
    expect(err.message).toContain('cfg.yaml')
    expect(err.problems[0]!.path).toBe(`cfg.yaml:${line}:${col}`)
    expect(err.problems[0]!.message).toMatch(message)
  })

  it('reads YAML 1.2 scalars: "on" and "yes" stay strings', () => {
    const err = errorOf(() => parseConfigText(yamlConfig + '    accessLog: yes\n', 'c.yaml', {}))
    expect(err.problems).toEqual([{ path: '/listeners/0/accessLog', message: 'must be boolean' }])
  })
})

describe('environment interpolation', () => {
  it.each<{ desc: string, text: string, env: Record<string, string>, expected: string }>([
    { desc: 'substitutes a set variable', text: 'port: ${PORT}', env: { PORT: '81' }, expected: 'port: 81' },
    { desc: 'uses the default when unset', text: 'port: ${PORT:-8080}', env: {}, expected: 'port: 8080' },
    { desc: 'uses the default when set but empty (POSIX :-)', text: 'port: ${PORT:-8080}', env: { PORT: '' }, expected: 'port: 8080' },
    { desc: 'prefers the value over the default', text: 'port: ${PORT:-8080}', env: { PORT: '9' }, expected: 'port: 9' },
    { desc: 'allows an empty default', text: 'x: "${X:-}"', env: {}, expected: 'x: ""' },
    { desc: 'a default may hold ":" and spaces', text: 'h: ${H:-a b:c}', env: {}, expected: 'h: a b:c' },
    { desc: 'substitutes inside quotes and words', text: 'h: "pre-${A}-post"', env: { A: 'x' }, expected: 'h: "pre-x-post"' },
    { desc: '$${ writes a literal ${', text: 'body: "$${NOT_A_VAR}"', env: {}, expected: 'body: "${NOT_A_VAR}"' },
    { desc: 'a lone $ is kept', text: 'body: "$5 and $ {x}"', env: {}, expected: 'body: "$5 and $ {x}"' },
    { desc: 'comments are left alone', text: 'a: 1 # needs ${UNSET}\n# token: ${ALSO_UNSET}\nb: ${B}', env: { B: '2' }, expected: 'a: 1 # needs ${UNSET}\n# token: ${ALSO_UNSET}\nb: 2' },
    { desc: 'a # inside quotes is not a comment', text: 'body: "a #${X}"', env: { X: 'y' }, expected: 'body: "a #y"' },
    { desc: 'an apostrophe inside a word does not open a quote', text: "body: don't # ${UNSET}", env: {}, expected: "body: don't # ${UNSET}" },
  ])('$desc', ({ text, env, expected }) => {
    expect(interpolate(text, 'c.yaml', env)).toBe(expected)
  })

  it('makes an interpolated number a number (textual, before parsing)', () => {
    expect(parseConfigText(yamlConfig, 'c.yaml', { PORT: '7000' }).listeners[0]!.port).toBe(7000)
  })

  it('names every unset variable without default, with its position (PF_ERR_CONFIG_ENV)', () => {
    const err = errorOf(() => interpolate('a: ${FIRST}\nb: ${SECOND:-ok}\nc:  ${THIRD}\n', 'c.yaml', {}))
    expect(err.code).toBe('PF_ERR_CONFIG_ENV')
    expect(err.message).toBe('config references ${FIRST}, which is not set and has no default')
    expect(err.problems).toEqual([
      { path: 'c.yaml:1:4', message: '${FIRST} is not set and has no default' },
      { path: 'c.yaml:3:5', message: '${THIRD} is not set and has no default' },
    ])
  })

  it('rejects a malformed ${…} as PF_ERR_CONFIG_PARSE', () => {
    const err = errorOf(() => interpolate('a: ${not valid}', 'c.yaml', {}))
    expect(err.code).toBe('PF_ERR_CONFIG_PARSE')
    expect(err.problems[0]!.path).toBe('c.yaml:1:4')
  })

  it('reads process.env when no env is given', () => {
    process.env.PILOTFISH_TEST_VAR = 'from-process'
    try {
      expect(parseConfigText(yamlConfig.replace('hello', '${PILOTFISH_TEST_VAR}'), 'c').listeners[0]!.defaultAction)
        .toMatchObject({ body: 'from-process' })
    } finally {
      delete process.env.PILOTFISH_TEST_VAR
    }
  })
})

describe('shipped config files', () => {
  it('the default config validates and answers GET /pilotfish/ping with 200 "pong"', async () => {
    const c = await loadConfigFile(defaultConfigPath, {})
    const main = c.listeners[0]!
    expect(main).toMatchObject({ name: 'main', host: '0.0.0.0', port: 8080, accessLog: true })
    expect(main.defaultAction).toEqual({ type: 'forward', targetGroups: [{ name: 'app', weight: 1 }] })
    expect(c.targetGroups).toMatchObject([{ name: 'app', targets: [{ host: '127.0.0.1', port: 3000, weight: 1 }] }])
    const ctx = {
      method: 'GET', path: '/pilotfish/ping', query: '', host: 'localhost:8080', clientIp: '127.0.0.1', clientPort: 1,
      protocol: 'http', listenerPort: 8080, header: () => undefined,
    }
    const action = new RuleTable(main).match(ctx).action as FixedResponseAction
    expect(action.statusCode).toBe(200)
    expect(action.body.toString()).toBe('pong')
    expect(new RuleTable(main).match({ ...ctx, path: '/' }).action.type).toBe('forward')
  })

  it('the default config takes its addresses from PILOTFISH_* variables', async () => {
    const c = await loadConfigFile(defaultConfigPath, {
      PILOTFISH_HOST: '127.0.0.1', PILOTFISH_PORT: '15001', PILOTFISH_APP_HOST: '::1', PILOTFISH_APP_PORT: '8000',
    })
    expect(c.listeners[0]).toMatchObject({ host: '127.0.0.1', port: 15001 })
    expect(c.targetGroups[0]!.targets).toEqual([{ host: '::1', port: 8000, weight: 1 }])
  })

  it('examples/pilotfish.yaml validates and uses every condition and action', async () => {
    const c = await loadConfigFile(new URL('../../../examples/pilotfish.yaml', import.meta.url).pathname, {
      PILOTFISH_STICKY_KEY: 'k'.repeat(32), PILOTFISH_CERT_FILE: 'cert.pem', PILOTFISH_KEY_FILE: 'key.pem',
    })
    const conditions = new Set(c.listeners.flatMap((l) => l.rules.flatMap((r) => Object.keys(r.conditions))))
    expect([...conditions].sort()).toEqual(['headers', 'host', 'method', 'path', 'pathRegex', 'query', 'sourceIp'])
    const actions = new Set(c.listeners.flatMap((l) => [l.defaultAction, ...l.rules.map((r) => r.action)]).map((a) => a.type))
    expect([...actions].sort()).toEqual(['fixed-response', 'forward', 'redirect'])
    expect(new Set(c.targetGroups.map((g) => g.algorithm)).size).toBe(4)
  })
})
