// Worker entry: imports one plugin module in a thread of its own and reports its manifest as plain data.
// The control plane never runs plugin code on its own thread: a module that throws, hangs or leaks at import
// costs this throwaway thread, and a fresh thread means a fresh module graph (code reloads see new code).
import { parentPort, workerData } from 'node:worker_threads'
import module from 'node:module'
import { checkDefinition, type Manifest } from '../../core/plugin/manifest.ts'
import { locateSyntaxError } from './syntax-error.ts'

export type { Manifest }
export type InspectResult = { ok: true, manifest: Manifest } | { ok: false, message: string }

if (parentPort !== null && workerData?.pilotfishInspect === true) {
  const port = parentPort
  let result: InspectResult
  try {
    const ns = await import(workerData.url as string) as { default?: unknown }
    const m = checkDefinition(ns.default)
    result = typeof m === 'string' ? { ok: false, message: m } : { ok: true, manifest: m }
    module.flushCompileCache?.() // the shards that load it next find it stripped already
  } catch (err) {
    const located = err instanceof SyntaxError ? locateSyntaxError(err, workerData.url as string) : null
    result = { ok: false, message: located ?? (err as Error)?.message ?? String(err) }
  }
  port.postMessage(result)
}
