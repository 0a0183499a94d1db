// Config fields the schema accepts that nothing acts on yet: said at start, so a config that promises
// stickiness does not silently go without it.
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'

/** One line per field set that does nothing yet, with its JSON path. */
export function inactiveSettings (config: SidecarConfig): string[] {
  const out: string[] = []
  config.targetGroups.forEach((g, i) => {
    const at = `/targetGroups/${i}`
    if (g.stickiness !== undefined) out.push(`${at}/stickiness is accepted but not active yet: requests are not pinned to a target`)
  })
  return out
}
