// Child processes of the benchmark (started pinned, always killed) and what /proc says about their CPU and memory.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ is 100 on every Linux we run on). */
const ticksPerSecond = 100

const started = new Set<ChildProcess>()

export interface StartOptions {
  /** The core the process and all its threads and children are pinned to. */
  core: number
  env?: NodeJS.ProcessEnv
  /** Where the child's stdout goes: 'ignore' is /dev/null (the access-log variant writes there). */
  stdout?: 'ignore' | 'inherit'
  cwd?: string
}

/** Starts `command` under `taskset -c CORE`; taskset execs it, so the pid is the command's own. */
export function start (command: string, args: readonly string[], opts: StartOptions): ChildProcess {
  // detached: its own process group, so stopping it also reaches an nginx master's workers.
  const child = spawn('taskset', ['-c', String(opts.core), command, ...args], {
    detached: true,
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => { if (stderr.length < 4000) stderr += b.toString('latin1') })
  child.on('exit', (code, signal) => {
    if (started.has(child) && code !== 0 && signal === null) {
      process.stderr.write(`bench: ${command} exited with ${code}: ${stderr.slice(0, 1000)}\n`)
    }
    started.delete(child)
  })
  started.add(child)
  return child
}

/** Registers a short-lived child (wrk, bench/rate.ts) so that an interrupted benchmark kills it too. */
export function track<T extends ChildProcess> (child: T): T {
  started.add(child)
  child.on('exit', () => started.delete(child))
  return child
}

/** SIGTERM to the child's process group, SIGKILL after 3 s if it is still there. */
export async function stop (child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) { started.delete(child); return }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  started.delete(child)
  signalGroup(child.pid, 'SIGTERM')
  const timer = sleep(3000).then(() => 'timeout' as const)
  if (await Promise.race([exited.then(() => 'exited' as const), timer]) === 'timeout') {
    signalGroup(child.pid, 'SIGKILL')
    await Promise.race([exited, sleep(2000)])
  }
}

function signalGroup (pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal) } catch { try { process.kill(pid, signal) } catch { /* already gone */ } }
}

/** Synchronous last resort (exit handlers cannot await): every process group we started gets SIGKILL. */
export function killAllNow (): void {
  for (const child of started) if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL')
  started.clear()
}

/** A free loopback port: bind port 0, read it, release it (a tiny race we accept on a bench machine). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Waits until GET `path` on 127.0.0.1:port answers 200, at most `timeoutMs`; throws otherwise. */
export async function waitHttp (port: number, path: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`process exited before port ${port} answered`)
    const got = await httpGet(port, path).catch(() => null)
    if (got?.status === 200) return
    await sleep(100)
  }
  throw new Error(`127.0.0.1:${port}${path} did not answer 200 within ${timeoutMs} ms`)
}

/** One GET over a fresh connection; resolves status and body length as soon as the response is complete. */
export function httpGet (port: number, path: string): Promise<{ status: number, bodyLength: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let all = Buffer.alloc(0)
    socket.setTimeout(2000, () => socket.destroy(new Error('timeout')))
    // Keep-alive, and the response's own framing tells its end: some peers keep the connection open after Connection: close.
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`))
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('closed before a whole response')))
    socket.on('data', (b: Buffer) => {
      all = Buffer.concat([all, b])
      const end = all.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = all.toString('latin1', 0, end)
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN)
      const body = all.subarray(end + 4)
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
      let bodyLength: number
      if (length !== null) {
        if (body.length < Number(length[1])) return
        bodyLength = body.length
      } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
        if (body.indexOf('\r\n0\r\n\r\n') < 0 && !body.subarray(0, 5).equals(Buffer.from('0\r\n\r\n'))) return
        bodyLength = dechunkedLength(body)
      } else bodyLength = body.length
      resolve({ status, bodyLength })
      socket.destroy()
    })
  })
}

/** Length of a chunked body's data (sizes only; extensions and trailers are not expected from these peers). */
function dechunkedLength (body: Buffer): number {
  let at = 0
  let total = 0
  for (let i = 0; i < 10000; i++) {
    const eol = body.indexOf('\r\n', at)
    if (eol < 0) break
    const size = parseInt(body.toString('latin1', at, eol), 16)
    if (!(size > 0)) break
    total += size
    at = eol + 2 + size + 2
  }
  return total
}

/** The pid and every descendant, from /proc/PID/task/TID/children (lists the children of each thread). */
export function processTree (pid: number): number[] {
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0 && out.length < 1000) {
    const p = queue.shift() as number
    out.push(p)
    let tasks: string[] = []
    try { tasks = readdirSync(`/proc/${p}/task`) } catch { continue }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'latin1').split(' ')) if (c.trim() !== '') queue.push(Number(c))
      } catch { /* thread ended */ }
    }
  }
  return out
}

/** utime + stime of the processes (all their threads), in microseconds. */
export function cpuMicros (pids: readonly number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
      // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch { /* process ended */ }
  }
  return ticks * 1e6 / ticksPerSecond
}

/** CPU time this process and its reaped children (wrk, bench/rate.ts) have used, in microseconds. */
export function selfAndChildrenMicros (): number {
  const stat = readFileSync('/proc/self/stat', 'latin1')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1e6 / ticksPerSecond
}

/**
 * user + nice + system time of all cores from /proc/stat, in microseconds. Interrupt and softirq time are left
 * out because the kernel charges them to no process, so they could not be told apart from ours.
 */
export function machineBusyMicros (): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]?.trim().split(/\s+/) ?? []
  return (Number(f[1]) + Number(f[2]) + Number(f[3])) * 1e6 / ticksPerSecond
}

/**
 * Waits (at most `maxSeconds`) for a second in which other processes use less than `pct` % of one core: this
 * machine can be shared, and a proxy pinned to a busy core measures the neighbour. `ours` are our idle processes.
 */
export async function waitForQuiet (ours: readonly number[], pct: number, maxSeconds: number): Promise<number> {
  let used = NaN
  for (let i = 0; i < maxSeconds; i++) {
    const [busy, mine] = [machineBusyMicros(), cpuMicros(ours) + selfAndChildrenMicros()]
    await sleep(1000)
    used = ((machineBusyMicros() - busy) - (cpuMicros(ours) + selfAndChildrenMicros() - mine)) / 1e4
    if (used < pct) return used
    if (i % 10 === 0) process.stderr.write(`bench: other processes use ${used.toFixed(0)} % of a core; waiting for quiet (up to ${maxSeconds} s)\n`)
  }
  return used
}

/** Sum of VmRSS over the processes, in bytes. */
export function rssBytes (pids: readonly number[]): number {
  let kib = 0
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
      kib += Number(m?.[1] ?? 0)
    } catch { /* process ended */ }
  }
  return kib * 1024
}

/** Polls the tree's summed RSS every 100 ms until stopped; returns the highest sum seen. */
export function pollPeakRss (pids: readonly number[]): { stop: () => number } {
  let peak = rssBytes(pids)
  const timer = setInterval(() => { peak = Math.max(peak, rssBytes(pids)) }, 100)
  return { stop: () => { clearInterval(timer); return Math.max(peak, rssBytes(pids)) } }
}
