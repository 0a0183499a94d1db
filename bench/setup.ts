// Installs what the benchmark needs when it is missing: Debian packages (wrk, HAProxy, nginx, taskset) and the npm peers.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
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
