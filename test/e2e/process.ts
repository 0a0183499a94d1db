// Runs the pilotfish command as a separate process, as a user would, and reads its memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

const CLI = new URL('../../sidecar/pilotfish.js', import.meta.url).pathname

export interface CliRun { code: number | null, stdout: string, stderr: string }

/** Runs the CLI to completion (validate, --help), bounded by a timeout. */
export function runCli (args: string[], timeoutMs = 15_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/** Starts a long-running CLI command and resolves once it reports its admin API (it is then serving). */
export function startCli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess, stdout: () => string, stderr: () => string, stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stderr = ''
    let stdout = ''
    child.stdout!.on('data', (c: Buffer) => { stdout += c.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not ready: ${stderr}`)) }, 15_000)
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString()
      if (stderr.includes('admin API on')) {
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
