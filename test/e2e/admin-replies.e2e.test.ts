// Every admin reply, taken from a running sidecar, against the schema its TypeScript type comes from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ajv } from '../../schemas/compile.ts'
import {
  changeReplySchema, errorReplySchema, pluginsReplySchema, reloadReplySchema, statusReplySchema, targetGroupStatusSchema,
  targetGroupsReplySchema,
} from '../../schemas/admin.schema.ts'
import { sidecarSchema } from '../../schemas/sidecar.schema.ts'
import { callJson, forwardConfig, startBackend, startPilotfish, type Backend, type Running } from './harness.ts'

const STAMP = new URL('./fixtures/plugins/stamp.ts', import.meta.url).pathname

function expectValid (schema: object, body: unknown): void {
  const check = ajv.getSchema((schema as { $id?: string }).$id ?? '') ?? ajv.compile(schema)
  expect(check(structuredClone(body)) ? [] : check.errors).toEqual([])
}

describe('admin replies match their schemas', () => {
  let fast: Backend
  let slow: Backend
  let release = (): void => {}
  let pf: Running
  beforeAll(async () => {
    fast = await startBackend('fast')
    slow = await startBackend('slow', (_req, res) => { release = () => res.end('late') })
    pf = await startPilotfish({
      ...forwardConfig([fast.port], { plugins: ['stamp'] }),
      plugins: [{ name: 'stamp', from: STAMP }],
    })
  })
  afterAll(async () => { release(); await pf.stop(); await fast.close(); await slow.close() })

  it('GET /v1/status', async () => {
    const { status, body } = await callJson(`${pf.admin}/v1/status`)
    expect(status).toBe(200)
    expectValid(statusReplySchema, body)
  })

  it('GET /v1/config is a config the sidecar schema accepts', async () => {
    expectValid(sidecarSchema, (await callJson(`${pf.admin}/v1/config`)).body)
  })

  it('POST and DELETE targets, and GET /v1/target-groups with a registered and a draining target', async () => {
    const add = await callJson(`${pf.admin}/v1/target-groups/app/targets`, 'POST', { host: '127.0.0.1', port: slow.port })
    expect(add.status).toBe(201)
    expectValid(changeReplySchema, add.body)
    // A request held by the slow target keeps it draining once deregistered.
    const held = (async () => {
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`http://127.0.0.1:${pf.port}/`)
        if ((await r.text()) === 'late') return
      }
    })()
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => { if (slow.seen.length > 0) { clearInterval(poll); resolve() } }, 10)
    })
    const del = await callJson(`${pf.admin}/v1/target-groups/app/targets/127.0.0.1:${slow.port}`, 'DELETE')
    expectValid(changeReplySchema, del.body)
    const groups = await callJson(`${pf.admin}/v1/target-groups`)
    expectValid(targetGroupsReplySchema, groups.body)
    expect(groups.body.targetGroups[0].targets.map((t: { state: string }) => t.state)).toEqual(['healthy', 'draining'])
    const one = await callJson(`${pf.admin}/v1/target-groups/app`)
    expectValid(targetGroupStatusSchema, one.body)
    expect(one.body.targets[1]).toMatchObject({ id: `127.0.0.1:${slow.port}`, state: 'draining', inFlight: 1 })
    release()
    await held
  })

  it('GET /v1/plugins and POST /v1/plugins/:name/reload', async () => {
    const reload = await callJson(`${pf.admin}/v1/plugins/stamp/reload`, 'POST')
    expect(reload.status).toBe(200)
    expectValid(reloadReplySchema, reload.body)
    const plugins = await callJson(`${pf.admin}/v1/plugins`)
    expectValid(pluginsReplySchema, plugins.body)
    expect(plugins.body.plugins[0]).toMatchObject({ name: 'stamp', state: 'running', lastError: null })
  })

  it('PUT /v1/config, and its error replies', async () => {
    const running = (await callJson(`${pf.admin}/v1/config`)).body
    const ok = await callJson(`${pf.admin}/v1/config`, 'PUT', running)
    expect(ok.status).toBe(200)
    expectValid(changeReplySchema, ok.body)
    for (const bad of [{ ...running, listeners: [] }, { ...running, plugins: [{ name: 'stamp', from: STAMP, config: { value: 7 } }] }]) {
      const r = await callJson(`${pf.admin}/v1/config`, 'PUT', bad)
      expect(r.status).toBe(400)
      expectValid(errorReplySchema, r.body)
    }
    expectValid(errorReplySchema, (await callJson(`${pf.admin}/v1/target-groups/nope`)).body)
  })
})
