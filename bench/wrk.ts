// Runs wrk (closed loop, keep-alive) pinned to the load core and reads its summary.
import { spawn } from 'node:child_process'
import { loadCore } from './peers.ts'
import { track } from './procs.ts'

export interface WrkResult {
  requests: number
  seconds: number
  rps: number
  p50ms: number
  p99ms: number
  errors: number // socket errors plus non-2xx/3xx answers: a proxy that fails fast must not look fast
}

/** wrk prints latencies as 812.00us, 1.23ms or 1.05s. */
function toMs (value: string, unit: string): number {
  const n = Number(value)
  if (unit === 'us') return n / 1000
  if (unit === 's') return n * 1000
  return n
}

export function parseWrk (out: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(m?s|us|m)\b/.exec(out)
  const p50 = /^\s*50(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out)
  const p99 = /^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out)
  if (total === null || p50 === null || p99 === null) throw new Error(`cannot read wrk output:\n${out}`)
  const seconds = total[3] === 'ms' ? Number(total[2]) / 1000 : total[3] === 'm' ? Number(total[2]) * 60 : Number(total[2])
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  const errors = (socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0)) + Number(non2xx?.[1] ?? 0)
  const requests = Number(total[1])
  return { requests, seconds, rps: requests / seconds, p50ms: toMs(p50[1] as string, p50[2] as string), p99ms: toMs(p99[1] as string, p99[2] as string), errors }
}

/** `wrk -t1 -c50 -dS --latency` against 127.0.0.1 only; killed if it overruns its duration by 20 s. */
export function runWrk (port: number, path: string, seconds: number, connections = 50): Promise<WrkResult> {
  const args = ['-c', String(loadCore), 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}${path}`]
  return new Promise((resolve, reject) => {
    const child = track(spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] }))
    let out = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString('latin1') })
    child.stderr.on('data', (b: Buffer) => { out += b.toString('latin1') })
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(guard)
      if (code !== 0) { reject(new Error(`wrk exited with ${code}: ${out}`)); return }
      try { resolve(parseWrk(out)) } catch (e) { reject(e as Error) }
    })
  })
}
