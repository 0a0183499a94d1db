// Plugin file watching: one watcher per plugin entry with `watch: true`; a change to its module file asks for a reload.
import { watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { pluginUrl } from './plugins.ts'

/** Editors write a file more than once per save: changes within this are one reload. */
const DEBOUNCE_MS = 100

export class PluginWatcher {
  readonly #baseDir: string
  readonly #onChange: (name: string) => void
  readonly #onError: (name: string, err: unknown) => void
  #watchers = new Map<string, { path: string, close: () => void }>()

  constructor (baseDir: string, onChange: (name: string) => void, onError: (name: string, err: unknown) => void) {
    this.#baseDir = baseDir
    this.#onChange = onChange
    this.#onError = onError
  }

  /**
   * Keeps one watcher per plugin entry with `watch: true`, for the config now running. It watches the folder,
   * not the file: an editor that saves by renaming replaces the file's inode.
   */
  update (config: SidecarConfig): void {
    const wanted = new Map<string, string>()
    for (const p of config.plugins) if (p.watch) wanted.set(p.name, fileURLToPath(pluginUrl(p.from, this.#baseDir)))
    for (const [name, w] of this.#watchers) {
      if (wanted.get(name) === w.path) continue
      w.close()
      this.#watchers.delete(name)
    }
    for (const [name, path] of wanted) {
      if (this.#watchers.has(name)) continue
      let timer: NodeJS.Timeout | null = null
      const watcher = watch(dirname(path), (_event, file) => {
        if (file !== basename(path)) return
        if (timer !== null) clearTimeout(timer)
        timer = setTimeout(() => this.#onChange(name), DEBOUNCE_MS)
      })
      watcher.on('error', (err) => this.#onError(name, err))
      watcher.unref()
      this.#watchers.set(name, { path, close: () => { if (timer !== null) clearTimeout(timer); watcher.close() } })
    }
  }

  close (): void {
    for (const w of this.#watchers.values()) w.close()
    this.#watchers.clear()
  }
}
