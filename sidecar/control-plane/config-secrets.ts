// The secrets of a config (secrets.ts): admin.token and the writeOnly values of each plugin's config, found with
// the plugin's own configSchema as the registry loaded it; a built-in's top-level section (`stickiness:`) is
// that built-in's config, read with its schema; a listener's sections (an https listener's inline key) are read
// with the listenerConfig schemas of the plugins that serve it.
import type { Problem } from '../../core/errors.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { mapSecrets, REDACTED, Scrubber, secretStrings, valueAt } from '../secrets.ts'
import { BUILT_INS } from './built-ins.ts'

/** Where the plugins' config schemas come from (PluginRegistry): by the config entry's `from`. */
export interface SchemaSource {
  schemaFor (from: string): object | undefined
  /** A plugin's listenerConfig schema: a listener's keys it owns (an https listener's inline `tls.certificates[].key`). */
  listenerSchemaFor? (from: string): object | undefined
}

type Loose = Record<string, unknown>

/** The top-level keys that hold a built-in's config, and the built-in (its `from`) whose schema reads them. */
const SECTIONS = BUILT_INS.flatMap((b) => b.section === undefined ? [] : [{ key: b.section, from: b.name }])
const rec = (v: unknown): Loose => v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Loose : {}
const list = (v: unknown): unknown[] => Array.isArray(v) ? v : []
/** A path inside a value as a JSON pointer suffix: ['keys', 0] → '/keys/0'. */
const pointer = (path: ReadonlyArray<string | number>): string => path.map((k) => `/${k}`).join('')

/** The listenerConfig schemas that read a listener: its plugins', and a built-in's its config turns on. */
function listenerSchemas (config: unknown, listener: unknown, schemas: SchemaSource): object[] {
  const entries = list(rec(config).plugins).map(rec)
  const froms = list(rec(listener).plugins).map((name) => entries.find((e) => e.name === name)?.from)
  for (const b of BUILT_INS) {
    if (b.listener !== undefined && b.listener(rec(listener) as never) && !froms.includes(b.name)) froms.push(b.name)
  }
  return froms.flatMap((from) => typeof from === 'string' ? [schemas.listenerSchemaFor?.(from)].filter((s) => s !== undefined) : [])
}

/** Each listener with its plugins' section secrets passed through `replace` (mapSecrets walks only the section keys). */
function mapListenerSecrets (config: unknown, schemas: SchemaSource, replace: (secret: unknown, path: ReadonlyArray<string | number>, listener: number) => unknown): unknown[] {
  return list(rec(config).listeners).map((l, i) => {
    let out = l
    for (const schema of listenerSchemas(config, l, schemas)) out = mapSecrets(schema, out, (s, p) => replace(s, p, i))
    return out
  })
}

/** The config as the admin API shows it: every secret replaced by REDACTED. */
export function redactConfig (config: SidecarConfig, schemas: SchemaSource): SidecarConfig {
  const sections: Loose = {}
  for (const { key, from } of SECTIONS) {
    if (config[key] === undefined) continue
    const schema = schemas.schemaFor(from)
    // Not loaded (no group uses it yet): nothing of it is known to be safe to show.
    sections[key] = schema === undefined ? REDACTED : mapSecrets(schema, config[key], () => REDACTED)
  }
  return {
    ...config,
    ...sections,
    listeners: mapListenerSecrets(config, schemas, () => REDACTED) as SidecarConfig['listeners'],
    admin: config.admin.token === undefined ? config.admin : { ...config.admin, token: REDACTED },
    plugins: config.plugins.map((p) => {
      const schema = schemas.schemaFor(p.from)
      // A running plugin's schema is always loaded; without one, nothing of its config can be shown as safe.
      return { ...p, config: (schema === undefined ? REDACTED : mapSecrets(schema, p.config, () => REDACTED)) as Loose }
    }),
  }
}

/** Every secret string in a config, validated or not (a refused PUT's body too). */
export function configSecrets (data: unknown, schemas: SchemaSource): string[] {
  const root = rec(data)
  const out: string[] = []
  const token = rec(root.admin).token
  if (typeof token === 'string') out.push(token)
  for (const { key, from } of SECTIONS) if (root[key] !== undefined) out.push(...secretStrings(schemas.schemaFor(from), root[key]))
  mapListenerSecrets(root, schemas, (secret) => { if (typeof secret === 'string') out.push(secret); return secret })
  for (const p of list(root.plugins)) {
    const entry = rec(p)
    out.push(...secretStrings(typeof entry.from === 'string' ? schemas.schemaFor(entry.from) : undefined, entry.config))
  }
  return out
}

/** A scrubber for every secret of the given configs. */
export function scrubberFor (configs: readonly unknown[], schemas: SchemaSource): Scrubber {
  return new Scrubber(configs.flatMap((c) => configSecrets(c, schemas)))
}

/**
 * A copy of a PUT body in which each REDACTED at a secret's place holds the running value again, so that
 * GET → edit → PUT keeps the secrets. Plugin entries are matched by name, and read with the running plugin's schema.
 */
export function restoreSecrets (data: unknown, running: SidecarConfig, schemas: SchemaSource): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data
  const root = { ...(data as Loose) }
  const admin = rec(root.admin)
  if (admin.token === REDACTED && running.admin.token !== undefined) root.admin = { ...admin, token: running.admin.token }
  for (const { key, from } of SECTIONS) {
    const was = running[key]
    if (root[key] === undefined || was === undefined) continue
    if (root[key] === REDACTED) { root[key] = was; continue }
    const schema = schemas.schemaFor(from)
    if (schema !== undefined) root[key] = mapSecrets(schema, root[key], (secret, path) => secret === REDACTED ? valueAt(was, path) ?? secret : secret)
  }
  if (Array.isArray(root.listeners)) {
    // Listeners are matched by name, as plugin entries are.
    const given = root.listeners.map(rec)
    root.listeners = mapListenerSecrets(root, schemas, (secret, path, i) =>
      secret === REDACTED ? valueAt(running.listeners.find((l) => l.name === given[i]!.name), path) ?? secret : secret)
  }
  if (Array.isArray(root.plugins)) {
    root.plugins = root.plugins.map((p) => {
      const entry = rec(p)
      const was = running.plugins.find((r) => r.name === entry.name)
      const schema = was === undefined ? undefined : schemas.schemaFor(was.from)
      if (was === undefined || entry.config === undefined) return p
      if (entry.config === REDACTED) return { ...entry, config: was.config } // shown whole as REDACTED: its schema was unknown
      if (schema === undefined) return p
      return { ...entry, config: mapSecrets(schema, entry.config, (secret, path) => secret === REDACTED ? valueAt(was.config, path) ?? secret : secret) }
    })
  }
  return root
}

/** REDACTED left where a secret goes, with no running value it stood for: the caller must send the value. */
export function unrestored (config: SidecarConfig, schemas: SchemaSource): Problem[] {
  const out: Problem[] = []
  const message = `is "${REDACTED}", and there is no running value for it to keep: send the value itself`
  if (config.admin.token === REDACTED) out.push({ path: '/admin/token', message })
  for (const { key, from } of SECTIONS) {
    const schema = schemas.schemaFor(from)
    if (schema !== undefined && config[key] !== undefined) {
      mapSecrets(schema, config[key], (secret, path) => {
        if (secret === REDACTED) out.push({ path: `/${key}${pointer(path)}`, message })
        return secret
      })
    }
  }
  mapListenerSecrets(config, schemas, (secret, path, i) => {
    if (secret === REDACTED) out.push({ path: `/listeners/${i}${pointer(path)}`, message })
    return secret
  })
  config.plugins.forEach((p, i) => {
    const schema = schemas.schemaFor(p.from)
    if (schema === undefined) return
    mapSecrets(schema, p.config, (secret, path) => {
      if (secret === REDACTED) out.push({ path: `/plugins/${i}/config${pointer(path)}`, message })
      return secret
    })
  })
  return out
}
