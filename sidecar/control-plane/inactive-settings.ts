// Config fields the schema accepts that nothing acts on yet: said at start, so a config that promises a
// slow-start ramp or health checks does not silently go without them.
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'

/** One line per field set that does nothing yet, with its JSON path. */
export function inactiveSettings (config: SidecarConfig): string[] {
  const out: string[] = []
  config.targetGroups.forEach((g, i) => {
    const at = `/targetGroups/${i}`
    if (g.slowStartSeconds > 0) out.push(`${at}/slowStartSeconds is accepted but not active yet: new targets get their full share at once`)
    if (g.healthCheck !== undefined) out.push(`${at}/healthCheck is accepted but not active yet: no target is probed or taken out`)
    if (g.stickiness !== undefined) out.push(`${at}/stickiness is accepted but not active yet: requests are not pinned to a target`)
  })
  return out
}
