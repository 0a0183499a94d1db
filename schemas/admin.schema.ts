// Bodies and replies of the admin API, as JSON Schema: fastify route `schema:` fields take these same objects.
import type { FromSchema, JSONSchema } from 'json-schema-to-ts'
import { targetGroupSchema, targetSchema } from './sidecar.schema.ts'

/**
 * POST /target-groups/:name/targets — register a target (ALB RegisterTargets): `{ host, port, weight? }`, the
 * same shape as a target in the config file (host name or IP, port 1–65535, weight 1–1000 default 1).
 */
export const registerTargetSchema = {
  $id: 'pilotfish/admin/register-target/v1',
  ...targetSchema,
} as const satisfies JSONSchema
export type RegisterTarget = FromSchema<typeof registerTargetSchema>

/** Route parameters naming a target group. */
export const targetGroupParamsSchema = {
  $id: 'pilotfish/admin/target-group-params/v1',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: targetGroupSchema.properties.name },
} as const satisfies JSONSchema
export type TargetGroupParams = FromSchema<typeof targetGroupParamsSchema>

/** One target as the admin API reports it (ALB DescribeTargetHealth's TargetHealthDescription, simplified). */
export const targetStatusSchema = {
  $id: 'pilotfish/admin/target-status/v1',
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port', 'weight', 'state'],
  properties: {
    host: { type: 'string' },
    port: { type: 'integer' },
    weight: { type: 'integer' },
    /** ALB target states; `unused` = registered in a group no rule forwards to. */
    state: { enum: ['initial', 'healthy', 'unhealthy', 'draining', 'unused'] },
    /** Seconds left in the deregistration delay, while draining. */
    drainingSeconds: { type: 'number' },
    reason: { type: 'string' },
  },
} as const satisfies JSONSchema
export type TargetStatus = FromSchema<typeof targetStatusSchema>

/** Error replies: the PilotfishError code, its message and, for invalid bodies, every problem. */
export const errorReplySchema = {
  $id: 'pilotfish/admin/error/v1',
  type: 'object',
  additionalProperties: false,
  required: ['code', 'message'],
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    problems: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const satisfies JSONSchema
export type ErrorReply = FromSchema<typeof errorReplySchema>
