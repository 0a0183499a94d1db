// The stickiness plugin's config: its signing keys (the top-level `stickiness:` section of the sidecar's config),
// a target group's `stickiness` (ALB's duration-based lb_cookie and application-based app_cookie) and a forward
// action's `stickiness` (ALB's target group stickiness), with ALB's ranges and defaults.
import type { FromSchema, JSONSchema } from '../../core/plugin-api.ts'

/** RFC 6265 cookie-name: an RFC 9110 token. */
const COOKIE_NAME = {
  type: 'string',
  pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$",
  description: 'must be a cookie name (an RFC 9110 token, up to 128 characters)',
} as const

/** ALB: 1 second to 7 days. */
const duration = (fallback: number) => ({
  type: 'integer',
  minimum: 1,
  maximum: 604800,
  default: fallback,
  description: 'must be whole seconds from 1 to 604800 (7 days)',
} as const)

/** The least a signing key may hold: HMAC-SHA-256's output size (RFC 2104 §3: shorter keys weaken it). */
export const MIN_KEY_BYTES = 32

/**
 * `stickiness.keys`: the first signs, every one verifies, so a new key goes first and the old one stays until its
 * cookies have been re-signed. Entries left empty (an unset `${VAR:-}`) are ignored; checked in keyProblems.
 */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['keys'],
  description: 'needs keys: cookie stickiness signs its cookies, and every sidecar replica must sign with the same keys',
  properties: {
    keys: {
      type: 'array',
      maxItems: 8,
      items: { type: 'string', writeOnly: true },
      description: 'must be a list of signing keys (at least 32 bytes each; the first signs, all verify)',
    },
  },
} as const satisfies JSONSchema
export type StickinessConfig = FromSchema<typeof configSchema>

export const targetStickinessSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { enum: ['lb_cookie', 'app_cookie'], default: 'lb_cookie' },
    durationSeconds: duration(86400),
    /** lb_cookie: the cookie Pilotfish sets (ALB's AWSALB); app_cookie: its companion (ALB's AWSALBAPP). */
    cookieName: COOKIE_NAME,
    /** app_cookie: the application's own cookie, which the companion follows. */
    appCookieName: COOKIE_NAME,
    /** The sticky target is gone: 503 (Envoy's strict mode) instead of a new target. */
    strict: { type: 'boolean', default: false },
  },
  if: { properties: { type: { const: 'app_cookie' } }, required: ['type'] },
  then: { required: ['appCookieName'], properties: { appCookieName: COOKIE_NAME } },
} as const satisfies JSONSchema

export const groupSectionSchema = {
  type: 'object',
  properties: { stickiness: targetStickinessSchema },
} as const satisfies JSONSchema
export type GroupSection = FromSchema<typeof groupSectionSchema>
export type TargetStickiness = NonNullable<GroupSection['stickiness']>

export const forwardSectionSchema = {
  type: 'object',
  properties: {
    stickiness: {
      type: 'object',
      additionalProperties: false,
      required: ['enabled'],
      properties: {
        enabled: { type: 'boolean' },
        durationSeconds: duration(3600),
        /** ALB's AWSALBTG. */
        cookieName: { ...COOKIE_NAME, default: 'PILOTFISHTG' },
      },
    },
  },
} as const satisfies JSONSchema
export type ForwardSection = FromSchema<typeof forwardSectionSchema>

export const DEFAULT_COOKIE = 'PILOTFISH'
export const DEFAULT_APP_COMPANION = 'PILOTFISHAPP'

/** The keys that sign and verify: non-empty entries, each at least MIN_KEY_BYTES of UTF-8. Problems at their paths under `at`. */
export function signingKeys (config: StickinessConfig, at: string): { keys: string[], problems: Array<{ path: string, message: string }> } {
  const keys: string[] = []
  const problems: Array<{ path: string, message: string }> = []
  const given = config.keys ?? []
  given.forEach((k, i) => {
    if (k === '') return
    const bytes = Buffer.byteLength(k, 'utf8')
    if (bytes < MIN_KEY_BYTES) problems.push({ path: `${at}/keys/${i}`, message: `is ${bytes} bytes long; a signing key needs at least ${MIN_KEY_BYTES} (e.g. openssl rand -base64 48)` })
    else keys.push(k)
  })
  if (problems.length === 0 && keys.length === 0) {
    problems.push({ path: `${at}/keys`, message: 'has no key left once empty entries are dropped: set at least one (all replicas must share it)' })
  }
  return { keys, problems }
}
