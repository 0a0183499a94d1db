// The proxies the benchmark compares, the nginx upstream they all forward to, and how each one is started.
import type { ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, processTree, start, stop, waitHttp } from './procs.ts'
import { fetchCookies, stickinessCounts, targetsNamed } from './sticky.ts'

/** Cores of this 2-core machine: the load (wrk or bench/rate.ts) and the upstream share one, the proxy has the other. */
export const loadCore = 0
export const proxyCore = 1

/** The two response bodies, served by the upstream as static files. */
export const bodies = [
  { label: '12 B', path: '/12b', bytes: 12 },
  { label: '16 KiB', path: '/16k', bytes: 16384 },
] as const

/**
 * glibc would otherwise trim and re-fault heap around Node's 64 KiB socket read buffers (DATA-PLANE.md);
 * read at process start, so it goes into the environment of every Node peer, not only Pilotfish's.
 */
export const mallocEnv = { MALLOC_TRIM_THRESHOLD_: '268435456', MALLOC_TOP_PAD_: '67108864' }

export interface Context {
  dir: string // scratch directory for configs, bodies, pid files
  repo: string // the repository root
  pilotfish: string // the root of the Pilotfish copy being measured (bench/setup.ts snapshotPilotfish)
  baseline?: string // the root of an earlier commit's copy, measured beside it (--baseline)
  node: string // the Node 24 binary running this benchmark
  upstreamPort: number
}

/** Pilotfish's command as installed: package.json's bin (a JS entry that turns on the compile cache), else sidecar/cli.ts. */
export function pilotfishEntry (repo: string): string {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { bin?: Record<string, string> }
  return join(repo, pkg.bin?.pilotfish ?? 'sidecar/cli.ts')
}

export interface Running {
  port: number
  child?: ChildProcess // undefined for "direct": nothing runs between wrk and the upstream
  pids: () => number[] // the process tree measured for CPU and RSS
  admin?: number // the admin API's port, for peers run from a config file
  /** Header lines the load sends, one per request in turn (wrk through a Lua script, bench/rate.ts too); none: a fixed request. */
  headers?: readonly string[]
  /** Checked after the peer's measurements, outside the timing: what the load exercised, as a line for the report; throws if it did not. */
  check?: () => Promise<string>
}

export interface Peer {
  name: string
  quick: boolean // part of the --quick smoke set
  start: (ctx: Context) => Promise<Running>
}

/** Starts a process on the proxy core, waits for it to proxy a request, returns it. */
async function launch (command: string, args: (port: number) => string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string }): Promise<Running> {
  const port = await freePort()
  const child = start(command, args(port), { core: proxyCore, env: opts.env, cwd: opts.cwd })
  try {
    await waitHttp(port, bodies[0].path, 20000, child)
  } catch (e) {
    await stop(child)
    throw e
  }
  const pid = child.pid as number
  return { port, child, pids: () => processTree(pid) }
}

function nodePeer (name: string, script: string, quick = false): Peer {
  return {
    name,
    quick,
    start: (ctx) => launch(ctx.node, (port) => [join(ctx.repo, 'bench/peers', script), String(port), String(ctx.upstreamPort)],
      { env: { ...process.env, ...mallocEnv }, cwd: ctx.repo }),
  }
}

function pilotfish (name: string, accessLog: boolean, quick: boolean, rootOf = (ctx: Context): string => ctx.pilotfish): Peer {
  return {
    name,
    quick,
    async start (ctx) {
      const root = rootOf(ctx)
      const admin = await freePort() // a different admin port per instance (the default 9901 may be taken)
      const args = (port: number): string[] => [pilotfishEntry(root), 'proxy', '--from', `127.0.0.1:${port}`,
        '--to', `127.0.0.1:${ctx.upstreamPort}`, '--shards', '1', '--admin', `127.0.0.1:${admin}`,
        ...(accessLog ? ['--access-log'] : [])]
      // stdout (the access log) goes to /dev/null: start() never pipes stdout.
      return await launch(ctx.node, args, { env: { ...process.env, ...mallocEnv }, cwd: root })
    },
  }
}

/** Plain Pilotfish at an earlier commit (`--baseline REV`), measured in the same rounds as the work tree. */
export function baselinePeer (rev: string): Peer {
  return pilotfish(`Pilotfish @${rev}`, false, false, (ctx) => ctx.baseline!)
}

/**
 * Pilotfish run from a config file written for the peer (`run --config`, one shard): `config` gets the port the
 * listener must use, the admin API's, and the context (the upstream's port, the copy's root).
 */
function pilotfishWith (name: string, file: string, config: (port: number, admin: number, ctx: Context) => object): Peer {
  return {
    name,
    quick: true,
    async start (ctx) {
      const admin = await freePort()
      const path = join(ctx.dir, file)
      const write = (port: number): string => {
        writeFileSync(path, JSON.stringify(config(port, admin, ctx)))
        return path
      }
      const running = await launch(ctx.node, (port) => [pilotfishEntry(ctx.pilotfish), 'run', '--config', write(port), '--shards', '1'],
        { env: { ...process.env, ...mallocEnv }, cwd: ctx.pilotfish })
      return { ...running, admin }
    },
  }
}

/** Pilotfish with one plugin whose request hook does nothing: what the plugin runtime costs a request. */
const pilotfishNoop = pilotfishWith('Pilotfish + no-op plugin', 'pilotfish-noop.json', (port, admin, ctx) => ({
  admin: { host: '127.0.0.1', port: admin },
  listeners: [{ name: 'p', host: '127.0.0.1', port, plugins: ['noop'], defaultAction: { type: 'forward', targetGroups: [{ name: 't' }] } }],
  targetGroups: [{ name: 't', targets: [{ host: '127.0.0.1', port: ctx.upstreamPort }] }],
  plugins: [{ name: 'noop', from: join(ctx.pilotfish, 'bench/plugins/noop.ts') }],
}))

/**
 * Pilotfish with active health checks and outlier detection on its one group: what the built-in health-check
 * plugin costs a request (its onRequestEnd/onTargetFailure hooks and eligibility answers) and the sidecar (a probe
 * of the upstream every 5 s through the worker pool). The issue's bar: ≥ 0.95× plain Pilotfish's throughput.
 */
const pilotfishHealth = pilotfishWith('Pilotfish + health checks', 'pilotfish-health.json', (port, admin, ctx) => ({
  admin: { host: '127.0.0.1', port: admin },
  listeners: [{ name: 'p', host: '127.0.0.1', port, defaultAction: { type: 'forward', targetGroups: [{ name: 't' }] } }],
  targetGroups: [{ name: 't', targets: [{ host: '127.0.0.1', port: ctx.upstreamPort }], healthCheck: { path: bodies[0].path, intervalSeconds: 5 }, outlierDetection: {} }],
}))

/**
 * The upstream also listens on these loopback addresses, same port: a group of several targets that are one nginx,
 * so a sticky cookie names one of several targets while every peer still measures the same upstream.
 */
export const upstreamHosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'] as const

/** Pilotfish with one group of the upstream's four addresses, round robin: the multi-target group stickiness is measured on, without it. */
const pilotfishFour = pilotfishWith('Pilotfish (4 targets)', 'pilotfish-four.json', (port, admin, ctx) => ({
  admin: { host: '127.0.0.1', port: admin },
  listeners: [{ name: 'p', host: '127.0.0.1', port, defaultAction: { type: 'forward', targetGroups: [{ name: 't' }] } }],
  targetGroups: [{ name: 't', targets: upstreamHosts.map((host) => ({ host, port: ctx.upstreamPort })) }],
}))

/** How many sticky cookies the stickiness peer's clients hold: a quarter of them name each target. */
const STICKY_COOKIES = 128

/**
 * Pilotfish with `lb_cookie` stickiness on a group of the upstream's four addresses, its clients sending valid
 * cookies: before the load, 128 cookie-less requests collect a cookie each (32 per target, round robin), and each
 * request of the load sends the next of them. What the plugin costs a returning client: reading the cookie, a hit
 * in its cache of verified values, the token's target. After the load, /metrics must show them all honoured.
 */
const stickyBase = pilotfishWith('Pilotfish + stickiness (lb_cookie)', 'pilotfish-sticky.json', (port, admin, ctx) => ({
  admin: { host: '127.0.0.1', port: admin },
  listeners: [{ name: 'p', host: '127.0.0.1', port, defaultAction: { type: 'forward', targetGroups: [{ name: 't' }] } }],
  targetGroups: [{ name: 't', targets: upstreamHosts.map((host) => ({ host, port: ctx.upstreamPort })), stickiness: { type: 'lb_cookie' } }],
  stickiness: { keys: ['pilotfish-bench-sticky-key-not-a-secret-0123456789'] },
}))
const pilotfishSticky: Peer = {
  ...stickyBase,
  async start (ctx) {
    const running = await stickyBase.start(ctx)
    try {
      const admin = running.admin!
      const cookies = await fetchCookies(running.port, bodies[0].path, STICKY_COOKIES)
      if (targetsNamed(cookies) !== upstreamHosts.length) throw new Error(`the cookies name ${targetsNamed(cookies)} targets, not ${upstreamHosts.length}`)
      const before = await stickinessCounts(admin)
      return {
        ...running,
        headers: cookies.map((c) => `Cookie: ${c}`),
        async check () {
          const after = await stickinessCounts(admin)
          const d = (r: string): number => (after.get(r) ?? 0) - (before.get(r) ?? 0)
          const others = ['new', 'expired', 'invalid', 'target_gone'].map((r) => [r, d(r)] as const)
          const line = `honoured ${d('honoured')}, ${others.map(([r, n]) => `${r} ${n}`).join(', ')}`
          // Only run.ts's cookie-less body checks may come as new; every request of the load carries a valid cookie.
          if (d('honoured') === 0 || others.some(([r, n]) => n > (r === 'new' ? bodies.length : 0))) throw new Error(`cookies not honoured as sent: ${line}`)
          return line
        },
      }
    } catch (e) {
      await stop(running.child!)
      throw e
    }
  },
}

const haproxy: Peer = {
  name: 'HAProxy',
  quick: true,
  async start (ctx) {
    const file = join(ctx.dir, 'haproxy.cfg')
    return await launch('haproxy', (port) => {
      writeFileSync(file, `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 60s
frontend bench
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  http-reuse safe
  server nginx 127.0.0.1:${ctx.upstreamPort}
`)
      return ['-db', '-f', file] // -db: foreground, no daemon; no "log" line anywhere, so no logging
    }, {})
  },
}

/** nginx's own files (pid, error log, temp dirs) live under a prefix in the scratch directory. */
function nginxArgs (ctx: Context, name: string, conf: string): string[] {
  const prefix = join(ctx.dir, name)
  mkdirSync(prefix, { recursive: true })
  chmodSync(prefix, 0o755)
  writeFileSync(join(prefix, 'nginx.conf'), conf)
  return ['-p', prefix + '/', '-e', join(prefix, 'error.log'), '-c', join(prefix, 'nginx.conf')]
}

// keepalive_requests defaults to 1000 in nginx; raised so neither nginx closes connections mid-run.
const nginxPeer: Peer = {
  name: 'NGINX',
  quick: false,
  start: (ctx) => launch('nginx', (port) => nginxArgs(ctx, 'nginx-peer', `daemon off;
worker_processes 1;
pid nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream target {
    server 127.0.0.1:${ctx.upstreamPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://target;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`), {}),
}

export const peers: Peer[] = [
  { name: 'direct', quick: true, start: async (ctx) => ({ port: ctx.upstreamPort, pids: () => [] }) },
  pilotfish('Pilotfish', false, true),
  pilotfishNoop,
  pilotfishHealth,
  { ...pilotfishFour, quick: false },
  pilotfishSticky,
  pilotfish('Pilotfish + access log', true, false),
  haproxy,
  nginxPeer,
  nodePeer('@fastify/http-proxy', 'fastify-proxy.ts'),
  nodePeer('http-proxy', 'http-proxy.ts'),
  nodePeer('undici reference', 'undici-proxy.ts', true),
]

/** The upstream: its own nginx with one worker on the load core, static files for both bodies, keep-alive. */
export async function startUpstream (ctx: Omit<Context, 'upstreamPort'>): Promise<{ port: number, child: ChildProcess }> {
  const port = await freePort()
  const root = join(ctx.dir, 'www')
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, '12b'), 'hello world\n')
  writeFileSync(join(root, '16k'), 'x'.repeat(16384))
  chmodSync(ctx.dir, 0o755) // nginx's worker runs as www-data and must reach the files
  chmodSync(root, 0o755)
  const child = start('nginx', nginxArgs({ ...ctx, upstreamPort: port }, 'nginx-upstream', `daemon off;
worker_processes 1;
pid nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  open_file_cache max=16;
  sendfile on;
  default_type text/plain;
  etag off;
  server {
${upstreamHosts.map((host) => `    listen ${host}:${port} backlog=4096;`).join('\n')}
    root ${root};
  }
}
`), { core: loadCore })
  await waitHttp(port, bodies[0].path, 10000, child)
  return { port, child }
}
