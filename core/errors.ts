// Control-plane errors with stable codes (docs/errors.md lists them; a test keeps the two in step).
import { format } from 'node:util'

const messages = {
  PF_ERR_CONFIG_INVALID: 'config is invalid at %s: %s',
  PF_ERR_CONFIG_READ: 'config file %s could not be read: %s',
  PF_ERR_CONFIG_PARSE: 'config file %s is not valid YAML or JSON: %s',
  PF_ERR_CONFIG_ENV: 'config references ${%s}, which is not set and has no default',
  PF_ERR_LISTENER_BIND: 'listener %s could not bind %s: %s',
  PF_ERR_TARGET_GROUP_UNKNOWN: 'target group %s does not exist',
  PF_ERR_TARGET_EXISTS: 'target %s is already registered in %s',
  PF_ERR_TARGET_UNKNOWN: 'target %s is not registered in %s',
  PF_ERR_SHARD_FAILED: 'shard %d failed: %s',
  PF_ERR_ADMIN_EXPOSED: 'admin API on %s needs a token (admin.token) because it is not loopback',
  PF_ERR_CLI_USAGE: '%s',
  PF_ERR_PLUGIN_LOAD: 'plugin %s could not load from %s: %s',
  PF_ERR_PLUGIN_HOOK: 'plugin %s is used for its %s hook, which it does not have',
  PF_ERR_PLUGIN_HOOK_FAILED: 'plugin %s failed in %s: %s',
  PF_ERR_PLUGIN_UNKNOWN: 'plugin %s is not in the config',
  PF_ERR_PLUGIN_TARGET_GROUP: 'plugin %s routes to target group %s, which does not exist',
} as const
export type ErrorCode = keyof typeof messages
export const errorCodes = Object.keys(messages) as ErrorCode[]

/** One problem found in a document, with the JSON path where it was found. */
export interface Problem { path: string, message: string }

export class PilotfishError extends Error {
  readonly code: ErrorCode
  /** Every problem found, when the error is about a document (config, admin body). */
  readonly problems: Problem[]
  constructor (code: ErrorCode, args: readonly unknown[] = [], options?: ErrorOptions & { problems?: Problem[] }) {
    super(format(messages[code], ...args), options)
    this.name = 'PilotfishError'
    this.code = code
    this.problems = options?.problems ?? []
  }
}
