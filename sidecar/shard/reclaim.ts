// Keeps a burst from leaving its memory behind: prompt scavenges while Buffer garbage piles up, one full GC once quiet.
//
// Every read Node makes from a client socket allocates a 64 KiB Buffer outside the V8 heap, and every response
// chunk is copied into one; the proxy drops each as soon as it is written on. V8 frees that memory only when a GC
// finds the Buffer dead, and under a bulk transfer (little JavaScript allocated per chunk, so few scavenges) that
// is once ~64 MiB have piled up (its external-memory limit). glibc serves those Buffers from the shard thread's
// malloc arena, which then keeps its high-water mark: freed chunks in the middle of an arena go back to the OS
// only through malloc_trim(), which Node never calls. So the fix is to keep the pile small, which keeps the
// arena small: a minor GC whenever PILE_BYTES of Buffer memory has appeared since the last one. When the burst
// is over, one full GC frees what was promoted. Numbers in docs/design-notes.md, "Memory".
import v8 from 'node:v8'
import vm from 'node:vm'

type Gc = (options: { type: 'major' | 'minor', execution: 'sync' }) => void

/**
 * Buffer memory allocated since the last GC that earns a scavenge (a scavenge of a small new space: ~0.3 ms).
 * 4 MiB gave back ≈ 5 MiB more after a burst but cost ≈ 20 % CPU per request under sustained 12 B and 16 KiB load
 * (npm run bench, same rounds: scavenges forced ~100 times a second promote live request objects early); 16 MiB
 * measured no cost beyond the run's spread.
 */
const PILE_BYTES = 16 * 1024 * 1024
/** While Buffers pile up, how often the pile is looked at: at 700 MiB/s a shard makes ~7 MiB of them in 10 ms. */
const FAST_MS = 10
/** Growth of external memory between two heartbeats that starts the fast looks: Buffers are being made. */
const ARM_BYTES = 512 * 1024
/** Fast looks in a row without a scavenge after which the fast timer stops (10 s: a burst has pauses). */
const CALM_LOOKS = 1000
/** The full GC: memory (heap in use + outside it) grown by this since the last full GC, and then quiet. */
const GROWTH_BYTES = 8 * 1024 * 1024
/** Quiet: memory moved by less than this between two checks (an idle shard allocates almost nothing). */
const QUIET_BYTES = 1024 * 1024

/**
 * Driven by the shard's heartbeat timer; nothing runs on the request path. An idle shard pays one
 * getHeapStatistics() per heartbeat (microseconds). A shard moving bulk data adds a 10 ms timer and a
 * scavenge per 4 MiB of Buffers; small requests make too little Buffer garbage to start it.
 */
export class MemoryReclaimer {
  /** External memory (V8's count of ArrayBuffer bytes) after the last GC; V8 lowers its count lazily, hence min. */
  #base = Infinity
  /** Heap in use + external, after the last full GC. */
  #floor = Infinity
  #last = 0
  /** External memory at the last heartbeat. */
  #armedAt = Infinity
  #fast: NodeJS.Timeout | null = null
  #calm = 0
  #gc: Gc | null = null
  /** GCs run, for tests and stats. */
  minorRuns = 0
  majorRuns = 0

  /** Every heartbeat: Buffers being made start the fast looks. */
  sample (): void {
    if (this.#fast !== null) return
    const external = v8.getHeapStatistics().external_memory
    const grew = external - this.#armedAt
    this.#armedAt = external
    if (grew < ARM_BYTES) return
    this.#scavengeIfPiled()
    this.#calm = 0
    this.#fast = setInterval(() => this.#look(), FAST_MS)
    this.#fast.unref()
  }

  /** Once a second: after growth, the first quiet second gets one full GC. Returns true when it ran one. */
  check (): boolean {
    const level = memoryLevel()
    const last = this.#last
    this.#last = level
    if (level < this.#floor) this.#floor = level // a GC of V8's own, or the first check
    if (level - this.#floor < GROWTH_BYTES || Math.abs(level - last) >= QUIET_BYTES) return false
    if (!this.#run('major')) return false
    this.#floor = this.#last = memoryLevel()
    return true
  }

  stop (): void {
    if (this.#fast !== null) clearInterval(this.#fast)
    this.#fast = null
    this.#armedAt = Infinity
  }

  #look (): void {
    if (this.#scavengeIfPiled()) this.#calm = 0
    else if (++this.#calm >= CALM_LOOKS) this.stop()
  }

  #scavengeIfPiled (): boolean {
    const external = v8.getHeapStatistics().external_memory
    if (external < this.#base) this.#base = external
    if (external - this.#base < PILE_BYTES || !this.#run('minor')) return false
    this.#base = external
    return true
  }

  #run (type: 'major' | 'minor'): boolean {
    const gc = this.#gc ??= exposeGc()
    if (gc === null) return false
    gc({ type, execution: 'sync' })
    if (type === 'major') this.majorRuns++
    else this.minorRuns++
    return true
  }
}

function memoryLevel (): number {
  const s = v8.getHeapStatistics()
  return s.used_heap_size + s.external_memory
}

/**
 * V8's gc(), without putting it on the shard's global where plugins would see it: the flag applies to contexts
 * created while it is set, so a throwaway context gets it, and the flag goes off again. (Another shard may flip
 * it in between: then this returns null and the next call tries again.)
 */
function exposeGc (): Gc | null {
  v8.setFlagsFromString('--expose-gc')
  const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : null')
  v8.setFlagsFromString('--no-expose-gc')
  return typeof gc === 'function' ? gc as Gc : null
}
