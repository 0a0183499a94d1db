// Worker entry: imports one plugin module in a thread of its own and reports its manifest as plain data.
// The control plane never runs plugin code on its own thread: a module that throws, hangs or leaks at import
// costs this throwaway thread, and a fresh thread means a fresh module graph (code reloads see new code).
import { parentPort, workerData } from 'node:worker_threads'
import module from 'node:module'

export interface Manifest { name: string, version: string, configSchema: object, failMode: 'open' | 'closed' | undefined, protocols: string[] }
export type InspectResult = { ok: true, manifest: Manifest } | { ok: false, message: string }

const NAME = /^[a-z][a-z0-9-]{0,62}$/

function check (def: unknown): Manifest | string {
  if (def === null || typeof def !== 'object') return 'the module has no default export of a plugin definition'
  const d = def as Record<string, unknown>
  if (typeof d.name !== 'string' || !NAME.test(d.name)) return 'name must be a kebab-case string'
  if (typeof d.version !== 'string' || d.version === '') return 'version must be a non-empty string'
  if (d.configSchema === null || typeof d.configSchema !== 'object') return 'configSchema must be a JSON Schema object'
  if (typeof d.setup !== 'function') return 'setup must be a function'
  if (d.failMode !== undefined && d.failMode !== 'open' && d.failMode !== 'closed') return 'failMode must be "open" or "closed"'
  const protocols = d.protocols ?? []
  if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === 'string')) return 'protocols must be a list of protocol names'
  return { name: d.name, version: d.version, configSchema: structuredClone(d.configSchema), failMode: d.failMode, protocols }
}

if (parentPort !== null && workerData?.pilotfishInspect === true) {
  const port = parentPort
  let result: InspectResult
  try {
    const ns = await import(workerData.url as string) as { default?: unknown }
    const m = check(ns.default)
    result = typeof m === 'string' ? { ok: false, message: m } : { ok: true, manifest: m }
    module.flushCompileCache?.() // the shards that load it next find it stripped already
  } catch (err) {
    result = { ok: false, message: (err as Error)?.message ?? String(err) }
  }
  port.postMessage(result)
}
