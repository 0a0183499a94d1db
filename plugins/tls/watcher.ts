// Certificate files watched for replacement, in place or by rename (the way cert-manager, certbot and Kubernetes
// secret volumes swap them): the directories are watched, not the files, since a rename leaves a watch on the
// old file's inode behind. Runs in the leader shard only; a change is reported once things settle (DEBOUNCE_MS),
// well within the 2 s a rotation must take.
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'

const DEBOUNCE_MS = 250

export class CertificateWatcher {
  readonly #onChange: (listener: string) => void
  #watchers: FSWatcher[] = []
  readonly #timers = new Map<string, NodeJS.Timeout>()

  constructor (onChange: (listener: string) => void) {
    this.#onChange = onChange
  }

  /** Watches these listeners' files (absolute paths) from now on, instead of the ones before. */
  watch (files: ReadonlyMap<string, readonly string[]>): void {
    this.#unwatch()
    // directory → file name → the listeners that read it
    const byDir = new Map<string, Map<string, string[]>>()
    for (const [listener, paths] of files) {
      for (const p of paths) {
        let names = byDir.get(dirname(p))
        if (names === undefined) byDir.set(dirname(p), names = new Map())
        const readers = names.get(basename(p)) ?? []
        readers.push(listener)
        names.set(basename(p), readers)
      }
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          // Some platforms give no name: then every listener reading from the directory looks again.
          const readers = name === null ? [...new Set([...names.values()].flat())] : names.get(name.toString()) ?? []
          for (const l of readers) this.#later(l)
        })
        w.on('error', () => {})
        this.#watchers.push(w)
      } catch {
        // A directory that cannot be watched (gone, no permission): the files were read already; no rotation.
      }
    }
  }

  #later (listener: string): void {
    clearTimeout(this.#timers.get(listener))
    this.#timers.set(listener, setTimeout(() => {
      this.#timers.delete(listener)
      this.#onChange(listener)
    }, DEBOUNCE_MS).unref())
  }

  #unwatch (): void {
    for (const w of this.#watchers) w.close()
    this.#watchers = []
  }

  close (): void {
    this.#unwatch()
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
  }
}
