// Worker entry for `pilotfish validate`: sets a config's plugins up and compiles the snapshot a shard would, in a
// thread of its own, binding nothing, so what plugins refuse (setup, onGroups: a health check's timeout longer
// than its interval) is found before a sidecar runs it. The control plane itself never runs plugin code.
import { parentPort, workerData, Worker } from 'node:worker_threads'
import { buildSnapshot, EndpointRegistry, type PluginSpec, type SnapshotMessage } from '../../core/snapshot.ts'
import { invalid, PilotfishError, type Problem } from '../../core/errors.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { PluginHost } from '../shard/plugin-host.ts'
import { PluginCounters } from '../../core/plugin/counters.ts'

type CheckResult = { ok: true } | { ok: false, message: string, problems?: Problem[] }

const CHECK_ENTRY = new URL('./plugin-check.ts', import.meta.url)

/** Throws as applying the config to a shard would (with JSON paths where a plugin gave them). */
export function checkInShard (config: SidecarConfig, specs: PluginSpec[]): Promise<void> {
  const snapshot: SnapshotMessage = { version: 1, config, draining: [], maintenance: [], ports: {}, plugins: specs }
  return new Promise((resolve, reject) => {
    const worker = new Worker(CHECK_ENTRY, { name: 'pf-check', workerData: { pilotfishCheck: true, snapshot } })
    worker.once('message', (r: CheckResult) => {
      void worker.terminate()
      if (r.ok) return resolve()
      reject(r.problems !== undefined && r.problems.length > 0 ? invalid(r.problems) : new PilotfishError('PF_ERR_PLUGIN_REFUSED', [0, r.message]))
    })
    worker.once('error', reject)
    worker.once('exit', () => reject(new PilotfishError('PF_ERR_PLUGIN_REFUSED', [0, 'a plugin ended the thread it was set up in'])))
  })
}

async function check (snapshot: SnapshotMessage): Promise<CheckResult> {
  const none = (): Promise<never> => Promise.reject(new Error('not run while validating'))
  // Counters of their own: declarations are checked as a shard checks them (another plugin's clashing too).
  const counters = new PluginCounters()
  const host = new PluginHost(0, 0, { onFailure () {}, runTask: none, publish () {}, refreshTargets () {}, sendToLeader () {}, reportTarget () {}, counters })
  try {
    const plugins = await host.prepare(snapshot.plugins)
    try {
      buildSnapshot(snapshot, new EndpointRegistry(), { onRequestEnd () {}, onRejected () {}, onRefused () {} }, plugins)
    } finally {
      await host.discard(plugins)
    }
    return { ok: true }
  } catch (err) {
    return { ok: false, message: (err as Error)?.message ?? String(err), problems: (err as { problems?: Problem[] }).problems }
  }
}

if (parentPort !== null && workerData?.pilotfishCheck === true) {
  parentPort.postMessage(await check(workerData.snapshot as SnapshotMessage))
}
