// The canary plugin's config: which groups, what share, and how a request can force or keep its side.
import type { FromSchema, JSONSchema } from '../../../core/plugin-api.ts'

const GROUP = {
  type: 'string',
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: 'must be a target group name (1-63 lower-case letters, digits or "-", starting with a letter)',
} as const
const TOKEN = {
  type: 'string',
  pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,64}$',
  description: 'must be an HTTP header or cookie name (RFC 9110 / RFC 6265 token)',
} as const

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['stable', 'canary'],
  properties: {
    /** The target group for every request that does not go to the canary. */
    stable: GROUP,
    canary: GROUP,
    /** The share of requests for the canary, in percent; honoured to 0.01 %. */
    percent: { type: 'number', minimum: 0, maximum: 100, default: 0 },
    /**
     * A request header whose value `always` or `never` overrides the split (any other value is ignored);
     * false turns the override off, e.g. where untrusted clients could send it.
     */
    forceHeader: {
      description: 'must be a header name, or false',
      oneOf: [TOKEN, { const: false }],
      default: 'x-canary',
    },
    /**
     * Keeps one user on one side: the split hashes this header's or cookie's value instead of drawing at
     * random. Requests without it are split at random.
     */
    sticky: {
      description: 'must be { header: name } or { cookie: name }',
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['header'], properties: { header: TOKEN } },
        { type: 'object', additionalProperties: false, required: ['cookie'], properties: { cookie: TOKEN } },
      ],
    },
  },
} as const satisfies JSONSchema

export type CanaryConfig = FromSchema<typeof configSchema>
