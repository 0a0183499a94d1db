// Secrets in a config: `admin.token`, and every plugin config value its schema marks `writeOnly: true` (JSON
// Schema's "may be sent, never returned"). They are replaced by REDACTED in what the admin API returns, searched
// for and replaced in every error message and log line, and a REDACTED sent back keeps the running value.
//
// Finding them walks the value along its schema: properties, patternProperties, additionalProperties, items and
// prefixItems lead down; allOf/anyOf/oneOf, if/then/else and local $refs all apply at once (a value that any
// branch calls secret is secret: the walk does not guess which branch validated).

export const REDACTED = '(redacted)'

type Path = ReadonlyArray<string | number>
type Schema = Record<string, unknown>

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** "#/$defs/key" in root; undefined for remote or broken refs (a plugin's schema compiled, so they are rare). */
function resolveRef (ref: string, root: unknown): unknown {
  if (!ref.startsWith('#')) return undefined
  let node = root
  for (const part of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')
    node = isObject(node) ? node[key] : undefined
  }
  return node
}

/** The schema and every subschema that applies to the same value (combinators, conditionals, refs). */
function applicable (schema: unknown, root: unknown, out: Schema[] = [], seen = new Set<unknown>()): Schema[] {
  if (!isObject(schema) || seen.has(schema)) return out
  seen.add(schema)
  out.push(schema)
  if (typeof schema.$ref === 'string') applicable(resolveRef(schema.$ref, root), root, out, seen)
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[k]
    if (Array.isArray(list)) for (const s of list) applicable(s, root, out, seen)
  }
  applicable(schema.then, root, out, seen)
  applicable(schema.else, root, out, seen)
  return out
}

function propertySchemas (s: Schema, key: string): unknown[] {
  const props = isObject(s.properties) ? s.properties : {}
  if (Object.hasOwn(props, key)) return [props[key]]
  const out: unknown[] = []
  if (isObject(s.patternProperties)) {
    for (const [pattern, sub] of Object.entries(s.patternProperties)) if (new RegExp(pattern, 'u').test(key)) out.push(sub)
  }
  if (out.length === 0 && isObject(s.additionalProperties)) out.push(s.additionalProperties)
  return out
}

function itemSchemas (s: Schema, i: number): unknown[] {
  const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : null
  if (prefix !== null && i < prefix.length) return [prefix[i]]
  const rest = prefix === null ? s.items : Array.isArray(s.items) ? s.additionalItems : s.items
  return isObject(rest) ? [rest] : []
}

/** Several schemas for one value: one allOf (they all apply). */
const combined = (schemas: unknown[]): unknown => schemas.length === 1 ? schemas[0] : { allOf: schemas }

/**
 * A copy of value in which every secret (a value at a writeOnly node of schema) is replace(secret, path).
 * `root` resolves $refs; it is the plugin's whole configSchema.
 */
export function mapSecrets (schema: unknown, value: unknown, replace: (secret: unknown, path: Path) => unknown, root: unknown = schema, path: Path = []): unknown {
  const here = applicable(schema, root)
  if (here.some((s) => s.writeOnly === true)) return replace(value, path)
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      const subs = here.flatMap((s) => itemSchemas(s, i))
      return subs.length === 0 ? v : mapSecrets(combined(subs), v, replace, root, [...path, i])
    })
  }
  if (isObject(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const subs = here.flatMap((s) => propertySchemas(s, k))
      out[k] = subs.length === 0 ? v : mapSecrets(combined(subs), v, replace, root, [...path, k])
    }
    return out
  }
  return value
}

/** Every string and number inside a value (a secret may be a whole object). */
export function leaves (value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value)
  else if (typeof value === 'number') out.push(String(value))
  else if (Array.isArray(value)) for (const v of value) leaves(v, out)
  else if (isObject(value)) for (const v of Object.values(value)) leaves(v, out)
  return out
}

/** The secret strings in value under schema; a value without a known schema is all secret (nothing is known of it). */
export function secretStrings (schema: unknown, value: unknown): string[] {
  if (schema === undefined) return leaves(value)
  const out: string[] = []
  mapSecrets(schema, value, (secret) => { leaves(secret, out); return secret })
  return out
}

/** The value at path, or undefined. */
export function valueAt (value: unknown, path: Path): unknown {
  let node = value
  for (const p of path) node = Array.isArray(node) || isObject(node) ? (node as Record<string | number, unknown>)[p] : undefined
  return node
}

/** Below this length a secret is replaced in text only where it stands as a word of its own, not inside others. */
const SHORT = 6

/** Replaces secrets inside free text: error messages, problems, log lines. */
export class Scrubber {
  readonly #pattern: RegExp | null

  constructor (secrets: Iterable<string>) {
    const unique = [...new Set(secrets)].filter((s) => s !== '' && s !== REDACTED).sort((a, b) => b.length - a.length)
    const alternatives = unique.map((s) => {
      const escaped = s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      return s.length < SHORT ? `(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])` : escaped
    })
    this.#pattern = alternatives.length === 0 ? null : new RegExp(alternatives.join('|'), 'g')
  }

  text (s: string): string {
    return this.#pattern === null ? s : s.replace(this.#pattern, REDACTED)
  }

  /** The error with its message and problems scrubbed, in place (its code, cause and stack stay). */
  error<E> (err: E): E {
    if (this.#pattern === null || err === null || typeof err !== 'object') return err
    const e = err as { message?: unknown, stack?: unknown, problems?: unknown }
    if (typeof e.message === 'string') e.message = this.text(e.message)
    if (typeof e.stack === 'string') e.stack = this.text(e.stack)
    if (Array.isArray(e.problems)) for (const p of e.problems as Array<{ message: string, path: string }>) p.message = this.text(p.message)
    return err
  }
}
