// Runs the pilotfish command as a separate process, as a user would, and reads its memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

const CLI = new URL('../../sidecar/pilotfish.js', import.meta.url).pathname

export interface CliRun { code: number | null, stdout: string, stderr: string }

/** Runs the CLI to completion (validate, --help), bounded by a timeout. */
export function runCli (args: string[], timeoutMs = 15_000, env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/**
 * Starts a long-running CLI command and resolves once it reports its admin API, or that it has none (it is then
 * serving). `cwd`: the working directory it runs in (default this process's).
 */
export function startCli (args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<{ child: ChildProcess, stdout: () => string, stderr: () => string, stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd })
    let stderr = ''
    let stdout = ''
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not ready: ${stderr}`)) }, 15_000)
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString()
      if (/admin API (on|off)/.test(stderr)) {
        clearTimeout(timer)
        resolve({
          child,
          stdout: () => stdout,
          stderr: () => stderr,
          stop: () => new Promise((done) => { child.once('close', (code) => done(code)); child.kill('SIGTERM') }),
        })
      }
    })
    child.on('close', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${stderr}`)) })
  })
}

/** Peak resident memory of a process so far (VmHWM), in bytes. */
export function peakRss (pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

/** The TCP ports a process listens on (its sockets in /proc/<pid>/fd, matched against /proc/<pid>/net/tcp{,6}). */
export function listeningPorts (pid: number): Set<number> {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m !== null) inodes.add(m[1]!)
    } catch {} // closed meanwhile
  }
  const ports = new Set<number>()
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f[3] === '0A' && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(':')[1]!, 16)) // 0A: LISTEN
    }
  }
  return ports
}
