// The tenant-routing plugin's config: where the tenant is read from, which group serves each, and what an
// unknown tenant gets.
import type { FromSchema, JSONSchema } from '../../../core/plugin-api.ts'

const GROUP = {
  type: 'string',
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: 'must be a target group name (1-63 lower-case letters, digits or "-", starting with a letter)',
} as const
const HEADER = {
  type: 'string',
  pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,64}$',
  description: 'must be an HTTP header name (RFC 9110 token)',
} as const

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['tenants'],
  properties: {
    /** Tenant → target group. */
    tenants: { type: 'object', minProperties: 1, additionalProperties: GROUP, description: 'must map at least one tenant to a target group' },
    /**
     * Where to look, in order; the first that yields a tenant wins. The token comes first by default: behind an
     * authenticating edge it has been verified, while a client can send any header.
     */
    from: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['jwt', 'header'] }, default: ['jwt', 'header'] },
    /** The request header that names the tenant (for `from: header`). */
    header: { ...HEADER, default: 'x-tenant' },
    /** The claim of the `Authorization: Bearer` token's payload that names the tenant (for `from: jwt`). */
    claim: { type: 'string', minLength: 1, maxLength: 256, default: 'tenant' },
    /** Set to the tenant on the request the target gets (and removed when there is none). */
    forwardHeader: { ...HEADER, default: 'x-tenant' },
    /** Requests whose tenant is missing or not in `tenants` go here; without it they get `unknownReply`. */
    defaultGroup: GROUP,
    unknownReply: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        statusCode: { enum: [403, 404], default: 404 },
        body: { type: 'string', maxLength: 1024, default: 'unknown tenant' },
      },
    },
  },
} as const satisfies JSONSchema

export type TenantRoutingConfig = FromSchema<typeof configSchema>
