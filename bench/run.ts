// `npm run bench`: Pilotfish against direct, HAProxy, NGINX and Node proxies, interleaved, one pinned core each (DATA-PLANE.md's method).
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { baselinePeer, bodies, loadCore, mallocEnv, peers, pilotfishEntry, proxyCore, startUpstream, type Context, type Peer, type Running } from './peers.ts'
import { cpuMicros, freePort, machineBusyMicros, selfAndChildrenMicros, httpGet, killAllNow, pollPeakRss, processTree, rssBytes, start, stop, track, waitForQuiet, waitHttp } from './procs.ts'
import { renderBaseline, renderTables, renderTargetFailure, renderTargets, type LoadSample, type RateSample, type Results } from './report.ts'
import { checkCores, ensureDebianPackages, ensureNpmPeers, snapshotCommit, snapshotPilotfish } from './setup.ts'
import { runWrk, writeCyclingScript } from './wrk.ts'
import { runInOwnNetns } from '../test/e2e/netns.ts'
import type { ReloadScenario, TargetFailureScenario } from './report.ts'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({
  options: {
    reps: { type: 'string' },
    duration: { type: 'string' },
    quick: { type: 'boolean', default: false },
    peers: { type: 'string' },
    baseline: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help === true) {
  process.stdout.write('npm run bench -- [--reps N (3)] [--duration SECONDS (10)] [--quick (1 rep, 3 s, the quick peers, no scenarios)]\n' +
    '  [--peers "Pilotfish,Pilotfish + no-op plugin" (only these peers, plus direct; no reload or target-failure scenario)]\n' +
    '  [--baseline REV (also plain Pilotfish at that commit, in the same rounds; its ratios beside the work tree\'s)]\n')
  process.exit(0)
}
const quick = values.quick
const reps = Number(values.reps ?? (quick ? 1 : 3))
const seconds = Number(values.duration ?? (quick ? 3 : 10))
const warmupSeconds = quick ? 1 : 2
if (!(Number.isInteger(reps) && reps >= 1 && reps <= 20 && Number.isInteger(seconds) && seconds >= 1 && seconds <= 120)) {
  process.stderr.write('bench: --reps must be 1–20 and --duration 1–120 (whole seconds)\n')
  process.exit(2)
}
const only = values.peers?.split(',').map((n) => n.trim())
const selected: Peer[] = peers.filter((p) => only !== undefined ? p.name === 'direct' || only.includes(p.name) : !quick || p.quick)
if (only !== undefined && selected.length !== only.length + (only.includes('direct') ? 0 : 1)) {
  process.stderr.write(`bench: --peers names one of: ${peers.map((p) => p.name).join(', ')}\n`)
  process.exit(2)
}
if (values.baseline !== undefined) selected.splice(selected.findIndex((p) => p.name === 'Pilotfish') + 1, 0, baselinePeer(values.baseline))
const commandLine = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`
const log = (line: string): void => { process.stderr.write(line + '\n') }

// Cleanup on every way out: the processes we started (by their process group) and the scratch directory.
const dir = mkdtempSync(join(tmpdir(), 'pilotfish-bench-'))
const cleanup = (): void => { killAllNow(); rmSync(dir, { recursive: true, force: true }) }
process.on('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => { log(`bench: ${signal}, stopping`); process.exit(130) })

/** Runs bench/rate.ts on the load core and reads its JSON line. */
function runRate (port: number, headersFile?: string): Promise<Omit<RateSample, 'foreignPct'>> {
  return new Promise((resolve, reject) => {
    const child = track(spawn('taskset', ['-c', String(loadCore), process.execPath, join(repo, 'bench/rate.ts'), String(port), bodies[0].path, '1000', String(seconds), '10', '1',
      ...(headersFile === undefined ? [] : [headersFile])],
      { stdio: ['ignore', 'pipe', 'inherit'] }))
    let out = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString('latin1') })
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000)
    child.on('close', (code) => {
      clearTimeout(guard)
      try { if (code !== 0) throw new Error(`rate.ts exited with ${code}`); resolve(JSON.parse(out) as Omit<RateSample, 'foreignPct'>) } catch (e) { reject(e as Error) }
    })
  })
}

/** One wrk run with its warm-up; CPU and peak RSS of the proxy's process tree around the measured part only. */
async function measure (running: Running, body: (typeof bodies)[number], rssIdle: number | undefined, script: string | undefined): Promise<Omit<LoadSample, 'foreignPct'>> {
  await runWrk(running.port, body.path, warmupSeconds, script)
  const pids = running.pids()
  const cpuBefore = cpuMicros(pids)
  const poll = pollPeakRss(pids)
  const w = await runWrk(running.port, body.path, seconds, script)
  const cpu = cpuMicros(pids) - cpuBefore
  const rssPeak = poll.stop()
  const isProxy = pids.length > 0
  return { rps: w.rps, p50ms: w.p50ms, p99ms: w.p99ms, errors: w.errors, cpuUsPerRequest: isProxy ? cpu / w.requests : undefined, rssIdle, rssPeak: isProxy ? rssPeak : undefined }
}

/**
 * Runs a measurement and what other processes used meanwhile (machine busy time minus ours, % of one core). This
 * machine may be shared: a disturbed measurement (above 10 %) is repeated after waiting for quiet, at most twice.
 */
async function undisturbed<T> (ours: readonly number[], what: string, fn: () => Promise<T>): Promise<T & { foreignPct: number }> {
  const once = async (): Promise<T & { foreignPct: number }> => {
    const [busy, mine, t0] = [machineBusyMicros(), cpuMicros(ours) + selfAndChildrenMicros(), performance.now()]
    const value = await fn()
    const others = (machineBusyMicros() - busy) - (cpuMicros(ours) + selfAndChildrenMicros() - mine)
    return { ...value, foreignPct: Math.max(0, others) / ((performance.now() - t0) * 1000) * 100 }
  }
  let result = await once()
  for (let attempt = 2; attempt <= 3 && result.foreignPct > 10; attempt++) {
    log(`bench: ${what}: other processes used ${result.foreignPct.toFixed(0)} % of a core; waiting for quiet, then measuring again`)
    await waitForQuiet(ours, 15, 180)
    result = await once()
  }
  return result
}

/** Pilotfish with two shards, doing nothing: what a sidecar costs a container while its service is quiet. */
async function idleTwoShards (ctx: Context): Promise<number> {
  const [port, admin] = [await freePort(), await freePort()]
  const child = start(process.execPath, [pilotfishEntry(ctx.pilotfish), 'proxy', '--from', `127.0.0.1:${port}`, '--to', `127.0.0.1:${ctx.upstreamPort}`,
    '--shards', '2', '--admin', `127.0.0.1:${admin}`], { core: proxyCore, env: { ...process.env, ...mallocEnv }, cwd: ctx.pilotfish })
  try {
    await waitHttp(port, bodies[0].path, 20000, child)
    await sleep(2000)
    return rssBytes(processTree(child.pid as number))
  } finally { await stop(child) }
}

/**
 * The issue's reload scenario: 20 plugin code reloads in 30 s under keep-alive and new-connection load with a
 * WebSocket held open, in a network namespace of its own (where tcp_migrate_req is on; test/e2e/netns.ts).
 */
async function reloadScenario (ctx: Context): Promise<ReloadScenario> {
  const script = join(ctx.pilotfish, 'test/e2e/scenarios/reload-under-load.ts')
  const run = await runInOwnNetns(script, ['--reloads', '20', '--seconds', '30', '--workers', '8', '--shards', '2'], 180_000)
  if (run.code !== 0) throw new Error(`reload scenario exited with ${run.code}: ${run.stderr.slice(-500)}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as ReloadScenario
}

/**
 * The issue's target-failure scenario: one of 3 backends killed under load for 10 s, then restarted. In a network
 * namespace of its own too: nothing else on the machine can take the dead backend's port before it listens again,
 * and the namespace's TCP counters, which tell when Pilotfish stopped trying the dead port, count only its traffic.
 */
async function targetFailureScenario (ctx: Context): Promise<TargetFailureScenario> {
  const script = join(ctx.pilotfish, 'test/e2e/scenarios/target-failure.ts')
  const run = await runInOwnNetns(script, ['--warmup', '5', '--seconds', '10', '--after', '5', '--workers', '8', '--shards', '2'], 180_000)
  if (run.code !== 0) throw new Error(`target-failure scenario exited with ${run.code}: ${run.stderr.slice(-500)}`)
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as TargetFailureScenario
}

function versions (): string {
  const first = (cmd: string, args: string[]): string => (spawnSync(cmd, args, { encoding: 'latin1' }).stdout + spawnSync(cmd, args, { encoding: 'latin1' }).stderr).split('\n')[0]?.trim() ?? '?'
  return `Node ${process.version}; ${first('haproxy', ['-v'])}; ${first('nginx', ['-v'])}; ${first('wrk', ['-v'])}; kernel ${first('uname', ['-r'])}`
}

async function main (): Promise<void> {
  if (Number(process.versions.node.split('.')[0]) < 24) throw new Error('run with Node 24 (npm run bench uses the project\'s node devDependency)')
  const coreProblem = checkCores()
  if (coreProblem !== undefined) throw new Error(coreProblem)
  ensureDebianPackages()
  ensureNpmPeers(repo)
  const pilotfish = snapshotPilotfish(repo, dir)
  // This process polls /proc and spawns the load: it belongs with the load on core 0, never on the proxy's core.
  execFileSync('taskset', ['-a', '-p', '-c', String(loadCore), String(process.pid)], { stdio: 'ignore' })

  const upstream = await startUpstream({ dir, repo, pilotfish: pilotfish.root, node: process.execPath })
  const ctx: Context = { dir, repo, pilotfish: pilotfish.root, node: process.execPath, upstreamPort: upstream.port }
  if (values.baseline !== undefined) ctx.baseline = snapshotCommit(repo, dir, values.baseline)
  const upstreamPids = processTree(upstream.child.pid as number)
  const results: Results = { load: new Map(), rate: new Map(), checks: new Map(), idleShards2: [] }
  const started = Date.now()
  for (let round = 1; round <= reps; round++) {
    for (const peer of selected) {
      log(`bench: round ${round}/${reps}: ${peer.name} (${((Date.now() - started) / 1000).toFixed(0)} s so far)`)
      let running: Running | undefined
      try {
        await waitForQuiet(upstreamPids, 15, 180)
        running = await peer.start(ctx)
        for (const b of bodies) {
          const got = await httpGet(running.port, b.path)
          if (got.status !== 200 || got.bodyLength !== b.bytes) throw new Error(`${b.path} answered ${got.status} with ${got.bodyLength} bytes`)
        }
        await sleep(2000) // settle, then idle RSS (before any load)
        const pids = running.pids()
        const rssIdle = pids.length > 0 ? rssBytes(pids) : undefined
        const byBody = results.load.get(peer.name) ?? new Map<string, LoadSample[]>()
        results.load.set(peer.name, byBody)
        const ours = [...pids, ...upstreamPids]
        // A peer whose clients send headers of their own (the stickiness peer's cookies): wrk and bench/rate.ts send them in turn.
        let script: string | undefined
        let headersFile: string | undefined
        if (running.headers !== undefined) {
          script = join(dir, 'wrk-headers.lua')
          writeCyclingScript(script, running.headers)
          headersFile = join(dir, 'rate-headers.txt')
          writeFileSync(headersFile, running.headers.join('\n') + '\n')
        }
        for (const b of bodies) {
          const sample = await undisturbed(ours, `${peer.name} ${b.label}`, () => measure(running as Running, b, rssIdle, script))
          byBody.set(b.label, [...(byBody.get(b.label) ?? []), sample])
        }
        const port = running.port
        const rate = await undisturbed(ours, `${peer.name} at 1,000 requests/s`, () => runRate(port, headersFile))
        results.rate.set(peer.name, [...(results.rate.get(peer.name) ?? []), rate])
        if (running.check !== undefined) {
          const check = await running.check().then((line) => ({ ok: true, line }), (e: unknown) => ({ ok: false, line: (e as Error).message }))
          results.checks.set(peer.name, [...(results.checks.get(peer.name) ?? []), check])
          log(`bench: ${peer.name}: ${check.ok ? '' : 'CHECK FAILED: '}${check.line}`)
        }
      } catch (e) {
        log(`bench: ${peer.name} failed in round ${round}: ${(e as Error).message}`)
      } finally {
        if (running?.child !== undefined) await stop(running.child)
      }
    }
    results.idleShards2.push(await idleTwoShards(ctx).catch((e: unknown) => { log(`bench: --shards 2 idle: ${(e as Error).message}`); return NaN }))
  }
  await stop(upstream.child)
  if (!quick && only === undefined) {
    log('bench: plugin reload scenario (20 reloads in 30 s)')
    results.reload = await reloadScenario(ctx).catch((e: unknown) => { log(`bench: reload scenario: ${(e as Error).message}`); return undefined })
    log('bench: target-failure scenario (one of 3 targets killed for 10 s under load, then restarted)')
    results.targetFailure = await targetFailureScenario(ctx).catch((e: unknown) => { log(`bench: target-failure scenario: ${(e as Error).message}`); return undefined })
  }

  const header = [
    `# Pilotfish benchmark, ${new Date().toISOString()}`, '',
    `Command: \`${commandLine}\` (${reps} interleaved repetition(s), ${seconds} s per run after a ${warmupSeconds} s warm-up, wrk -t1 -c50 keep-alive; ` +
    `proxy alone on core 1, wrk/bench/rate.ts and the nginx upstream on core 0). Cells: median (min–max).`, '',
    `Every Node process (Pilotfish and the Node peers) ran with MALLOC_TRIM_THRESHOLD_=${mallocEnv.MALLOC_TRIM_THRESHOLD_} MALLOC_TOP_PAD_=${mallocEnv.MALLOC_TOP_PAD_}.`, '',
    `Pilotfish measured: a copy of the work tree taken at the start, ${pilotfish.version}. ${versions()}`, '',
  ].join('\n')
  const before = values.baseline === undefined ? '' : `\n\nBefore and after (the work tree against ${values.baseline}, same rounds):\n\n${renderBaseline(results, `Pilotfish @${values.baseline}`)}\n`
  const failure = results.targetFailure === undefined ? '' : `\nA target killed and restarted under load:\n\n${renderTargetFailure(results.targetFailure)}\n`
  const text = `${header}\n${renderTables(results, selected.map((p) => p.name))}\n\nTargets:\n\n${renderTargets(results)}\n${failure}${before}`
  mkdirSync(join(repo, 'bench/results'), { recursive: true })
  writeFileSync(join(repo, 'bench/results/latest.md'), text)
  process.stdout.write(text)
  log(`bench: written to bench/results/latest.md in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

main().catch((e: unknown) => { log(`bench: ${(e as Error).stack ?? String(e)}`); process.exitCode = 1 })
