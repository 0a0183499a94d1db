// The secrets of a config (secrets.ts): admin.token and the writeOnly values of each plugin's config, found with
// the plugin's own configSchema as the registry loaded it.
import type { Problem } from '../../core/errors.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'
import { mapSecrets, REDACTED, Scrubber, secretStrings, valueAt } from '../secrets.ts'

/** Where the plugins' config schemas come from (PluginRegistry): by the config entry's `from`. */
export interface SchemaSource { schemaFor (from: string): object | undefined }

type Loose = Record<string, unknown>
const rec = (v: unknown): Loose => v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Loose : {}
const list = (v: unknown): unknown[] => Array.isArray(v) ? v : []

/** The config as the admin API shows it: every secret replaced by REDACTED. */
export function redactConfig (config: SidecarConfig, schemas: SchemaSource): SidecarConfig {
  return {
    ...config,
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
  config.plugins.forEach((p, i) => {
    const schema = schemas.schemaFor(p.from)
    if (schema === undefined) return
    mapSecrets(schema, p.config, (secret, path) => {
      if (secret === REDACTED) out.push({ path: `/plugins/${i}/config${path.map((k) => `/${k}`).join('')}`, message })
      return secret
    })
  })
  return out
}
