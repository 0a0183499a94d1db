// Scenario: a group of 3 backends under keep-alive and new-connection GET load, with healthCheck and
// outlierDetection on; one backend is killed (its connections reset, its port refusing), stays down for
// --seconds, then listens again on the same port. Prints one JSON line: requests and failures by phase, and how
// long detection and recovery took. Run by test/e2e/target-failure.e2e.test.ts (short) and the benchmark, in a
// network namespace of its own (netns.ts): nothing else can take the freed port before the restart, and the
// namespace's TCP counters (/proc/net/snmp) count only this scenario's connections.
//
// What is measured, all from the kill (or the restart) on this process's monotonic clock:
//   detectMs      until an admin poll (every 50 ms) first shows the killed target `unhealthy` (any reason:
//                 refused probes, or an outlier ejection, which is usually first)
//   noTrafficMs   until the sidecar stopped trying the dead port. A connection to it is refused by the kernel,
//                 which counts it in the namespace's TCP AttemptFails; this is the end of the last 50 ms sample
//                 in which more than one connection attempt failed. A probe adds one per interval, so a single
//                 failed attempt in a sample is not counted (a lone proxied attempt then cannot be told from
//                 a probe). Failed attempts over the whole down phase are in refusedConnects.
//   recoverMs     from the restart until an admin poll shows it `healthy` again
//   firstServedMs from the restart until a response from the restarted backend reached a client
import http from 'node:http'
import type { Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { callJson, forwardConfig, startPilotfish } from '../harness.ts'
import { sleep } from '../load.ts'

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '2' }, // seconds of load before the kill
    seconds: { type: 'string', default: '5' }, // seconds the backend stays down
    after: { type: 'string', default: '2' }, // seconds of load once the restarted backend is healthy and served
    'max-after': { type: 'string', default: '30' }, // at most this long after the restart in all
    workers: { type: 'string', default: '8' },
    shards: { type: 'string', default: '2' },
    interval: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '1' },
    healthy: { type: 'string', default: '2' },
    unhealthy: { type: 'string', default: '2' },
    outlier: { type: 'string', default: 'on' }, // on | off
    'consecutive-failures': { type: 'string', default: '5' },
    'base-ejection': { type: 'string', default: '30' },
  },
})
const num = (name: keyof typeof values): number => Number(values[name])
const workers = num('workers')

/** A backend whose listener can be killed and started again on the same port; /health answers 200. */
function backend (name: string): { server: http.Server, port: () => number, kill: () => void, restart: (port: number) => Promise<void> } {
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.url === '/health') { res.end('ok'); return }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ name }))
    })
  })
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  return {
    server,
    port: () => (server.address() as { port: number }).port,
    // As a crash: every connection reset (RST, not FIN), the listening socket gone, so connects are refused.
    kill: () => {
      server.close()
      for (const s of sockets) s.resetAndDestroy()
    },
    restart: (port) => new Promise((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() }) }),
  }
}

/** TCP AttemptFails of this network namespace: connection attempts that ended refused (or reset in SYN_RECV). */
function attemptFails (): number {
  const rows = readFileSync('/proc/net/snmp', 'latin1').split('\n').filter((l) => l.startsWith('Tcp:'))
  const names = rows[0]!.split(' ')
  return Number(rows[1]!.split(' ')[names.indexOf('AttemptFails')])
}

const names = ['a', 'b', 'c']
const backends = names.map(backend)
await Promise.all(backends.map((b) => b.restart(0)))
const ports = backends.map((b) => b.port())
const victim = 1 // b
const victimPort = ports[victim]!
const group: Record<string, unknown> = {
  healthCheck: { protocol: 'http', path: '/health', intervalSeconds: num('interval'), timeoutSeconds: num('timeout'), healthyThresholdCount: num('healthy'), unhealthyThresholdCount: num('unhealthy'), matcher: '200' },
}
if (values.outlier === 'on') group.outlierDetection = { consecutiveFailures: num('consecutive-failures'), baseEjectionSeconds: num('base-ejection'), maxEjectionPercent: 50 }
const pf = await startPilotfish(forwardConfig(ports, {}, group), num('shards'))

interface TargetView { port: number, state: string, reason: string | null }
const view = async (): Promise<TargetView[]> => (await callJson(`${pf.admin}/v1/target-groups/app`)).body.targets as TargetView[]

// A started sidecar probes every target at once: wait for the first verdicts before the clock starts.
const readyBy = Date.now() + 15_000
while (Date.now() < readyBy && !(await view()).every((t) => t.state === 'healthy')) await sleep(50)
const startState = (await view()).map((t) => t.state)

const t0 = performance.now()
const now = (): number => performance.now() - t0
let killAt = Infinity
let restartAt = Infinity
const phaseOf = (t: number): 'before' | 'down' | 'after' => t < killAt ? 'before' : t < restartAt ? 'down' : 'after'
const phases = {
  before: { ok: 0, failed: 0, errors: [] as string[], byName: {} as Record<string, number> },
  down: { ok: 0, failed: 0, errors: [] as string[], byName: {} as Record<string, number> },
  after: { ok: 0, failed: 0, errors: [] as string[], byName: {} as Record<string, number> },
}
let firstServedAt = Infinity

function get (keepAlive: http.Agent | false): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: pf.port, path: '/load', agent: keepAlive }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')))
    req.on('error', reject)
  })
}

let running = true
const agent = new http.Agent({ keepAlive: true, maxSockets: workers })
const loop = async (keepAlive: boolean): Promise<void> => {
  while (running) {
    // A request counts in the phase it ended in: one in flight at the kill, and failed by it, is a "down" failure.
    try {
      const r = await get(keepAlive ? agent : false)
      if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.replace(/\s+$/, '').slice(0, 80)}`)
      const name = (JSON.parse(r.body) as { name: string }).name
      const end = now()
      const p = phases[phaseOf(end)]
      p.ok++
      p.byName[name] = (p.byName[name] ?? 0) + 1
      if (name === names[victim] && end >= restartAt && firstServedAt === Infinity) firstServedAt = end
    } catch (e) {
      const p = phases[phaseOf(now())]
      p.failed++
      if (p.errors.length < 5) p.errors.push(`${(e as Error).message} (${keepAlive ? 'keep-alive' : 'new connection'})`)
    }
  }
}

// The victim's state as the admin API shows it, on every change, and the namespace's failed connects every 50 ms.
const transitions: Array<{ at: number, state: string, reason: string | null }> = []
let othersNotHealthy = 0
let lastState = ''
const fails: Array<{ at: number, n: number }> = []
let polling = true
const poller = (async () => {
  while (polling) {
    const at = now()
    fails.push({ at, n: attemptFails() })
    const targets = await view().catch(() => [] as TargetView[])
    const seen = now() // a change counts when its answer arrived: never earlier than it was shown
    for (const t of targets) {
      if (t.port !== victimPort) { if (t.state !== 'healthy') othersNotHealthy++; continue }
      if (t.state !== lastState) transitions.push({ at: seen, state: t.state, reason: t.reason })
      lastState = t.state
    }
    await sleep(Math.max(0, at + 50 - now()))
  }
})()
const firstAfter = (from: number, state: string): number => transitions.find((x) => x.at >= from && x.state === state)?.at ?? Infinity

const loops = Array.from({ length: workers }, (_, i) => loop(i % 2 === 0))
await sleep(num('warmup') * 1000)
killAt = now()
backends[victim]!.kill()
await sleep(num('seconds') * 1000)
restartAt = now()
await backends[victim]!.restart(victimPort)
const deadline = restartAt + num('max-after') * 1000
while (now() < deadline && (firstServedAt === Infinity || firstAfter(restartAt, 'healthy') === Infinity)) await sleep(50)
await sleep(num('after') * 1000)
running = false
await Promise.all(loops)
polling = false
await poller
agent.destroy()
await pf.stop()
await Promise.all(backends.map((b) => new Promise((resolve) => { b.server.closeAllConnections(); b.server.close(resolve) })))

// Failed connects during the down phase; the last sample with more than one (a probe makes one per interval).
// From the last sample before the kill, so attempts in the kill's first 50 ms count too.
const down = fails.filter((f, i) => f.at <= restartAt && (f.at >= killAt || (fails[i + 1]?.at ?? Infinity) >= killAt))
let lastTry = killAt
for (let i = 1; i < down.length; i++) if (down[i]!.n - down[i - 1]!.n > 1) lastTry = down[i]!.at
const ms = (x: number): number | null => Number.isFinite(x) ? Math.round(x) : null
const total = Object.values(phases).reduce((a, p) => ({ ok: a.ok + p.ok, failed: a.failed + p.failed }), { ok: 0, failed: 0 })
process.stdout.write(JSON.stringify({
  seconds: Math.round(now()) / 1000,
  config: { shards: num('shards'), workers, ...group },
  startState,
  ok: total.ok,
  failed: total.failed,
  phases,
  detectMs: ms(firstAfter(killAt, 'unhealthy') - killAt),
  detectReason: transitions.find((x) => x.at >= killAt && x.state === 'unhealthy')?.reason ?? null,
  noTrafficMs: ms(lastTry - killAt),
  refusedConnects: down.length > 1 ? down.at(-1)!.n - down[0]!.n : 0,
  recoverMs: ms(firstAfter(restartAt, 'healthy') - restartAt),
  firstServedMs: ms(firstServedAt - restartAt),
  downMs: Math.round(restartAt - killAt),
  transitions: transitions.map((x) => ({ atMs: Math.round(x.at - killAt), state: x.state, reason: x.reason })), // from the kill
  othersNotHealthy,
}) + '\n')
