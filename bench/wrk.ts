// Runs wrk (closed loop, keep-alive) pinned to the load core and reads its summary.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
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

/**
 * Writes a wrk Lua script whose requests send the header lines in turn, one per request. The requests are
 * formatted once in init(): request() runs per request on the load core, so it only steps an index.
 */
export function writeCyclingScript (file: string, headerLines: readonly string[]): void {
  // Written into a Lua string literal as they are: no quote, no backslash, nothing outside printable ASCII.
  for (const line of headerLines) if (!/^[A-Za-z0-9-]+: [\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(line)) throw new Error(`not a plain header line: ${line}`)
  writeFileSync(file, `-- bench/wrk.ts: each request sends the next of these header lines.
local lines = { ${headerLines.map((l) => `"${l}"`).join(', ')} }
local reqs, n, i = {}, #lines, 0
function init (args)
  for k = 1, n do
    local at = lines[k]:find(": ", 1, true)
    reqs[k] = wrk.format(nil, nil, { [lines[k]:sub(1, at - 1)] = lines[k]:sub(at + 2) })
  end
end
function request ()
  i = i % n + 1
  return reqs[i]
end
`)
}

/**
 * `wrk -t1 -c50 -dS --latency` against 127.0.0.1 only, with a Lua script when given (writeCyclingScript);
 * killed if it overruns its duration by 20 s.
 */
export function runWrk (port: number, path: string, seconds: number, script?: string, connections = 50): Promise<WrkResult> {
  const args = ['-c', String(loadCore), 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency',
    ...(script === undefined ? [] : ['-s', script]), `http://127.0.0.1:${port}${path}`]
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
