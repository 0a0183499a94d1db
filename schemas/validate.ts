// Validation at run time: the config and admin bodies against their JSON Schemas, and the config's checks beyond
// JSON Schema.
//
// The schema validators are precompiled: schemas/validators.generated.js is Ajv's standalone code for the
// schemas, written by schemas/generate-validators.ts (`npm run validators`; a test fails when it is stale).
// Loading Ajv and compiling the config schema at start cost the control plane ~17 MiB of RSS; this costs ~1.
//
// Every validator reports every problem it finds as { path, message } with a JSON pointer path, in one
// PilotfishError('PF_ERR_CONFIG_INVALID'), so a user fixes a config in one pass instead of one error per run.
import { isIP } from 'node:net'
import type { ErrorObject } from 'ajv'
import { invalid, PilotfishError, type ErrorCode, type Problem } from '../core/errors.ts'
import { parseCidr, isLoopback } from '../core/rule/cidr.ts'
import type { SidecarConfig } from './sidecar.schema.ts'
import type { RegisterTarget } from './admin.schema.ts'
import * as precompiled from './validators.generated.js'

export type Validator<T> = (data: unknown, at?: string) => T

/** An Ajv validate function: true when valid, otherwise false with its errors on `.errors`. */
export interface SchemaCheck {
  (data: unknown): boolean
  errors?: ErrorObject[] | null
}

/** Wraps a check: the returned function gives back the (default-filled) data or throws with every problem. */
export function fromCheck<T> (check: SchemaCheck, code: ErrorCode = 'PF_ERR_CONFIG_INVALID'): Validator<T> {
  return (data, at = '') => {
    if (check(data)) return data as T
    throw invalid(schemaProblems(check.errors ?? [], at), code)
  }
}

export { invalid }

// ---------------------------------------------------------------------------------------------- ajv errors

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1')

/** ajv errors → problems: one per mistake, at the property it concerns, in words a config author reads. */
export function schemaProblems (errors: readonly ErrorObject[], at = ''): Problem[] {
  // A failed oneOf/anyOf also reports why each branch failed; the combinator's own message says it better.
  const combinators = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
  const out: Problem[] = []
  const seen = new Set<string>()
  for (const e of errors) {
    if (e.keyword === 'propertyNames') continue // its per-name 'pattern' error is reported instead
    if (combinators.some((c) => c !== e && e.schemaPath.startsWith(c.schemaPath + '/') && e.instancePath.startsWith(c.instancePath))) continue
    const p = problemOf(e, at)
    const key = p.path + '\0' + p.message
    if (!seen.has(key)) { seen.add(key); out.push(p) }
  }
  return out
}

function problemOf (e: ErrorObject, at: string): Problem {
  const path = at + e.instancePath
  const parent = e.parentSchema as { description?: string, properties?: object, oneOf?: Array<{ properties: { type: { const: string } } }> } | undefined
  const params = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys(parent?.properties ?? {}).join(', ')
      return { path: `${path}/${escapePointer(String(params.additionalProperty))}`, message: `is not a known property (known: ${allowed})` }
    }
    case 'required':
      return { path: `${path}/${escapePointer(String(params.missingProperty))}`, message: 'is required' }
    case 'enum':
      return { path, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` }
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}` }
    case 'discriminator': {
      const types = (parent?.oneOf ?? []).map((b) => JSON.stringify(b.properties.type.const)).join(', ')
      return { path: `${path}/${String(params.tag)}`, message: `must be one of ${types}` }
    }
    case 'pattern':
    case 'oneOf':
    case 'anyOf':
    case 'minProperties': {
      // These messages say little ("must match pattern …"); the schema's description says what is wanted.
      const message = parent?.description ?? e.message ?? 'is invalid'
      return e.propertyName === undefined ? { path, message } : { path: `${path}/${escapePointer(e.propertyName)}`, message }
    }
    default:
      return { path, message: e.message ?? 'is invalid' }
  }
}

// ---------------------------------------------------------------------------------------------- validators

const checkSidecar = fromCheck<SidecarConfig>(precompiled.sidecar)

/** Admin API: the body of "register a target". */
export const parseRegisterTarget: Validator<RegisterTarget> = fromCheck<RegisterTarget>(precompiled.registerTarget)

/**
 * Validate a parsed config document: JSON Schema (filling every default) and then the semantic checks, all
 * problems of both kinds reported together. The semantic checks read the data defensively, so they can run
 * even where the schema found mistakes.
 */
export function validateConfig (data: unknown): SidecarConfig {
  let problems: Problem[] = []
  let config: SidecarConfig | undefined
  try {
    config = checkSidecar(data)
  } catch (err) {
    if (!(err instanceof PilotfishError)) throw err
    problems = err.problems
  }
  problems.push(...semanticProblems(data))
  if (problems.length > 0 || config === undefined) throw invalid(problems)
  return config
}

// ---------------------------------------------------------------------------------------------- semantics

type Loose = Record<string, unknown>
const list = (v: unknown): unknown[] => Array.isArray(v) ? v : []
const rec = (v: unknown): Loose => v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Loose : {}
const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined

/**
 * Checks JSON Schema cannot express: references, uniqueness, regexes, CIDRs, and ALB's cross-field rules.
 * Runs after the schema pass, which has filled in the defaults (ajv does so even where it finds mistakes).
 */
export function semanticProblems (data: unknown): Problem[] {
  const out: Problem[] = []
  const root = rec(data)
  checkAdmin(rec(root.admin), out)
  const refs: Refs = { groups: new Set(), plugins: uniqueNames(list(root.plugins), '/plugins', out) }
  refs.groups = checkTargetGroups(list(root.targetGroups), refs, out)
  checkListeners(list(root.listeners), refs, out)
  return out
}

/** What forward actions and plugin references may name. */
interface Refs { groups: Set<string>, plugins: Set<string> }

function uniqueNames (items: unknown[], at: string, out: Problem[]): Set<string> {
  const names = new Map<string, number>()
  items.forEach((item, i) => {
    const name = str(rec(item).name)
    if (name === undefined) return
    const first = names.get(name)
    if (first === undefined) names.set(name, i)
    else out.push({ path: `${at}/${i}/name`, message: `duplicates the name of ${at}/${first}` })
  })
  return new Set(names.keys())
}

function checkPluginRefs (names: unknown[], at: string, refs: Refs, out: Problem[]): void {
  names.forEach((n, k) => {
    if (typeof n === 'string' && !refs.plugins.has(n)) out.push({ path: `${at}/${k}`, message: `names plugin ${n}, which is not in /plugins` })
  })
}

function checkAdmin (admin: Loose, out: Problem[]): void {
  const host = str(admin.host)
  if (host !== undefined && !isLoopback(host) && str(admin.token) === undefined) {
    out.push({ path: '/admin/token', message: `is required because admin.host ${host} is not loopback (127.0.0.0/8, ::1, localhost)` })
  }
}

/** Returns the names of the target groups, for forward actions to refer to. */
function checkTargetGroups (groups: unknown[], refs: Refs, out: Problem[]): Set<string> {
  const names = uniqueNames(groups, '/targetGroups', out)
  groups.forEach((g, i) => {
    const tg = rec(g)
    const at = `/targetGroups/${i}`
    checkPluginRefs(list(tg.plugins), `${at}/plugins`, refs, out)
    const consistent = tg.algorithm === 'consistent_hash'
    if (consistent && tg.hashOn === undefined) out.push({ path: `${at}/hashOn`, message: 'is required when algorithm is consistent_hash' })
    if (!consistent && tg.hashOn !== undefined) out.push({ path: `${at}/hashOn`, message: 'is only used with algorithm consistent_hash' })
    const endpoints = new Map<string, number>()
    list(tg.targets).forEach((t, j) => {
      const target = rec(t)
      const host = str(target.host)
      if (host === undefined) return
      if (host.includes(':') && isIP(host) !== 6) out.push({ path: `${at}/targets/${j}/host`, message: 'is not a valid IPv6 address' })
      const id = `${host.toLowerCase()}:${String(target.port)}`
      const first = endpoints.get(id)
      if (first === undefined) endpoints.set(id, j)
      else out.push({ path: `${at}/targets/${j}`, message: `duplicates ${id} at ${at}/targets/${first}` })
    })
  })
  return names
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0'])

function checkListeners (listeners: unknown[], refs: Refs, out: Problem[]): void {
  uniqueNames(listeners, '/listeners', out)
  const bound: Array<{ host: string, port: number, index: number }> = []
  listeners.forEach((l, i) => {
    const listener = rec(l)
    const at = `/listeners/${i}`
    checkPluginRefs(list(listener.plugins), `${at}/plugins`, refs, out)
    checkCidrs(list(listener.allowFrom), `${at}/allowFrom`, out)
    // Port 0 is "any free port": two such listeners never collide. A wildcard host overlaps every host.
    const host = str(listener.host)?.toLowerCase()
    const port = listener.port
    if (host !== undefined && typeof port === 'number' && port !== 0) {
      const clash = bound.find((b) => b.port === port && (b.host === host || WILDCARD_HOSTS.has(b.host) || WILDCARD_HOSTS.has(host)))
      if (clash !== undefined) out.push({ path: `${at}/port`, message: `${host}:${port} overlaps /listeners/${clash.index} (${clash.host}:${port})` })
      else bound.push({ host, port, index: i })
    }
    checkRules(list(listener.rules), `${at}/rules`, refs, out)
    if (listener.defaultAction !== undefined) checkAction(rec(listener.defaultAction), `${at}/defaultAction`, refs, out)
  })
}

function checkRules (rules: unknown[], at: string, refs: Refs, out: Problem[]): void {
  const priorities = new Map<unknown, number>()
  uniqueNames(rules, at, out)
  rules.forEach((r, j) => {
    const rule = rec(r)
    if (typeof rule.priority === 'number') {
      const first = priorities.get(rule.priority)
      if (first === undefined) priorities.set(rule.priority, j)
      else out.push({ path: `${at}/${j}/priority`, message: `duplicates the priority of ${at}/${first}` })
    }
    const conditions = rec(rule.conditions)
    checkConditions(conditions, `${at}/${j}/conditions`, out)
    checkPluginRefs(list(conditions.plugin), `${at}/${j}/conditions/plugin`, refs, out)
    if (rule.action !== undefined) checkAction(rec(rule.action), `${at}/${j}/action`, refs, out)
  })
}

function checkConditions (c: Loose, at: string, out: Problem[]): void {
  list(c.pathRegex).forEach((src, k) => {
    if (typeof src !== 'string') return
    try {
      new RegExp(src)
    } catch (err) {
      out.push({ path: `${at}/pathRegex/${k}`, message: `is not a valid regular expression: ${(err as Error).message}` })
    }
  })
  checkCidrs(list(c.sourceIp), `${at}/sourceIp`, out)
}

function checkCidrs (cidrs: unknown[], at: string, out: Problem[]): void {
  cidrs.forEach((cidr, k) => {
    if (typeof cidr === 'string' && parseCidr(cidr) === null) {
      out.push({ path: `${at}/${k}`, message: 'is not an IPv4 or IPv6 address or CIDR block' })
    }
  })
}

function checkAction (action: Loose, at: string, refs: Refs, out: Problem[]): void {
  const groups = refs.groups
  if (action.type === 'plugin') {
    const name = str(action.plugin)
    if (name !== undefined && !refs.plugins.has(name)) out.push({ path: `${at}/plugin`, message: `names plugin ${name}, which is not in /plugins` })
  } else if (action.type === 'forward') {
    const seen = new Set<string>()
    let positive = false
    list(action.targetGroups).forEach((g, k) => {
      const ref = rec(g)
      const name = str(ref.name)
      if (ref.weight !== 0) positive = true
      if (name === undefined) return
      if (!groups.has(name)) out.push({ path: `${at}/targetGroups/${k}/name`, message: `names target group ${name}, which does not exist` })
      if (seen.has(name)) out.push({ path: `${at}/targetGroups/${k}/name`, message: `names target group ${name} twice` })
      seen.add(name)
    })
    if (!positive && list(action.targetGroups).length > 0) out.push({ path: `${at}/targetGroups`, message: 'at least one target group needs weight > 0' })
  } else if (action.type === 'fixed-response') {
    const s = action.statusCode
    if (typeof s === 'number' && s >= 300 && s < 400) out.push({ path: `${at}/statusCode`, message: 'must be 2XX, 4XX or 5XX, as in ALB (use a redirect action for 3XX)' })
  } else if (action.type === 'redirect') {
    // ALB refuses a redirect that keeps every component: it would loop. Defaults are filled in by now.
    const self = str(action.protocol)?.toLowerCase() === '#{protocol}' && action.host === '#{host}' &&
      action.port === '#{port}' && action.path === '/#{path}' && action.query === '#{query}'
    if (self) out.push({ path: at, message: 'redirects every request to its own URL (change at least one of protocol, host, port, path, query)' })
    if (typeof action.port === 'string' && /^[0-9]+$/.test(action.port) && Number(action.port) > 65535) {
      out.push({ path: `${at}/port`, message: 'must be <= 65535' })
    }
  }
}
