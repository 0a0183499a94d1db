// Built-in plugins that a config section turns on, ALB-style: writing `healthCheck:` on a target group,
// `stickiness:` on a group or a forward action, or `protocol: https` with `tls:` on a listener is enough, with no
// `plugins:` entry. What the shards run is the
// config with those entries added; the admin API shows the config as it was given.
//
// A `plugins:` entry with a built-in's name takes its place (its own options, or a user's module from a path:
// "their own health plugin in its place"), and still gets the sections.
import { pluginEntrySchema, type ForwardActionConfig, type SidecarConfig } from '../../schemas/sidecar.schema.ts'

type Group = SidecarConfig['targetGroups'][number]
type Listener = SidecarConfig['listeners'][number]
type Entry = SidecarConfig['plugins'][number]

interface BuiltIn {
  readonly name: string
  /** True when the group's config asks for the built-in (it is added to the group's plugins). */
  readonly group: (g: Group) => boolean
  /** True when a forward action's config asks for it (it then chooses that action's group). */
  readonly forward?: (a: ForwardActionConfig) => boolean
  /** True when a listener's config asks for it (it is added to the listener's plugins). */
  readonly listener?: (l: Listener) => boolean
  /**
   * A top-level key whose value is the built-in's own config (its configSchema), as `stickiness: { keys }`:
   * validated at that path, and its secrets redacted as a plugin entry's are (config-secrets.ts).
   */
  readonly section?: 'stickiness'
}

export const BUILT_INS: readonly BuiltIn[] = [
  { name: 'health-check', group: (g) => g.healthCheck !== undefined || g.outlierDetection !== undefined || g.slowStartSeconds > 0 },
  {
    name: 'stickiness',
    group: (g) => g.stickiness !== undefined,
    forward: (a) => (a.stickiness as { enabled?: unknown } | undefined)?.enabled === true,
    section: 'stickiness',
  },
  // ALB's HTTPS listener: the protocol with its certificates. A listener with protocol https and no `tls` is left
  // to a plugin of its own `plugins` that provides https (a user's TLS in the built-in's place).
  { name: 'tls', group: () => false, listener: (l) => l.protocol === 'https' && l.tls !== undefined },
]

/** The config path of each implicit entry whose config is a top-level section. */
const sectionPaths = new WeakMap<Entry, string>()

const entryDefaults = pluginEntrySchema.properties
function implicitEntry (b: BuiltIn, config: SidecarConfig): Entry {
  const entry: Entry = {
    name: b.name,
    from: b.name,
    // A copy: validating it fills defaults, and the admin API shows the section as it was given.
    config: b.section === undefined ? {} : structuredClone((config[b.section] ?? {}) as Record<string, unknown>),
    hookTimeoutSeconds: entryDefaults.hookTimeoutSeconds.default,
    taskTimeoutSeconds: entryDefaults.taskTimeoutSeconds.default,
    watch: entryDefaults.watch.default,
  }
  if (b.section !== undefined) sectionPaths.set(entry, `/${b.section}`)
  return entry
}

/** Where a plugin entry's config is in the config as given: a built-in's top-level section, or null (`/plugins/N/config`). */
export function builtInConfigPath (entry: Entry): string | null {
  return sectionPaths.get(entry) ?? null
}

/** Every forward action of the config (rules' and default actions), with its JSON pointer. */
export function forwardActions (config: SidecarConfig): Array<{ path: string, action: ForwardActionConfig }> {
  const out: Array<{ path: string, action: ForwardActionConfig }> = []
  config.listeners.forEach((l, i) => {
    l.rules.forEach((r, j) => { if (r.action.type === 'forward') out.push({ path: `/listeners/${i}/rules/${j}/action`, action: r.action }) })
    if (l.defaultAction.type === 'forward') out.push({ path: `/listeners/${i}/defaultAction`, action: l.defaultAction })
  })
  return out
}

/**
 * The config the shards run: each built-in a group asks for is in `plugins` (unless an entry of its name is) and
 * first in that group's `plugins`, so a user's plugins listed after it have the last word on a target's weight.
 * A built-in a forward action asks for is in `plugins` (the action's section names it). Shallow: entries the
 * config has are shared, so validating them fills their defaults in the config itself.
 */
export function withBuiltIns (config: SidecarConfig): SidecarConfig {
  const forwards = forwardActions(config).map((f) => f.action)
  const wanted = BUILT_INS.filter((b) => config.targetGroups.some(b.group) || (b.forward !== undefined && forwards.some(b.forward)) ||
    (b.listener !== undefined && config.listeners.some(b.listener)))
  if (wanted.length === 0) return config
  const plugins = [...config.plugins]
  for (const b of wanted) if (!plugins.some((p) => p.name === b.name)) plugins.push(implicitEntry(b, config))
  const targetGroups = config.targetGroups.map((g) => {
    const add = wanted.filter((b) => b.group(g) && !g.plugins.includes(b.name)).map((b) => b.name)
    return add.length === 0 ? g : { ...g, plugins: [...add, ...g.plugins] }
  })
  const listeners = config.listeners.map((l) => {
    const add = wanted.filter((b) => b.listener?.(l) === true && !l.plugins.includes(b.name)).map((b) => b.name)
    return add.length === 0 ? l : { ...l, plugins: [...add, ...l.plugins] }
  })
  return { ...config, plugins, targetGroups, listeners }
}
