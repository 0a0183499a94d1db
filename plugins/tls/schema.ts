// The tls plugin's config: its (empty) entry config, and the listener key it owns (`tls`: certificates, policy,
// client authentication, HSTS), with ALB's meanings.
import type { FromSchema, JSONSchema } from '../../core/plugin-api.ts'
import { POLICY_NAMES } from './policies.ts'

/** The `plugins:` entry takes no settings: everything is per listener. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {},
} as const satisfies JSONSchema

const PATH = { type: 'string', minLength: 1, maxLength: 4096 } as const
const PEM = { type: 'string', minLength: 1, maxLength: 1_048_576 } as const

/** A certificate chain and its key, each from a file (relative to the config file) or inline PEM. */
const certificateSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'must have certFile or cert, and keyFile or key (checked in certificates.ts)',
  properties: {
    certFile: PATH,
    cert: { ...PEM, description: 'the certificate chain, PEM: the leaf first' },
    keyFile: PATH,
    key: { ...PEM, writeOnly: true, description: 'the private key, PEM (a secret: never shown)' },
  },
} as const satisfies JSONSchema

export const tlsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['certificates'],
  properties: {
    /** Chosen by SNI (names and wildcards as in each certificate); the first is the default. */
    certificates: { type: 'array', minItems: 1, maxItems: 64, items: certificateSchema },
    policy: { enum: POLICY_NAMES, default: 'pilotfish-tls12-2025' },
    clientAuth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['off', 'verify', 'passthrough'], default: 'off' },
        caFile: PATH,
        ca: PEM,
      },
      default: { mode: 'off' },
    },
    hsts: {
      type: 'object',
      additionalProperties: false,
      required: ['maxAgeSeconds'],
      properties: {
        maxAgeSeconds: { type: 'integer', minimum: 0, maximum: 63072000 },
        includeSubDomains: { type: 'boolean', default: false },
        preload: { type: 'boolean', default: false },
      },
    },
  },
} as const satisfies JSONSchema
export type TlsSection = FromSchema<typeof tlsSchema>

export const listenerSectionSchema = {
  type: 'object',
  required: ['tls'],
  properties: { tls: tlsSchema },
} as const satisfies JSONSchema
export type ListenerSection = FromSchema<typeof listenerSectionSchema>
