// Fakes for driving the HTTP/1.1 exchange from both sides without sockets: a client side that records what it
// was sent, target connections the test answers for, and a listener runtime around them. Only the engine's
// edges are faked (the ClientSide and TargetSide interfaces); the exchange, the decision stage, the parsers
// and the containment are the real ones.
import { parseRequestHead, type RequestHead } from '../../../core/http1/request-head.ts'
import { HttpError } from '../../../core/http1/head.ts'
import type { ClientSide } from '../../../core/forwarder/exchange.ts'
import type { ConnectionUser, TargetConnector, TargetSide } from '../../../core/forwarder/target-pool.ts'
import type { FinishedRequest, GroupRuntime, ListenerRuntime } from '../../../core/runtime.ts'
import type { Rule, RuleSource } from '../../../core/rule/rule-table.ts'
import type { Selector, Target } from '../../../core/pipeline.ts'
import type { PluginHooks } from '../../../core/plugin-api.ts'
import { PluginInstance } from '../../../core/plugin/instance.ts'
import { Forward } from '../../../core/rule/actions.ts'

export class FakeClient implements ClientSide {
  readonly clientIp = '192.0.2.1'
  readonly clientPort = 40000
  readonly connection = null
  draining = false
  out = ''
  done: boolean[] = []
  tunnel = false
  destroyed = false
  paused = false
  write (data: Buffer | string): boolean { this.out += typeof data === 'string' ? data : data.toString('latin1'); return true }
  writeTransient (chunk: Buffer): boolean { return this.write(chunk) }
  writeHeadAndBody (head: string, body: Buffer | null): boolean { return this.write(head + (body === null ? '' : body.toString('latin1'))) }
  onExchangeDone (keepAlive: boolean): void { this.done.push(keepAlive) }
  startTunnel (): void { this.tunnel = true }
  pauseReading (): void { this.paused = true }
  resumeReading (): void { this.paused = false }
  destroy (): void { this.destroyed = true }
}

export class FakeTarget implements TargetSide {
  readonly pool: FakePool
  uses = 0
  connected = true
  user: ConnectionUser | null = null
  written = ''
  corked = false
  paused = false
  released = false
  destroyed = false
  timeoutMs = 0
  constructor (pool: FakePool) {
    this.pool = pool
    this.connected = pool.connects
  }
  attach (user: ConnectionUser, responseTimeoutMs: number): void { this.user = user; this.uses++; this.timeoutMs = responseTimeoutMs }
  write (data: Buffer | string): boolean { this.written += typeof data === 'string' ? data : data.toString('latin1'); return true }
  cork (): void { this.corked = true }
  flush (): void { this.corked = false }
  pause (): void { this.paused = true }
  resume (): void { this.paused = false }
  setTimeout (ms: number): void { this.timeoutMs = ms }
  release (): void { this.user = null; this.released = true; this.pool.idle.push(this) }
  destroy (): void { this.user = null; this.destroyed = true }
  /** The target sends bytes (each string one read). */
  send (...reads: string[]): void { for (const r of reads) this.user!.onTargetData(Buffer.from(r, 'latin1')) }
  /** The target closes the connection. */
  close (hadBytes: boolean): void { const u = this.user!; this.user = null; u.onTargetClose(hadBytes) }
  /** A new connection is established. */
  connect (): void { this.connected = true; this.user!.onTargetConnect() }
  /** A new connection is refused (it closes before it was established). */
  refuse (): void { this.close(false) }
}

export class FakePool implements TargetConnector {
  idle: FakeTarget[] = []
  opened: FakeTarget[] = []
  /** New connections are established at once (false: the test calls connect() or refuse() on them). */
  connects = true
  takeIdle (): TargetSide | null { return this.idle.pop() ?? null }
  open (): FakeTarget { const c = new FakeTarget(this); this.opened.push(c); return c }
  /** The connection the latest request went out on. */
  get last (): FakeTarget { return this.opened.at(-1)! }
}

export function head (text: string): RequestHead {
  const h = parseRequestHead(text, { maxHeaderCount: 64 })
  if (h instanceof HttpError) throw new Error(h.reason)
  return h
}

export interface Fixture {
  listener: ListenerRuntime
  /** The first target's pool, and the first target. */
  pool: FakePool
  target: Target
  pools: FakePool[]
  targets: Target[]
  finished: FinishedRequest[]
}

export interface FixtureOptions {
  hooks?: PluginHooks
  rules?: (forward: Rule) => RuleSource
  timeoutMs?: number
  /** Targets in group "app", 10.0.0.1:80, 10.0.0.2:80, …: 1 unless given. */
  targets?: number
  /** The group's selector; by default round robin over the eligible targets, from the first. */
  selector?: (targets: Target[]) => Selector
}

/** Round robin over the eligible targets, as the core's selector does it. */
export function roundRobin (targets: Target[]): Selector {
  let next = 0
  return {
    select () {
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(next + k) % targets.length]!
        if (t.eligible) {
          next = (next + k + 1) % targets.length
          return t
        }
      }
      return null
    },
  }
}

/** A listener whose rule forwards to group "app" (each target through its fake pool), or uses `rules`. */
export function fixture (options: FixtureOptions = {}): Fixture {
  const targets: Target[] = []
  const pools: FakePool[] = []
  for (let i = 1; i <= (options.targets ?? 1); i++) {
    targets.push({ endpoint: { id: `10.0.0.${i}:80`, host: `10.0.0.${i}`, port: 80, inFlight: 0 }, weight: 1, eligible: true })
    pools.push(new FakePool())
  }
  const pool = pools[0]!
  const target = targets[0]!
  const group: GroupRuntime = {
    group: { name: 'app', targets },
    selector: (options.selector ?? roundRobin)(targets),
    responseTimeoutMs: 1000,
    onForward: [],
    onResponse: [],
    onRequestEnd: [],
    onTargetFailure: [],
    refresh () {},
  }
  const forward: Rule = { name: 'default', priority: Infinity, index: 0, action: new Forward({ targetGroups: [{ name: 'app', weight: 1 }] }) }
  const plugin = options.hooks === undefined ? null : new PluginInstance('test', '1', options.hooks, true, options.timeoutMs ?? 1000, () => {})
  const withHook = (hook: keyof PluginHooks): PluginInstance[] => plugin !== null && plugin.hooks[hook] !== undefined ? [plugin] : []
  const finished: FinishedRequest[] = []
  const listener: ListenerRuntime = {
    name: 'test',
    settings: {
      idleTimeoutMs: 60000, headerTimeoutMs: 10000, bodyTimeoutMs: 10000, minBodyRate: 0, minBodyRateGraceMs: 0, maxHeadBytes: 65536, maxHeaderCount: 64,
      accessLog: false, xForwardedFor: 'remove', xForwardedClientPort: false, preserveHost: true, protocol: 'http', listenerPort: 80,
    },
    rules: options.rules?.(forward) ?? { rules: [], match: () => forward },
    groups: new Map([['app', group]]),
    observer: { onRequestEnd: (r) => { finished.push(r) }, onRejected () {}, onRefused () {} },
    allowFrom: null,
    endpoints: { connector: (e) => pools[targets.findIndex((t) => t.endpoint === e)] },
    onRequest: withHook('onRequest'),
    onForward: withHook('onForward'),
    onResponse: withHook('onResponse'),
    onRequestEnd: withHook('onRequestEnd'),
  }
  return { listener, pool, target, pools, targets, finished }
}
