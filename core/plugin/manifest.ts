// What makes a module's default export a plugin definition, as plain data the control plane can hold: checked
// where the sidecar loads a plugin (in a throwaway thread) and by the SDK's test harness, so both refuse alike.
export interface Manifest {
  name: string
  version: string
  configSchema: object
  failMode: 'open' | 'closed' | undefined
  protocols: string[]
  /** The group keys the plugin reads, as an object schema (PluginDefinition.targetGroupConfig). */
  targetGroupConfig: object | undefined
  /** The forward action keys the plugin reads, as an object schema (PluginDefinition.forwardConfig). */
  forwardConfig: object | undefined
  /** The listener keys the plugin reads, as an object schema (PluginDefinition.listenerConfig). */
  listenerConfig: object | undefined
}

/** A section schema must be an object schema with properties: the keys it reads. */
function sectionProblem (schema: unknown, what: string, keys: string): string | null {
  if (schema === undefined) return null
  if (schema !== null && typeof schema === 'object' && typeof (schema as { properties?: unknown }).properties === 'object') return null
  return `${what} must be an object schema with properties (the ${keys} keys the plugin reads)`
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/

/** The manifest, or why the value is not a plugin definition. */
export function checkDefinition (def: unknown): Manifest | string {
  if (def === null || typeof def !== 'object') return 'the module has no default export of a plugin definition'
  const d = def as Record<string, unknown>
  if (typeof d.name !== 'string' || !NAME.test(d.name)) return 'name must be a kebab-case string'
  if (typeof d.version !== 'string' || d.version === '') return 'version must be a non-empty string'
  if (d.configSchema === null || typeof d.configSchema !== 'object') return 'configSchema must be a JSON Schema object'
  if (typeof d.setup !== 'function') return 'setup must be a function'
  if (d.failMode !== undefined && d.failMode !== 'open' && d.failMode !== 'closed') return 'failMode must be "open" or "closed"'
  const protocols = d.protocols ?? []
  if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === 'string')) return 'protocols must be a list of protocol names'
  const tasks = d.tasks ?? {}
  if (typeof tasks !== 'object' || tasks === null || !Object.values(tasks).every((t) => typeof t === 'string' || t instanceof URL)) {
    return 'tasks must map names to module URLs'
  }
  const problem = sectionProblem(d.targetGroupConfig, 'targetGroupConfig', 'group') ?? sectionProblem(d.forwardConfig, 'forwardConfig', 'forward action') ??
    sectionProblem(d.listenerConfig, 'listenerConfig', 'listener')
  if (problem !== null) return problem
  return {
    name: d.name,
    version: d.version,
    configSchema: structuredClone(d.configSchema),
    failMode: d.failMode,
    protocols,
    targetGroupConfig: d.targetGroupConfig === undefined ? undefined : structuredClone(d.targetGroupConfig as object),
    forwardConfig: d.forwardConfig === undefined ? undefined : structuredClone(d.forwardConfig as object),
    listenerConfig: d.listenerConfig === undefined ? undefined : structuredClone(d.listenerConfig as object),
  }
}
