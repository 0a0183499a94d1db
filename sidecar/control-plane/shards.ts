// The shard supervisor: starts N worker threads, publishes snapshots to all, gathers their stats.
import { Worker } from 'node:worker_threads'
import { PilotfishError } from '../../core/errors.ts'
import type { SnapshotMessage } from '../../core/snapshot.ts'
import type { FromShard, ToShard } from '../shard/messages.ts'

type Stats = Extract<FromShard, { type: 'stats' }>
const SHARD_ENTRY = new URL('../shard/shard.ts', import.meta.url)

class ShardHandle {
  readonly index: number
  readonly worker: Worker
  #waiters = new Map<string, (m: FromShard) => void>()
  exited = false

  constructor (index: number, env: Record<string, string | undefined>) {
    this.index = index
    this.worker = new Worker(SHARD_ENTRY, { workerData: { pilotfishShard: true, index }, env })
    this.worker.on('message', (m: FromShard) => this.#onMessage(m))
    this.worker.on('exit', () => {
      this.exited = true
      for (const w of this.#waiters.values()) w({ type: 'apply-failed', version: -1, message: 'shard exited' })
      this.#waiters.clear()
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
      if (this.exited) return resolve({ type: 'apply-failed', version: -1, message: 'shard exited' })
      this.#waiters.set(key, resolve)
      this.worker.postMessage(msg)
    })
  }
}

export class ShardPool {
  readonly #shards: ShardHandle[] = []
  #statsId = 0

  constructor (count: number) {
    // glibc returns and re-faults heap around 64 KiB socket reads; worker threads share the process heap,
    // so the setting must be in the environment before node starts (see docs/performance.md).
    for (let i = 0; i < count; i++) this.#shards.push(new ShardHandle(i, process.env))
  }

  get size (): number { return this.#shards.length }

  async start (): Promise<void> {
    await Promise.all(this.#shards.map((s) => new Promise<void>((resolve, reject) => {
      s.worker.once('message', () => resolve())
      s.worker.once('error', reject)
    })))
  }

  /** Publishes a snapshot to every shard; rejects with every shard's reason if any could not apply it. */
  async publish (snapshot: SnapshotMessage): Promise<void> {
    const results = await Promise.all(this.#shards.map((s) => s.request({ type: 'snapshot', snapshot }, `apply:${snapshot.version}`)))
    const failed = results.filter((r) => r.type === 'apply-failed')
    if (failed.length > 0) {
      const message = failed[0]!.type === 'apply-failed' ? failed[0]!.message : 'unknown'
      throw new PilotfishError('PF_ERR_SHARD_FAILED', [0, message])
    }
  }

  async stats (): Promise<Stats[]> {
    const id = ++this.#statsId
    const all = await Promise.all(this.#shards.map((s) => s.request({ type: 'stats', id }, `stats:${id}`)))
    return all.filter((m): m is Stats => m.type === 'stats')
  }

  async stop (deadlineMs: number): Promise<void> {
    await Promise.all(this.#shards.map(async (s) => {
      if (s.exited) return
      await s.request({ type: 'drain', deadlineMs }, 'drained')
      await s.worker.terminate()
    }))
  }
}
