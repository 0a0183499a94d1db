// Built-in plugins that a config section turns on, ALB-style: writing `healthCheck:` on a target group is
// enough, with no `plugins:` entry. What the shards run is the config with those entries added; the admin API
// shows the config as it was given.
//
// A `plugins:` entry with a built-in's name takes its place (its own options, or a user's module from a path:
// "their own health plugin in its place"), and still gets the sections.
import { pluginEntrySchema, type SidecarConfig } from '../../schemas/sidecar.schema.ts'

type Group = SidecarConfig['targetGroups'][number]
type Entry = SidecarConfig['plugins'][number]

interface BuiltIn {
  readonly name: string
  /** True when the group's config asks for the built-in. */
  readonly group: (g: Group) => boolean
}

const BUILT_INS: readonly BuiltIn[] = [
  { name: 'health-check', group: (g) => g.healthCheck !== undefined || g.outlierDetection !== undefined || g.slowStartSeconds > 0 },
]

const entryDefaults = pluginEntrySchema.properties
function implicitEntry (name: string): Entry {
  return {
    name,
    from: name,
    config: {},
    hookTimeoutSeconds: entryDefaults.hookTimeoutSeconds.default,
    taskTimeoutSeconds: entryDefaults.taskTimeoutSeconds.default,
    watch: entryDefaults.watch.default,
  }
}

/**
 * The config the shards run: each built-in a group asks for is in `plugins` (unless an entry of its name is) and
 * first in that group's `plugins`, so a user's plugins listed after it have the last word on a target's weight.
 * Shallow: entries the config has are shared, so validating them fills their defaults in the config itself.
 */
export function withBuiltIns (config: SidecarConfig): SidecarConfig {
  const wanted = BUILT_INS.filter((b) => config.targetGroups.some(b.group))
  if (wanted.length === 0) return config
  const plugins = [...config.plugins]
  for (const b of wanted) if (!plugins.some((p) => p.name === b.name)) plugins.push(implicitEntry(b.name))
  const targetGroups = config.targetGroups.map((g) => {
    const add = wanted.filter((b) => b.group(g) && !g.plugins.includes(b.name)).map((b) => b.name)
    return add.length === 0 ? g : { ...g, plugins: [...add, ...g.plugins] }
  })
  return { ...config, plugins, targetGroups }
}
