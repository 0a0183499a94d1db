// Every `pilotfish <command>` that the README, the docs and the examples tell a user to run is a command the
// CLI has (examples/pilotfish.yaml once said `pilotfish check`, which never existed).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { runCli } from './process.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

function files (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path)
    return /\.(md|ya?ml)$/.test(name) ? [path] : []
  })
}

it('the README, docs and examples name only commands that `pilotfish --help` lists', async () => {
  const help = await runCli(['--help'])
  const commands = new Set([...help.stdout.matchAll(/^ {2}pilotfish ([a-z][a-z-]*)/gm)].map((m) => m[1]))
  expect([...commands].sort()).toContain('validate')
  const named: string[] = []
  for (const file of [join(root, 'README.md'), ...files(join(root, 'docs')), ...files(join(root, 'examples'))]) {
    const text = readFileSync(file, 'utf8')
    // In inline code (`pilotfish x`, `npx pilotfish x`) and at the start of a line in a code block.
    for (const m of text.matchAll(/(?:`|^[ \t]*(?:\$ )?)(?:npx )?pilotfish ([a-z][a-z-]*)/gm)) named.push(`${relative(root, file)}: ${m[1]}`)
  }
  expect(named.length).toBeGreaterThan(4)
  expect(named.filter((n) => !commands.has(n.slice(n.lastIndexOf(' ') + 1)))).toEqual([])
})
