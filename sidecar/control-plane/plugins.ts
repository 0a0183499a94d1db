// The control plane's view of plugins: where each module is, its manifest (read in a throwaway worker, never on
// this thread), its config validated against its own schema, and what the admin API reports about it.
import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { ValidateFunction } from 'ajv'
import { PilotfishError, type Problem } from '../../core/errors.ts'
import type { PluginSpec } from '../../core/snapshot.ts'
import type { PluginStatus } from '../../schemas/admin.schema.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { builtInConfigPath, forwardActions } from './built-ins.ts'
import { invalid, schemaProblems } from '../../schemas/validate.ts'
import type { InspectResult, Manifest } from './plugin-inspect.ts'

const INSPECT_ENTRY = new URL('./plugin-inspect.ts', import.meta.url)
const BUILT_IN = /^[a-z][a-z0-9-]*$/
/** A module that takes longer than this to import is reported as failing to load. */
const INSPECT_TIMEOUT_MS = 10_000

/** What GET /v1/plugins reports of a plugin (admin.schema.ts). */
export type PluginView = PluginStatus

/** Imports a module in a fresh worker and returns its manifest. */
export function inspectPlugin (url: string): Promise<Manifest> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(INSPECT_ENTRY, { name: 'pf-inspect', workerData: { pilotfishInspect: true, url } })
    const timer = setTimeout(() => {
      void worker.terminate()
      reject(new Error(`import did not finish within ${INSPECT_TIMEOUT_MS / 1000} s`))
    }, INSPECT_TIMEOUT_MS)
    worker.once('message', (r: InspectResult) => {
      clearTimeout(timer)
      void worker.terminate()
      if (r.ok) resolve(r.manifest)
      else reject(new Error(r.message))
    })
    worker.once('error', (err) => { clearTimeout(timer); reject(err) })
    worker.once('exit', () => { clearTimeout(timer); reject(new Error('the module ended its thread while loading')) })
  })
}

/** A built-in's name (plugins/<name>/index.ts) or a path, relative to baseDir. */
export function pluginUrl (from: string, baseDir: string): string {
  if (BUILT_IN.test(from)) return new URL(`../../plugins/${from}/index.ts`, import.meta.url).href
  return pathToFileURL(isAbsolute(from) ? from : resolve(baseDir, from)).href
}

/** A section schema of the definition (targetGroupConfig, forwardConfig), compiled, and the keys it reads. */
interface Section { schema: object, validate: ValidateFunction, keys: string[] }

interface Loaded {
  manifest: Manifest
  schema: object
  validate: ValidateFunction
  /** The definition's targetGroupConfig and forwardConfig; null without. */
  group: Section | null
  forward: Section | null
  listener: Section | null
}

/** The values of `section`'s keys that `owner` sets, copied (validation fills defaults in the copy); null for none. */
function sectionOf (owner: object, section: Section): Record<string, unknown> | null {
  let out: Record<string, unknown> | null = null
  for (const k of section.keys) {
    const v = (owner as Record<string, unknown>)[k]
    if (v !== undefined) (out ??= {})[k] = structuredClone(v)
  }
  return out
}

/** A listener whose protocol is not the core's http needs one of its plugins to provide it. */
function checkProtocols (config: SidecarConfig, manifests: ReadonlyMap<string, Manifest>, problems: Problem[]): void {
  config.listeners.forEach((l, i) => {
    if (l.protocol === 'http') return
    if (l.plugins.some((name) => manifests.get(name)?.protocols.includes(l.protocol) === true)) return
    if (l.plugins.some((name) => !manifests.has(name))) return // a plugin that did not load is reported already
    const hint = l.protocol === 'https' ? '; https is the built-in tls plugin\'s when the listener has a tls section (its certificates)' : ''
    problems.push({ path: `/listeners/${i}/protocol`, message: `${l.protocol} is not provided by any plugin in /listeners/${i}/plugins (http is built in${hint})` })
  })
}

/**
 * The plugin's sections of each group (or listener, at `at`) that lists it: its values of the section schema's
 * keys, validated on a copy (defaults filled there, not in the config the admin API shows), problems at its path.
 */
function sections (owners: ReadonlyArray<{ name: string, plugins: readonly string[] }>, at: string, name: string, section: Section | null,
  problems: Problem[]): Record<string, { path: string, config: unknown }> {
  const out: Record<string, { path: string, config: unknown }> = {}
  owners.forEach((o, i) => {
    if (!o.plugins.includes(name)) return
    const path = `${at}/${i}`
    const values = section === null ? {} : sectionOf(o, section) ?? {}
    if (section !== null && !section.validate(values)) return void problems.push(...schemaProblems(section.validate.errors ?? [], path))
    out[o.name] = { path, config: values }
  })
  return out
}

/** The plugin's sections of the forward actions that set one of its forwardConfig keys, validated as groupSections. */
function forwardSections (config: SidecarConfig, loaded: Loaded, problems: Problem[]): PluginSpec['forwards'] {
  const out: PluginSpec['forwards'] = {}
  const schema = loaded.forward
  if (schema === null) return out
  for (const { path, action } of forwardActions(config)) {
    const section = sectionOf(action, schema)
    if (section === null) continue
    if (!schema.validate(section)) problems.push(...schemaProblems(schema.validate.errors ?? [], path))
    else out[path] = section
  }
  return out
}

/** A section schema compiled, or null without one; throws saying which one is not a valid JSON Schema. */
function compileSection (ajv: { compile (s: object): ValidateFunction }, given: object | undefined, what: string): Section | null {
  if (given === undefined) return null
  const { $id: _, ...schema } = given as { $id?: string }
  try {
    return { schema, validate: ajv.compile(schema), keys: Object.keys((schema as { properties: object }).properties) }
  } catch (err) {
    throw new Error(`its ${what} is not a valid JSON Schema: ${(err as Error).message}`)
  }
}

export class PluginRegistry {
  readonly #baseDir: string
  /** By module URL: read once, again only on reload. */
  #loaded = new Map<string, Loaded>()
  #views = new Map<string, PluginView>()
  /** Told of every refused change to a plugin, for the sidecar's log. */
  onFailed: (name: string, reason: string) => void = () => {}
  /** Told of every code reload that went through, for the sidecar's log: what runs now. */
  onReloaded: (view: Readonly<PluginView>) => void = () => {}

  constructor (baseDir: string) {
    this.#baseDir = baseDir
  }

  async #load (url: string, fresh: boolean): Promise<Loaded> {
    const cached = this.#loaded.get(url)
    if (cached !== undefined && !fresh) return cached
    const manifest = await inspectPlugin(url)
    // ajv keeps schemas by $id: a reloaded plugin's schema must not collide with its previous version's.
    const { $id: _, ...schema } = manifest.configSchema as { $id?: string }
    // Plugin schemas are known only at run time: ajv itself is loaded only when a sidecar has plugins.
    const { ajv } = await import('../../schemas/compile.ts')
    let validate: ValidateFunction
    try {
      validate = ajv.compile(schema)
    } catch (err) {
      throw new Error(`its configSchema is not a valid JSON Schema: ${(err as Error).message}`)
    }
    let group: Section | null = null
    let forward: Section | null = null
    let listener: Section | null = null
    try {
      group = compileSection(ajv, manifest.targetGroupConfig, 'targetGroupConfig')
      forward = compileSection(ajv, manifest.forwardConfig, 'forwardConfig')
      listener = compileSection(ajv, manifest.listenerConfig, 'listenerConfig')
    } catch (err) {
      ajv.removeSchema(schema)
      if (group !== null) ajv.removeSchema(group.schema)
      if (forward !== null) ajv.removeSchema(forward.schema)
      throw err
    }
    // Ajv keeps every schema it compiled: drop the ones this replaces, or each reload would add them for good.
    if (cached !== undefined) {
      ajv.removeSchema(cached.schema)
      if (cached.group !== null) ajv.removeSchema(cached.group.schema)
      if (cached.forward !== null) ajv.removeSchema(cached.forward.schema)
      if (cached.listener !== null) ajv.removeSchema(cached.listener.schema)
    }
    const loaded = { manifest, schema, validate, group, forward, listener }
    this.#loaded.set(url, loaded)
    return loaded
  }

  /**
   * Resolves, loads and validates every plugin of a (schema-valid) config; with `fresh`, every module is read
   * afresh (a new shard generation imports all of them from disk, so all must be checked, not only the one
   * asked for). Fills each plugin config's defaults in place. Throws with every problem's JSON path.
   */
  async specs (config: SidecarConfig, fresh = false): Promise<PluginSpec[]> {
    const problems: Problem[] = []
    const specs: PluginSpec[] = []
    const loadedByName = new Map<string, Manifest>()
    const readNow = new Set<string>() // a module two entries share is read once per call
    for (const [i, entry] of config.plugins.entries()) {
      const at = `/plugins/${i}`
      const url = pluginUrl(entry.from, this.#baseDir)
      if (BUILT_IN.test(entry.from) && !existsSync(new URL(url))) {
        problems.push({ path: `${at}/from`, message: `is not a built-in plugin (${entry.from}) nor a path` })
        continue
      }
      let loaded: Loaded
      try {
        loaded = await this.#load(url, fresh && !readNow.has(url))
        readNow.add(url)
      } catch (err) {
        problems.push({ path: `${at}/from`, message: `could not load: ${(err as Error).message}` })
        continue
      }
      loadedByName.set(entry.name, loaded.manifest)
      const configPath = builtInConfigPath(entry) ?? `${at}/config`
      if (!loaded.validate(entry.config)) {
        problems.push(...schemaProblems(loaded.validate.errors ?? [], configPath))
        continue
      }
      specs.push({
        name: entry.name,
        url,
        config: entry.config,
        configPath,
        failClosed: (entry.failMode ?? loaded.manifest.failMode ?? 'closed') === 'closed',
        timeoutMs: entry.hookTimeoutSeconds * 1000,
        taskTimeoutMs: entry.taskTimeoutSeconds * 1000,
        groups: sections(config.targetGroups, '/targetGroups', entry.name, loaded.group, problems),
        forwards: forwardSections(config, loaded, problems),
        listeners: sections(config.listeners, '/listeners', entry.name, loaded.listener, problems),
        configDir: this.#baseDir,
      })
    }
    checkProtocols(config, loadedByName, problems)
    if (problems.length > 0) throw invalid(problems)
    return specs
  }

  /** After a publish: what runs now, in which shard generation. */
  running (config: SidecarConfig, generation: number): void {
    const views = new Map<string, PluginView>()
    for (const entry of config.plugins) {
      const loaded = this.#loaded.get(pluginUrl(entry.from, this.#baseDir))
      views.set(entry.name, { name: entry.name, from: entry.from, version: loaded?.manifest.version ?? '', generation, state: 'running', lastError: null })
    }
    this.#views = views
  }

  /** The plugin's code was reloaded and runs (after running() listed the new generation). */
  reloaded (name: string): void {
    const view = this.#views.get(name)
    if (view !== undefined) this.onReloaded(view)
  }

  /** A change involving the plugin failed: the running version stays, with the reason kept for the admin API. */
  failed (name: string, err: unknown): void {
    const reason = err instanceof PilotfishError && err.problems.length > 0
      ? err.problems.map((p) => `${p.path}: ${p.message}`).join('; ')
      : (err as Error)?.message ?? String(err)
    this.onFailed(name, reason)
    const view = this.#views.get(name)
    if (view === undefined) return
    view.state = 'last-change-failed'
    view.lastError = reason
  }

  list (): PluginView[] { return [...this.#views.values()] }

  /** The listenerConfig schema of the plugin a config entry's `from` names, once loaded (its section's secrets). */
  listenerSchemaFor (from: string): object | undefined {
    return this.#loaded.get(pluginUrl(from, this.#baseDir))?.listener?.schema
  }

  /** The config schema of the plugin a config entry's `from` names, once loaded (config-secrets.ts reads it). */
  schemaFor (from: string): object | undefined {
    return this.#loaded.get(pluginUrl(from, this.#baseDir))?.schema
  }
}
