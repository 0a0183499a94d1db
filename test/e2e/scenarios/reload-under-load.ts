// Scenario: a plugin's code reloaded N times while keep-alive and new-connection clients run and a WebSocket
// stays open; prints one JSON line with what happened. Run by test/e2e/plugin-reload.e2e.test.ts (and by the
// benchmark) inside a network namespace of its own (netns.ts), where net.ipv4.tcp_migrate_req is on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { WebSocketServer } from 'ws'
import { callJson, forwardConfig, startBackend, startPilotfish } from '../harness.ts'
import { sleep, underLoad } from '../load.ts'

const { values } = parseArgs({ options: { reloads: { type: 'string', default: '6' }, seconds: { type: 'string', default: '3' }, workers: { type: 'string', default: '8' }, shards: { type: 'string', default: '2' } } })
const reloads = Number(values.reloads)
const totalMs = Number(values.seconds) * 1000
const spacingMs = totalMs / (reloads + 1)

/** A plugin whose code says which version it is: every response carries x-code. */
const source = (code: string): string => `export default {
  name: 'gen', version: '${code}', configSchema: { type: 'object' },
  setup () { return { onResponse (_req, res) { res.setHeader('x-code', '${code}') } } },
}
`

function echo (ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.addEventListener('message', (e) => resolve(String(e.data)), { once: true })
    ws.addEventListener('close', () => reject(new Error('websocket closed')), { once: true })
    ws.send(text)
  })
}

const dir = mkdtempSync(join(tmpdir(), 'pilotfish-reload-'))
const file = join(dir, 'gen.ts')
writeFileSync(file, source('C0'))
const be = await startBackend('be')
const wss = new WebSocketServer({ server: be.server })
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)))
const pf = await startPilotfish({ ...forwardConfig([be.port], { plugins: ['gen'] }), plugins: [{ name: 'gen', from: file }] }, Number(values.shards))

const ws = new WebSocket(`ws://127.0.0.1:${pf.port}/chat`)
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject })
const wsBefore = await echo(ws, 'before')
const loaded = ['C0']
const reloadStatuses: number[] = []
const started = Date.now()
const result = await underLoad(pf.port, async () => {
  for (let i = 1; i <= reloads; i++) {
    await sleep(Math.max(0, started + i * spacingMs - Date.now())) // on a fixed schedule: the run lasts `seconds`
    writeFileSync(file, source(`C${i}`))
    const r = await callJson(`${pf.admin}/v1/plugins/gen/reload`, 'POST')
    reloadStatuses.push(r.status)
    if (r.status === 200) loaded.push(`C${i}`)
  }
  await sleep(Math.max(0, started + totalMs - Date.now()))
}, Number(values.workers), 120_000, 'x-code')
const seconds = (Date.now() - started) / 1000
const wsAfter = await echo(ws, 'after').catch((e: Error) => e.message)
const plugins = (await callJson(`${pf.admin}/v1/plugins`)).body
ws.close()
let retiring = plugins.retiringShards
for (let i = 0; i < 100 && retiring > 0; i++) {
  await sleep(100)
  retiring = (await callJson(`${pf.admin}/v1/plugins`)).body.retiringShards
}
await pf.stop()
wss.close()
await be.close()
rmSync(dir, { recursive: true, force: true })
process.stdout.write(JSON.stringify({
  seconds, ok: result.ok, failed: result.failed, errors: result.errors, byCode: Object.fromEntries(result.byHeader), loaded,
  reloadStatuses, generation: plugins.generation, wsBefore, wsAfter, retiringWhileWsOpen: plugins.retiringShards, retiringAtEnd: retiring,
}) + '\n')
