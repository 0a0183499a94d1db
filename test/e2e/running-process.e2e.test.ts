// The pilotfish process as an operator sees it: its name and its threads' names in ps (/proc), and the log
// lines a plugin code reload leaves on stderr, whether it went through or was refused.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callJson, deadPort, startBackend, type Backend } from './harness.ts'
import { sleep } from './load.ts'
import { startCli } from './process.ts'

const plugin = (version: string): string =>
  `export default { name: 'gen', version: '${version}', configSchema: { type: 'object' }, setup () { return {} } }\n`

/** The names of a process's threads, as `ps -L` shows them. */
const threadNames = (pid: number): string[] =>
  readdirSync(`/proc/${pid}/task`).map((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim()
    } catch {
      return '' // a thread that ended between the listing and the read
    }
  })

describe('a running pilotfish process', () => {
  let dir: string, file: string
  let be: Backend
  let pf: Awaited<ReturnType<typeof startCli>>
  let admin: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pilotfish-process-'))
    file = join(dir, 'gen.ts')
    writeFileSync(file, plugin('A'))
    be = await startBackend('be')
    writeFileSync(join(dir, 'pilotfish.yaml'), [
      'admin: { port: 0 }',
      'plugins: [{ name: gen, from: ./gen.ts }]',
      `listeners: [{ name: web, host: 127.0.0.1, port: ${await deadPort()}, plugins: [gen], defaultAction: { type: forward, targetGroups: [{ name: app }] } }]`,
      `targetGroups: [{ name: app, targets: [{ host: 127.0.0.1, port: ${be.port} }] }]`,
    ].join('\n'))
    pf = await startCli(['run', '--config', join(dir, 'pilotfish.yaml'), '--shards', '2'])
    admin = /admin API on (http:\/\/\S+)/.exec(pf.stderr())![1]!
  })
  afterAll(async () => {
    await pf.stop()
    await be.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Waits for a stderr line matching `re` (the log is written before the admin API answers, read after). */
  const logged = async (re: RegExp): Promise<string[]> => {
    for (let i = 0; i < 100 && !re.test(pf.stderr()); i++) await sleep(20)
    return pf.stderr().split('\n').filter((l) => re.test(l))
  }

  it('is named pilotfish, not MainThread, and its shard threads pf-shard-<n>', () => {
    const pid = pf.child.pid!
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toBe('pilotfish')
    const threads = threadNames(pid)
    expect(threads).not.toContain('MainThread')
    expect(threads.filter((n) => n.startsWith('pf-shard-')).sort()).toEqual(['pf-shard-0', 'pf-shard-1'])
  })

  it('logs a plugin reload that went through: name, version and shard generation', async () => {
    writeFileSync(file, plugin('B'))
    expect((await callJson(`${admin}/v1/plugins/gen/reload`, 'POST')).status).toBe(200)
    expect(await logged(/plugin gen reloaded/)).toEqual(['pilotfish: plugin gen reloaded: version B runs in shard generation 2'])
  })

  it('logs a refused reload as refused, and not as a reload', async () => {
    writeFileSync(file, 'export default {\n')
    expect((await callJson(`${admin}/v1/plugins/gen/reload`, 'POST')).status).toBe(400)
    expect(await logged(/plugin gen: change refused/)).toHaveLength(1)
    expect(await logged(/plugin gen reloaded/)).toHaveLength(1) // still only B's
  })

  it('names the new generation\'s shard threads the same way', async () => {
    const pid = pf.child.pid!
    let shards = threadNames(pid).filter((n) => n.startsWith('pf-shard-'))
    for (let i = 0; i < 100 && shards.length !== 2; i++) { // the retired generation's threads exit once drained
      await sleep(50)
      shards = threadNames(pid).filter((n) => n.startsWith('pf-shard-'))
    }
    expect(shards.sort()).toEqual(['pf-shard-0', 'pf-shard-1'])
    expect((await callJson(`${admin}/v1/plugins`)).body.generation).toBe(2)
  })
})
