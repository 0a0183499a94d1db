// A plugin author's project of its own, exactly as docs/plugins.md ("A plugin project of its own") lays it out:
// its files are taken from that section's code blocks, Pilotfish is installed the way `npm install ../pilotfish`
// installs a folder (a symlink), and the project's own `vitest run` and `tsc` must pass, and fail when broken.
//
// No network and no npm: vitest, typescript and @types/node are linked from this checkout's node_modules, the
// versions `npm ci` installed here, which is what npm would put in the project. So it runs on any machine where
// this repository's tests run.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The code blocks of the docs' walkthrough, in order, without the list's indentation. */
function walkthroughBlocks (): Array<{ lang: string, text: string }> {
  const docs = readFileSync(join(root, 'docs/plugins.md'), 'utf8')
  const start = docs.indexOf('## A plugin project of its own')
  const section = docs.slice(start, docs.indexOf('\n## ', start + 1))
  return [...section.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```$/gm)].map((m) => ({
    lang: m[2]!,
    text: m[3]!.split('\n').map((line) => line.slice(m[1]!.length)).join('\n'),
  }))
}

interface Run { code: number, output: string }

/** Runs a tool of the project with this Node; the outer vitest's own variables are left out. */
function run (dir: string, script: string, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VITEST') && k !== 'NODE_OPTIONS') env[k] = v
  return new Promise((resolve) => {
    execFile(process.execPath, [join(dir, 'node_modules', script), ...args], { cwd: dir, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, output: stdout + stderr })
    })
  })
}

describe('a plugin project outside this repository, as docs/plugins.md walks through it', () => {
  let dir: string
  let plugin: string, test: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pilotfish-plugin-project-'))
    const blocks = walkthroughBlocks()
    const tsconfig = blocks.find((b) => b.lang === 'json')
    const ts = blocks.filter((b) => b.lang === 'ts')
    expect(tsconfig, 'the walkthrough shows tsconfig.json').toBeDefined()
    expect(ts, 'the walkthrough shows index.ts and its test').toHaveLength(2)
    plugin = ts[0]!.text
    test = ts[1]!.text
    mkdirSync(join(dir, 'test'))
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true })
    writeFileSync(join(dir, 'package.json'), JSON.stringify({
      name: 'greeting', version: '1.0.0', type: 'module', scripts: { test: 'vitest run' },
      devDependencies: { pilotfish: `file:${root}`, vitest: '*', typescript: '*', '@types/node': '*' },
    }, null, 2))
    writeFileSync(join(dir, 'tsconfig.json'), tsconfig!.text)
    writeFileSync(join(dir, 'index.ts'), plugin)
    writeFileSync(join(dir, 'test', 'greeting.test.ts'), test)
    symlinkSync(root, join(dir, 'node_modules', 'pilotfish'), 'dir') // what npm makes for a file: folder
    for (const name of ['vitest', 'typescript', '@types/node']) {
      symlinkSync(realpathSync(join(root, 'node_modules', name)), join(dir, 'node_modules', name), 'dir')
    }
  })
  afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

  it('imports the types from pilotfish/plugin and the harness from pilotfish/testing, and its test passes', async () => {
    expect(plugin).toContain("from 'pilotfish/plugin'")
    expect(test).toContain("from 'pilotfish/testing'")
    const r = await run(dir, 'vitest/vitest.mjs', ['run'])
    expect(r.output).toMatch(/1 passed/)
    expect(r.code, r.output).toBe(0)
  })

  it('type-checks with tsc, and tsc catches a plugin that misuses the types', async () => {
    const ok = await run(dir, 'typescript/bin/tsc', ['-p', '.'])
    expect(ok.code, ok.output).toBe(0)
    writeFileSync(join(dir, 'index.ts'), plugin.replace("req.setHeader(header, 'hello')", 'req.setHeader(header, 42)'))
    const bad = await run(dir, 'typescript/bin/tsc', ['-p', '.'])
    writeFileSync(join(dir, 'index.ts'), plugin)
    expect(bad.output).toMatch(/index\.ts\(\d+,\d+\): error TS2345/)
    expect(bad.code).not.toBe(0)
  })

  it('fails when an assertion of its test does not hold', async () => {
    writeFileSync(join(dir, 'test', 'greeting.test.ts'), test.replace(".toBe('hello')", ".toBe('goodbye')"))
    const r = await run(dir, 'vitest/vitest.mjs', ['run'])
    writeFileSync(join(dir, 'test', 'greeting.test.ts'), test)
    expect(r.output).toMatch(/1 failed/)
    expect(r.output).toContain('goodbye')
    expect(r.code).toBe(1)
  })
})
