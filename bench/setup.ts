// Installs what the benchmark needs when it is missing (Debian packages, npm peers) and snapshots the Pilotfish it measures.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'

function have (binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0
}

function run (command: string, args: string[], cwd?: string): void {
  process.stderr.write(`bench: ${command} ${args.join(' ')}\n`)
  execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd, timeout: 600_000 })
}

/** apt-get only runs when a binary is missing (we are root on these machines); nginx-light, else nginx. */
export function ensureDebianPackages (): void {
  const wanted: Array<[string, string]> = [['wrk', 'wrk'], ['haproxy', 'haproxy'], ['nginx', 'nginx-light'], ['taskset', 'util-linux']]
  const missing = wanted.filter(([binary]) => !have(binary)).map(([, pkg]) => pkg)
  if (missing.length === 0) return
  run('apt-get', ['update'])
  try {
    run('apt-get', ['install', '-y', ...missing])
  } catch {
    run('apt-get', ['install', '-y', ...missing.map((p) => p === 'nginx-light' ? 'nginx' : p)])
  }
  for (const [binary] of wanted) if (!have(binary)) throw new Error(`${binary} is still missing after apt-get install`)
}

/** The Node peers as devDependencies (fastify and undici are the project's own dependencies). */
export function ensureNpmPeers (repo: string): void {
  const peers = ['@fastify/http-proxy', 'fastify', 'http-proxy', 'undici']
  const missing = peers.filter((p) => !existsSync(join(repo, 'node_modules', p, 'package.json')))
  if (missing.length === 0) return
  // npm resolves the already-declared versions from package.json and package-lock.json.
  run('npm', ['i', '-D', '@fastify/http-proxy', 'http-proxy'], repo)
  if (missing.some((p) => p === 'fastify' || p === 'undici')) run('npm', ['i'], repo)
}

/** The system's idea of this machine: the benchmark's method assumes 2 cores, with 0 and 1 online. */
export function checkCores (): string | undefined {
  const out = spawnSync('nproc', [], { encoding: 'latin1' }).stdout.trim()
  return Number(out) >= 2 ? undefined : `this machine has ${out} core(s); the method needs 2 (load on core 0, proxy on core 1)`
}

/** The same parts as snapshotPilotfish, at commit `rev` (git archive), for a before/after run. */
export function snapshotCommit (repo: string, dir: string, rev: string): string {
  const root = join(dir, 'pilotfish-baseline')
  mkdirSync(root, { recursive: true })
  const tar = execFileSync('git', ['archive', '--format=tar', rev, '--', 'core', 'sidecar', 'schemas', 'package.json'], { cwd: repo, maxBuffer: 1 << 28 })
  execFileSync('tar', ['-x', '-C', root], { input: tar })
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'))
  execFileSync('npm', ['run', '--if-present', 'prepare'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 })
  return root
}

/**
 * Copies Pilotfish's sources as they are now into the scratch directory and measures that copy: others edit
 * core/ and sidecar/ while a 15-minute run goes on, and a run must not mix versions. Returns the copy's root
 * and which code it is (commit, plus a hash of uncommitted changes).
 */
export function snapshotPilotfish (repo: string, dir: string): { root: string, version: string } {
  const git = (args: string[]): string => spawnSync('git', args, { cwd: repo, encoding: 'latin1' }).stdout.trim()
  const parts = ['core', 'sidecar', 'schemas', 'plugins', 'bench/plugins', 'test/e2e'] // test/e2e: the reload scenario and its harness
  const diff = git(['diff', 'HEAD', '--', ...parts, 'package.json'])
  const version = `${git(['rev-parse', '--short', 'HEAD'])}${diff === '' ? '' : ` + uncommitted changes ${createHash('sha256').update(diff).digest('hex').slice(0, 8)}`}`
  const root = join(dir, 'pilotfish')
  for (const d of parts) if (existsSync(join(repo, d))) cpSync(join(repo, d), join(root, d), { recursive: true })
  cpSync(join(repo, 'package.json'), join(root, 'package.json'))
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'))
  // What `npm ci` runs after installing (Pilotfish warms its compile cache there): measure Pilotfish as installed.
  execFileSync('npm', ['run', '--if-present', 'prepare'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 })
  return { root, version }
}
