// The worker pool for plugins' tasks (piscina): CPU work and probes off the control plane's thread and off the
// shards'. One pool per shard generation, so a plugin code reload also reloads its task modules (piscina caches
// a task module by file name for a worker's life). Created on a generation's first task, threads idle out.
import { availableParallelism } from 'node:os'
import type { Piscina } from 'piscina'

/** Pool threads that run no task for this long exit: a sidecar whose plugins run no tasks keeps none. */
const IDLE_TIMEOUT_MS = 30_000
/**
 * A pool thread's young generation, in MiB. Tasks are short and their garbage dies young; V8's default lets a
 * thread that runs a probe every few seconds grow a 16–32 MiB new space it never needs.
 */
const POOL_YOUNG_GENERATION_MB = 4

export class TaskPools {
  #pools = new Map<number, Promise<Piscina>>()

  /** Runs a task; one still running after `timeoutMs` is aborted (piscina ends its thread) and rejects. */
  run (generation: number, url: string, data: unknown, timeoutMs: number): Promise<unknown> {
    let pool = this.#pools.get(generation)
    if (pool === undefined) {
      pool = import('piscina').then(({ Piscina }) => new Piscina({
        minThreads: 0,
        maxThreads: Math.max(1, Math.floor(availableParallelism() / 2)),
        idleTimeout: IDLE_TIMEOUT_MS,
        resourceLimits: { maxYoungGenerationSizeMb: POOL_YOUNG_GENERATION_MB },
      }))
      this.#pools.set(generation, pool)
    }
    return pool.then((p) => p.run(data, { filename: url, signal: AbortSignal.timeout(timeoutMs) })).catch((err: unknown) => {
      if ((err as Error)?.name === 'AbortError') throw new Error(`task ${url} did not finish within ${timeoutMs / 1000} s`)
      throw err
    })
  }

  /** Every shard of the generation has exited: its pool goes too. */
  async retire (generation: number): Promise<void> {
    const pool = this.#pools.get(generation)
    this.#pools.delete(generation)
    await (await pool)?.destroy()
  }

  async close (): Promise<void> {
    await Promise.all([...this.#pools.keys()].map((g) => this.retire(g)))
  }
}
