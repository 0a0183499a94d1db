// The shard supervisor: starts N worker threads, publishes snapshots to all, gathers their stats, and
// replaces a shard that dies (an uncaught error in a shard costs that shard's connections, not the sidecar).
import { Worker } from 'node:worker_threads'
import { PilotfishError } from '../../core/errors.ts'
import type { SnapshotMessage } from '../../core/snapshot.ts'
import type { FromShard, ToShard } from '../shard/messages.ts'

type Stats = Extract<FromShard, { type: 'stats' }>
const SHARD_ENTRY = new URL('../shard/shard.ts', import.meta.url)
const EXITED: FromShard = { type: 'apply-failed', version: -1, message: 'shard exited' }

class ShardHandle {
  readonly index: number
  readonly worker: Worker
  readonly ready: Promise<void>
  #waiters = new Map<string, (m: FromShard) => void>()
  exited = false

  constructor (index: number, onExit: (h: ShardHandle, code: number) => void) {
    this.index = index
    this.worker = new Worker(SHARD_ENTRY, { workerData: { pilotfishShard: true, index } })
    this.ready = new Promise((resolve, reject) => {
      this.#waiters.set('ready', () => resolve())
      this.worker.once('error', reject)
    })
    this.worker.on('message', (m: FromShard) => this.#onMessage(m))
    this.worker.on('error', () => {}) // 'exit' follows
    this.worker.on('exit', (code) => {
      this.exited = true
      for (const w of this.#waiters.values()) w(EXITED)
      this.#waiters.clear()
      onExit(this, code)
    })
  }

  #onMessage (m: FromShard): void {
    const key = m.type === 'stats' ? `stats:${m.id}` : m.type === 'applied' || m.type === 'apply-failed' ? `apply:${m.version}` : m.type
    const w = this.#waiters.get(key)
    if (w === undefined) return
    this.#waiters.delete(key)
    w(m)
  }

  request (msg: ToShard, key: string): Promise<FromShard> {
    return new Promise((resolve) => {
      if (this.exited) return resolve(EXITED)
      this.#waiters.set(key, resolve)
      this.worker.postMessage(msg)
    })
  }
}

export class ShardPool {
  readonly #shards: ShardHandle[] = []
  readonly #count: number
  #statsId = 0
  #last: SnapshotMessage | null = null
  #stopping = false
  /** Shards replaced after dying, for the status API and the log. */
  restarts = 0
  onRestart: (index: number, code: number) => void = () => {}

  constructor (count: number) {
    this.#count = count
  }

  get size (): number { return this.#count }

  async start (): Promise<void> {
    for (let i = 0; i < this.#count; i++) this.#shards.push(this.#spawn(i))
    await Promise.all(this.#shards.map((s) => s.ready))
  }

  #spawn (index: number): ShardHandle {
    return new ShardHandle(index, (h, code) => {
      if (this.#stopping || this.#shards[index] !== h) return
      this.restarts++
      this.onRestart(index, code)
      const next = this.#spawn(index)
      this.#shards[index] = next
      // The replacement binds the same listeners (reusePort) from the running snapshot.
      const last = this.#last
      if (last !== null) void next.ready.then(() => next.request({ type: 'snapshot', snapshot: last }, `apply:${last.version}`))
    })
  }

  /** Publishes a snapshot to every shard; rejects with the first reason if any could not apply it. */
  async publish (snapshot: SnapshotMessage): Promise<void> {
    const results = await Promise.all(this.#shards.map((s) => s.request({ type: 'snapshot', snapshot }, `apply:${snapshot.version}`)))
    const failed = results.findIndex((r) => r.type === 'apply-failed')
    if (failed !== -1) {
      const r = results[failed]!
      throw new PilotfishError('PF_ERR_SHARD_FAILED', [failed, r.type === 'apply-failed' ? r.message : ''])
    }
    this.#last = snapshot
  }

  async stats (): Promise<Stats[]> {
    const id = ++this.#statsId
    const all = await Promise.all(this.#shards.map((s) => s.request({ type: 'stats', id }, `stats:${id}`)))
    return all.filter((m): m is Stats => m.type === 'stats')
  }

  /** Ends a shard at once; it is replaced like a shard that died (the watchdog's and the tests' lever). */
  async kill (index: number): Promise<void> {
    await this.#shards[index]?.worker.terminate()
  }

  async stop (deadlineMs: number): Promise<void> {
    this.#stopping = true
    await Promise.all(this.#shards.map(async (s) => {
      if (s.exited) return
      await s.request({ type: 'drain', deadlineMs }, 'drained')
      await s.worker.terminate()
    }))
  }
}
