// Every error code Pilotfish sends or throws, with its message and the HTTP status the admin API answers with
// (fastify's errors.js: code, message, status). docs/errors.md lists them; a test keeps the two in step.
import { format } from 'node:util'

// Codes the admin API never sends (the CLI's, the config file's) still carry the status they would have.
const errors = {
  // ---- configuration
  PF_ERR_CONFIG_INVALID: { status: 400, message: 'config is invalid at %s: %s' },
  PF_ERR_CONFIG_READ: { status: 400, message: 'config file %s could not be read: %s' },
  PF_ERR_CONFIG_PARSE: { status: 400, message: 'config file %s is not valid YAML or JSON: %s' },
  PF_ERR_CONFIG_ENV: { status: 400, message: 'config references ${%s}, which is not set and has no default' },
  // ---- listeners, targets, shards
  PF_ERR_LISTENER_BIND: { status: 500, message: 'listener %s could not bind %s: %s' },
  PF_ERR_TARGET_GROUP_UNKNOWN: { status: 404, message: 'target group %s does not exist' },
  PF_ERR_TARGET_EXISTS: { status: 409, message: 'target %s is already registered in %s' },
  PF_ERR_TARGET_UNKNOWN: { status: 404, message: 'target %s is not registered in %s' },
  PF_ERR_SHARD_FAILED: { status: 500, message: 'shard %d failed: %s' },
  // ---- admin API
  PF_ERR_ADMIN_EXPOSED: { status: 400, message: 'admin API on %s needs a token (admin.token) because it is not loopback' },
  PF_ERR_ADMIN_BIND: { status: 409, message: 'the admin API could not bind %s: %s' },
  PF_ERR_ADMIN_UNAUTHORIZED: { status: 401, message: 'a valid bearer token is required (Authorization: Bearer <admin.token>)' },
  PF_ERR_ADMIN_NOT_FOUND: { status: 404, message: 'no admin route %s %s (see GET /v1/status, /v1/config, /v1/target-groups, /v1/plugins, /metrics)' },
  PF_ERR_ADMIN_BODY_JSON: { status: 400, message: 'the body is not valid JSON: %s' },
  PF_ERR_ADMIN_BODY_YAML: { status: 415, message: 'the admin API takes JSON, not YAML (content-type %s): send the config as JSON with content-type application/json (convert a YAML file first, e.g. yq -o=json)' },
  PF_ERR_ADMIN_CONTENT_TYPE: { status: 415, message: 'content-type %s is not accepted: the admin API takes application/json' },
  PF_ERR_ADMIN_BODY_TOO_LARGE: { status: 413, message: 'the body is larger than the admin API accepts (%d bytes)' },
  PF_ERR_ADMIN_BAD_REQUEST: { status: 400, message: 'the request could not be read: %s' },
  PF_ERR_INTERNAL: { status: 500, message: 'internal error: %s' },
  // ---- command line
  PF_ERR_CLI_USAGE: { status: 400, message: '%s' },
  // ---- plugins
  PF_ERR_PLUGIN_LOAD: { status: 400, message: 'plugin %s could not load from %s: %s' },
  PF_ERR_PLUGIN_HOOK: { status: 400, message: 'plugin %s is used for its %s hook, which it does not have' },
  PF_ERR_PLUGIN_HOOK_FAILED: { status: 400, message: 'plugin %s failed in %s: %s' },
  PF_ERR_PLUGIN_UNKNOWN: { status: 404, message: 'plugin %s is not in the config' },
  PF_ERR_PLUGIN_TARGET_GROUP: { status: 400, message: 'plugin %s routes to target group %s, which does not exist' },
  PF_ERR_PLUGIN_REFUSED: { status: 400, message: 'shard %d refused the config because of a plugin: %s' },
  PF_ERR_PLUGIN_COUNTER: { status: 400, message: 'plugin counter %s: %s' },
} as const satisfies Record<string, { status: number, message: string }>

export type ErrorCode = keyof typeof errors
export const errorCodes = Object.keys(errors) as ErrorCode[]

/** The HTTP status the admin API answers a code with. */
export function statusOf (code: ErrorCode): number {
  return errors[code].status
}

/** One problem found in a document, with the JSON path where it was found. */
export interface Problem { path: string, message: string }

export class PilotfishError extends Error {
  readonly code: ErrorCode
  /** Every problem found, when the error is about a document (config, admin body). */
  readonly problems: Problem[]
  constructor (code: ErrorCode, args: readonly unknown[] = [], options?: ErrorOptions & { problems?: Problem[] }) {
    super(format(errors[code].message, ...args), options)
    this.name = 'PilotfishError'
    this.code = code
    this.problems = options?.problems ?? []
  }

  /** The HTTP status for this error's code. */
  get status (): number { return errors[this.code].status }
}

/** One error for all problems: the message names the first and lists the rest, `problems` holds them all. */
export function invalid (problems: Problem[], code: ErrorCode = 'PF_ERR_CONFIG_INVALID'): PilotfishError {
  const [first, ...rest] = problems
  const more = rest.map((p) => `\n  at ${p.path || '/'}: ${p.message}`).join('')
  return new PilotfishError(code, [first?.path || '/', (first?.message ?? 'invalid') + more], { problems })
}
