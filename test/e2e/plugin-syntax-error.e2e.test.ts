// A plugin module with a syntax error is refused with its file:line:column, wherever the config meets it:
// `pilotfish validate`, PUT /v1/config and a code reload. TypeScript errors come from Node's type stripper,
// JavaScript ones from V8, which gives no position for an ES module on its own.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callJson, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'
import { runCli } from './process.ts'

const GOOD = "export default { name: 'p', version: '1', configSchema: { type: 'object' }, setup () { return {} } }\n"
/** A TypeScript syntax error: no "," before configSchema, at line 3, column 3. */
const BAD_TS = [
  'export default {',
  "  name: 'p', version: '1', setup () { return {} }",
  '  configSchema: {},',
  '}',
  '',
].join('\n')
/** Valid TypeScript whose JavaScript V8 refuses: the second `let x`, line 3, column 36. */
const BAD_JS = [
  'const greeting: string = "hi"',
  "export default { name: 'p', version: '1', configSchema: { type: 'object' },",
  '  setup () { let x = greeting; let x = 2; return {} } }',
  '',
].join('\n')

describe('a plugin with a syntax error', () => {
  let dir: string
  let be: Backend, pf: Running
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pilotfish-syntax-'))
    writeFileSync(join(dir, 'good.ts'), GOOD)
    writeFileSync(join(dir, 'bad-ts.ts'), BAD_TS)
    writeFileSync(join(dir, 'bad-js.ts'), BAD_JS)
    writeFileSync(join(dir, 'bad.mjs'), 'export default { setup () { return 1 +* 2 } }\n')
    writeFileSync(join(dir, 'imports-bad.ts'), "import './bad-ts.ts'\n" + GOOD)
    be = await startBackend('be')
    pf = await startPilotfish({ ...forwardConfig([be.port], { plugins: ['p'] }), plugins: [{ name: 'p', from: join(dir, 'good.ts') }] })
  })
  afterAll(async () => {
    await pf.stop()
    await be.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const validate = async (module: string): Promise<string> => {
    const config = join(dir, `${module}.yaml`)
    writeFileSync(config, [
      'plugins: [{ name: p, from: ./' + module + ' }]',
      'listeners: [{ name: web, port: 8080, plugins: [p], defaultAction: { type: fixed-response, statusCode: 200 } }]',
    ].join('\n'))
    const r = await runCli(['validate', config])
    expect(r.code).toBe(1)
    expect(r.stderr).not.toContain('ExperimentalWarning') // the type stripper's, silenced where it is called
    return r.stderr
  }

  it.each([
    { module: 'bad-ts.ts', where: "bad-ts.ts:3:3: Expected ',', got 'ident'" },
    { module: 'bad-js.ts', where: "bad-js.ts:3:36: Identifier 'x' has already been declared" },
    { module: 'bad.mjs', where: "bad.mjs:1:39: Unexpected token '*'" },
  ])('`pilotfish validate` names $where', async ({ module, where }) => {
    expect(await validate(module)).toContain(`/plugins/0/from: could not load: ${join(dir, where)}`)
  })

  it('names the imported file that holds the error, not the plugin that imports it', async () => {
    expect(await validate('imports-bad.ts')).toContain(`could not load: ${join(dir, 'bad-ts.ts')}:3:3: Expected ',', got 'ident'`)
  })

  it('PUT /v1/config answers 400 with the position, and the running config stays', async () => {
    const cfg = (await callJson(`${pf.admin}/v1/config`)).body
    cfg.plugins[0].from = join(dir, 'bad-js.ts')
    const r = await callJson(`${pf.admin}/v1/config`, 'PUT', cfg)
    expect(r.status).toBe(400)
    expect(r.body.problems).toContainEqual({ path: '/plugins/0/from', message: `could not load: ${join(dir, 'bad-js.ts')}:3:36: Identifier 'x' has already been declared` })
    expect((await fetch(`http://127.0.0.1:${pf.port}/`)).status).toBe(200)
  })

  it('a reload of code that no longer parses is refused with the position, kept in GET /v1/plugins', async () => {
    writeFileSync(join(dir, 'good.ts'), BAD_TS)
    const r = await callJson(`${pf.admin}/v1/plugins/p/reload`, 'POST')
    expect(r.status).toBe(400)
    const where = `${join(dir, 'good.ts')}:3:3: Expected ',', got 'ident'`
    expect(JSON.stringify(r.body)).toContain(where)
    expect((await callJson(`${pf.admin}/v1/plugins`)).body.plugins[0].lastError).toBe(`/plugins/0/from: could not load: ${where}`)
  })
})
