// Starts a sidecar: control plane, shards, admin API; stops it gracefully on SIGTERM / SIGINT.
import { availableParallelism } from 'node:os'
import { PilotfishError } from '../core/errors.ts'
import { isLoopback } from '../core/rule/cidr.ts'
import type { SidecarConfig } from '../schemas/sidecar.schema.ts'
import { ControlPlane } from './control-plane/control-plane.ts'
import { AdminListener } from './admin/listener.ts'

export interface Sidecar {
  readonly controlPlane: ControlPlane
  /** null when started without an admin API. */
  readonly admin: AdminListener | null
  /** Where the admin API listens now, e.g. "http://127.0.0.1:9901" (a config change can move it); null: none. */
  readonly adminUrl: string | null
  stop (deadlineMs?: number): Promise<void>
}

/**
 * `baseDir`: where relative plugin paths in the config start (the config file's folder; default the working
 * directory). `admin: false` runs without an admin API (`--admin off`): no socket, config.admin unused.
 */
export async function startSidecar (config: SidecarConfig, opts: { shards?: number, baseDir?: string, admin?: boolean } = {}): Promise<Sidecar> {
  const admin = config.admin
  const withAdmin = opts.admin ?? true
  if (withAdmin && !isLoopback(admin.host) && (admin.token === undefined || admin.token === '')) {
    throw new PilotfishError('PF_ERR_ADMIN_EXPOSED', [admin.host])
  }
  const cp = await ControlPlane.start(config, opts.shards ?? availableParallelism(), opts.baseDir)
  if (!withAdmin) {
    return { controlPlane: cp, admin: null, adminUrl: null, stop: (deadlineMs = 10_000) => cp.stop(deadlineMs) }
  }
  const app = new AdminListener(cp, admin)
  try {
    await app.listen()
  } catch (err) {
    await cp.stop(0)
    throw err
  }
  cp.admin = app
  return {
    controlPlane: cp,
    admin: app,
    get adminUrl () { return app.url },
    async stop (deadlineMs = 10_000) {
      await app.close()
      await cp.stop(deadlineMs)
    },
  }
}

/** Stops on the first SIGTERM or SIGINT (finishing in-flight requests); a second one exits at once. */
export function stopOnSignals (sidecar: Sidecar, log: (line: string) => void): void {
  let stopping = false
  const onSignal = (signal: string): void => {
    if (stopping) process.exit(1)
    stopping = true
    log(`pilotfish: ${signal}, draining`)
    sidecar.stop().then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}
