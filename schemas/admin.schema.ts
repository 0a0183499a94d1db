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

/** One target as GET /v1/target-groups reports it, with its state as ALB shows target health (target-health.ts). */
export const targetStatusSchema = {
  $id: 'pilotfish/admin/target-status/v1',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'host', 'port', 'weight', 'state', 'reason', 'description', 'since', 'inFlight'],
  properties: {
    /** "host:port", "[v6]:port": the target's label in metrics and the DELETE path. */
    id: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    weight: { type: 'integer', minimum: 1, maximum: 1000 },
    /**
     * ALB's target states plus `maintenance`: `healthy` gets new requests; `initial` (health checks not passed
     * yet) and `unhealthy` do not, unless fail-open routes to all; `unused` is in a group no listener forwards to;
     * `draining` (deregistered) and `maintenance` only finish the requests they have.
     */
    state: { enum: ['initial', 'healthy', 'unhealthy', 'unused', 'draining', 'maintenance'] },
    /** ALB's reason code when not healthy (Target.Timeout, Target.ResponseCodeMismatch, Elb.InitialHealthChecking…). */
    reason: { type: ['string', 'null'] },
    /** The reason in words, e.g. "Health checks failed with these codes: [503]". */
    description: { type: ['string', 'null'] },
    /** When the target entered this state (ISO 8601). */
    since: { type: 'string' },
    /** Requests in progress to it, summed over the shards. */
    inFlight: { type: 'integer', minimum: 0 },
  },
} as const satisfies JSONSchema
export type TargetStatus = FromSchema<typeof targetStatusSchema>

/** GET /v1/target-groups/:name; one entry of GET /v1/target-groups. */
export const targetGroupStatusSchema = {
  $id: 'pilotfish/admin/target-group-status/v1',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'algorithm', 'targets'],
  properties: {
    name: { type: 'string' },
    algorithm: { enum: targetGroupSchema.properties.algorithm.enum },
    targets: { type: 'array', items: targetStatusSchema },
  },
} as const satisfies JSONSchema
export type TargetGroupStatus = FromSchema<typeof targetGroupStatusSchema>

/** GET /v1/target-groups. */
export const targetGroupsReplySchema = {
  $id: 'pilotfish/admin/target-groups/v1',
  type: 'object',
  additionalProperties: false,
  required: ['targetGroups'],
  properties: { targetGroups: { type: 'array', items: targetGroupStatusSchema } },
} as const satisfies JSONSchema
export type TargetGroupsReply = FromSchema<typeof targetGroupsReplySchema>

/** GET /v1/status. */
export const statusReplySchema = {
  $id: 'pilotfish/admin/status/v1',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'configVersion', 'shards', 'shardRestarts', 'uptimeSeconds', 'admin', 'listeners'],
  properties: {
    version: { type: 'string' },
    configVersion: { type: 'integer', minimum: 1 },
    shards: { type: 'integer', minimum: 1 },
    shardRestarts: { type: 'integer', minimum: 0 },
    uptimeSeconds: { type: 'integer', minimum: 0 },
    /** Where the admin API answers, e.g. "http://127.0.0.1:9901". */
    admin: { type: 'string' },
    listeners: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'host', 'port', 'protocol'],
        /** `port` is the bound one: a listener configured with port 0 shows the port it was given. */
        properties: { name: { type: 'string' }, host: { type: 'string' }, port: { type: 'integer' }, protocol: { type: 'string' } },
      },
    },
  },
} as const satisfies JSONSchema
export type StatusReply = FromSchema<typeof statusReplySchema>

/** A change applied: PUT /v1/config (with `admin`, where the API answers from now on), POST and DELETE targets. */
export const changeReplySchema = {
  $id: 'pilotfish/admin/change/v1',
  type: 'object',
  additionalProperties: false,
  required: ['configVersion'],
  properties: { configVersion: { type: 'integer', minimum: 1 }, admin: { type: 'string' } },
} as const satisfies JSONSchema
export type ChangeReply = FromSchema<typeof changeReplySchema>

/** One plugin in GET /v1/plugins (control-plane/plugins.ts). */
export const pluginStatusSchema = {
  $id: 'pilotfish/admin/plugin-status/v1',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'from', 'version', 'generation', 'state', 'lastError'],
  properties: {
    name: { type: 'string' },
    from: { type: 'string' },
    version: { type: 'string' },
    /** The shard generation running the plugin's current code. */
    generation: { type: 'integer', minimum: 1 },
    /** `last-change-failed`: a reload or config change for it was refused; the version listed still runs. */
    state: { enum: ['running', 'last-change-failed'] },
    /** Why the last change was refused (secrets redacted), or null. */
    lastError: { type: ['string', 'null'] },
  },
} as const satisfies JSONSchema
export type PluginStatus = FromSchema<typeof pluginStatusSchema>

/** GET /v1/plugins. */
export const pluginsReplySchema = {
  $id: 'pilotfish/admin/plugins/v1',
  type: 'object',
  additionalProperties: false,
  required: ['generation', 'retiringShards', 'plugins'],
  properties: {
    generation: { type: 'integer', minimum: 1 },
    /** Shards of earlier generations still finishing their connections. */
    retiringShards: { type: 'integer', minimum: 0 },
    plugins: { type: 'array', items: pluginStatusSchema },
  },
} as const satisfies JSONSchema
export type PluginsReply = FromSchema<typeof pluginsReplySchema>

/** POST /v1/plugins/:name/reload. */
export const reloadReplySchema = {
  $id: 'pilotfish/admin/reload/v1',
  type: 'object',
  additionalProperties: false,
  required: ['generation', 'configVersion'],
  properties: { generation: { type: 'integer', minimum: 1 }, configVersion: { type: 'integer', minimum: 1 } },
} as const satisfies JSONSchema
export type ReloadReply = FromSchema<typeof reloadReplySchema>

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
