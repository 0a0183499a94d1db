// The sidecar's config document (YAML or JSON) as JSON Schema, and the types FromSchema derives from it.
//
// Every default lives here: ajv runs with useDefaults, so validated data always carries them and FromSchema
// (keepDefaultedPropertiesOptional: false) types defaulted properties as present. Checks JSON Schema cannot
// express (cross references, uniqueness, regexes that compile, CIDRs that parse) live in validate.ts.
// ALB references: rule-condition-types.html [S1], rule-action-types.html [S2], edit-target-group-attributes.html [S4].
//
// Each part is its own constant, embedded by value (no $ref): one FromSchema per exported alias keeps tsc well
// away from "type instantiation is excessively deep", and ajv sees one self-contained document.
import type { FromSchema, JSONSchema } from 'json-schema-to-ts'

/** kebab-case names for listeners and target groups: they appear in metrics labels and admin URLs. */
const NAME = {
  type: 'string',
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: 'must be 1-63 lower-case letters, digits or "-", starting with a letter',
} as const

/** A DNS name, IPv4 or IPv6 address (unbracketed). IPv6 forms are checked further with net.isIP in validate.ts. */
export const hostSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  description: 'must be a host name, an IPv4 address or an IPv6 address (without brackets)',
  pattern: '^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$',
} as const satisfies JSONSchema

const PORT = { type: 'integer', minimum: 1, maximum: 65535 } as const
/** Seconds; fractions allowed (tests use short timeouts). */
const seconds = <D extends number, M extends number>(def: D, max: M) =>
  ({ type: 'number', exclusiveMinimum: 0, maximum: max, default: def }) as const

/** References to `plugins[].name`, in the order their hooks run (checked to exist in compile.ts). */
const PLUGIN_NAMES = { type: 'array', maxItems: 16, uniqueItems: true, items: NAME, default: [] } as const

// ---------------------------------------------------------------------------------------------- targets

/** One target: the admin API's register body uses the same schema (admin.schema.ts). */
export const targetSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port'],
  properties: {
    host: hostSchema,
    port: PORT,
    /** Pilotfish extension: ALB has no per-target weight. 0 is not allowed: deregister instead. */
    weight: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
  },
} as const satisfies JSONSchema
export type TargetConfig = FromSchema<typeof targetSchema>

const HEADER_NAME = {
  type: 'string',
  pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,64}$',
  description: 'must be an HTTP header name (RFC 9110 token)',
} as const

export const hashOnSchema = {
  type: 'object',
  description: 'must be exactly one of {header: name}, {cookie: name} or {sourceIp: true}',
  oneOf: [
    { type: 'object', additionalProperties: false, required: ['header'], properties: { header: HEADER_NAME } },
    { type: 'object', additionalProperties: false, required: ['cookie'], properties: { cookie: { ...HEADER_NAME, description: 'must be a cookie name (RFC 6265 token)' } } },
    { type: 'object', additionalProperties: false, required: ['sourceIp'], properties: { sourceIp: { const: true } } },
  ],
} as const satisfies JSONSchema
export type HashOnConfig = FromSchema<typeof hashOnSchema>

export const targetGroupSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: NAME,
    algorithm: {
      enum: ['round_robin', 'least_outstanding_requests', 'weighted_random', 'consistent_hash'],
      default: 'round_robin',
    },
    /** Required iff algorithm is consistent_hash (checked in validate.ts). */
    hashOn: hashOnSchema,
    /** Targets can also be registered at run time through the admin API. */
    targets: { type: 'array', items: targetSchema, default: [] },
    connectTimeoutSeconds: seconds(5, 60),
    /** Time to the first byte of the response head → 504. */
    responseTimeoutSeconds: seconds(60, 4000),
    /** Idle pooled connections close after this: below Node's 5 s server keep-alive default, so we close first. */
    keepAliveTimeoutSeconds: seconds(4, 3600),
    maxIdlePerTarget: { type: 'integer', minimum: 0, maximum: 10000, default: 64 },
    /** ALB default 300 s, range 0–3600 [S4]. */
    deregistrationDelaySeconds: { type: 'number', minimum: 0, maximum: 3600, default: 300 },
    /** ALB: 0 (off) or 30–900 s [S4]. */
    slowStartSeconds: {
      type: 'integer',
      default: 0,
      description: 'must be 0 (off) or between 30 and 900',
      anyOf: [{ const: 0 }, { minimum: 30, maximum: 900 }],
    },
    // Group sections left to plugins: each is validated (and its defaults filled) by the targetGroupConfig schema
    // of the plugin that serves the group (plugins/health-check/schema.ts, …), and writing one turns its built-in
    // on for the group (sidecar/control-plane/built-ins.ts).
    /** Active health checks (ALB's), by the health-check plugin. */
    healthCheck: { type: 'object' },
    /** Passive health checks on live traffic (Envoy's outlier detection), by the health-check plugin. */
    outlierDetection: { type: 'object' },
    /** ALB: when no target is healthy, route to all (true, the default) or answer 503; by the health-check plugin. */
    failOpen: { type: 'boolean' },
    /** Cookie stickiness, by the stickiness plugin. */
    stickiness: { type: 'object' },
    /** Plugins (by `plugins[].name`) whose selector wrapper and forward/response hooks apply to this group, in order. */
    plugins: PLUGIN_NAMES,
  },
} as const satisfies JSONSchema
export type TargetGroupConfig = FromSchema<typeof targetGroupSchema>

// ---------------------------------------------------------------------------------------------- actions

/** ALB forward: 1–5 target groups, weights 0–999 [S2]. */
export const forwardActionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'targetGroups'],
  properties: {
    type: { const: 'forward' },
    targetGroups: {
      type: 'array',
      minItems: 1,
      maxItems: 5,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: NAME, weight: { type: 'integer', minimum: 0, maximum: 999, default: 1 } },
      },
    },
    // Left to plugins, as a group's sections are: validated by the forwardConfig schema of the plugin that reads it.
    /** ALB's target group stickiness: a client stays in the group it got; by the stickiness plugin. */
    stickiness: { type: 'object' },
  },
} as const satisfies JSONSchema
export type ForwardActionConfig = FromSchema<typeof forwardActionSchema>

/** ALB redirect: URI components reuse the request's through #{…} keywords; the defaults keep each one [S2]. */
export const redirectActionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'redirect' },
    /** ALB offers 301 and 302; 307 and 308 keep the method and body. */
    statusCode: { enum: [301, 302, 307, 308], default: 301 },
    protocol: {
      type: 'string',
      pattern: '^(?:[Hh][Tt][Tt][Pp][Ss]?|#\\{protocol\\})$',
      description: 'must be HTTP, HTTPS or #{protocol} (any case)',
      default: '#{protocol}',
    },
    host: { type: 'string', minLength: 1, maxLength: 128, default: '#{host}' },
    port: {
      default: '#{port}',
      description: 'must be a port number (1-65535) or "#{port}"',
      anyOf: [PORT, { type: 'string', pattern: '^(?:#\\{port\\}|[1-9][0-9]{0,4})$' }],
    },
    /** Must start with "/"; #{path} is the original path without its leading "/". */
    path: { type: 'string', pattern: '^/', description: 'must start with "/"', maxLength: 128, default: '/#{path}' },
    /** Without the leading "?"; #{query} is the original query. */
    query: { type: 'string', maxLength: 128, default: '#{query}' },
  },
} as const satisfies JSONSchema
export type RedirectActionConfig = FromSchema<typeof redirectActionSchema>

/** ALB fixed-response: the content types and the 1024-character body limit are ALB's [S2]. */
export const fixedResponseActionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'statusCode'],
  properties: {
    type: { const: 'fixed-response' },
    /** 3XX is rejected in validate.ts, as ALB does (a redirect needs a Location: use the redirect action). */
    statusCode: { type: 'integer', minimum: 200, maximum: 599 },
    contentType: {
      enum: ['text/plain', 'text/css', 'text/html', 'application/javascript', 'application/json'],
      default: 'text/plain',
    },
    body: { type: 'string', maxLength: 1024, default: '' },
  },
} as const satisfies JSONSchema
export type FixedResponseActionConfig = FromSchema<typeof fixedResponseActionSchema>

/** A plugin's route hook decides: a target group to forward to, or a reply (docs/plugins.md). */
export const pluginActionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'plugin'],
  properties: {
    type: { const: 'plugin' },
    plugin: NAME,
  },
} as const satisfies JSONSchema
export type PluginActionConfig = FromSchema<typeof pluginActionSchema>

/**
 * One of the three actions, chosen by `type`. ajv's `discriminator` keyword (JSON Schema has none; OpenAPI's)
 * is what lets useDefaults fill defaults inside a oneOf branch and report only the chosen branch's errors.
 * json-schema-to-ts's JSONSchema type does not list the keyword, so this constant is not `satisfies JSONSchema`
 * itself; each branch is, and the listener schema that embeds it is.
 */
export const actionSchema = {
  type: 'object',
  discriminator: { propertyName: 'type' },
  oneOf: [forwardActionSchema, redirectActionSchema, fixedResponseActionSchema, pluginActionSchema],
} as const
export type ActionConfig = FromSchema<typeof actionSchema>

// ---------------------------------------------------------------------------------------------- rules

/** ALB allows 5 values per condition here (and ≤128 characters each) [S1]. */
const values = <const S extends JSONSchema>(item: S) => ({ type: 'array', minItems: 1, maxItems: 5, items: item }) as const
/** ALB path-pattern characters, plus * and ? wildcards; case-sensitive [S1]. */
const PATH_PATTERN = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_.$/~"\'@:+&*?%=-]+$',
  description: 'may hold only letters, digits, the * and ? wildcards and _ - . $ / ~ " \' @ : + & % =',
} as const
/** ALB host-header characters, plus * and ? wildcards; matched case-insensitively, port ignored [S1]. */
const HOST_PATTERN = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9.*?-]+$',
  description: 'may hold only letters, digits, "-", "." and the * and ? wildcards (no port)',
} as const
const VALUE = { type: 'string', minLength: 1, maxLength: 128 } as const

export const conditionsSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'needs at least one condition (path, pathRegex, method, host, headers, query, sourceIp, plugin)',
  properties: {
    path: values(PATH_PATTERN),
    /** JS RegExp source, no flags; tested against the raw path (checked to compile in validate.ts). */
    pathRegex: values({ type: 'string', minLength: 1, maxLength: 128 }),
    /** ALB: A–Z, "-" and "_", exact and case-sensitive [S1]. */
    method: values({ type: 'string', pattern: '^[A-Z_-]{1,40}$', description: 'must be an upper-case method name (A-Z, "-", "_")' }),
    host: values(HOST_PATTERN),
    /** Each named header is a condition of its own (AND); its values are alternatives (OR). */
    headers: {
      type: 'object',
      minProperties: 1,
      maxProperties: 5,
      description: 'needs at least one header name',
      propertyNames: HEADER_NAME,
      additionalProperties: values(VALUE),
    },
    /** Pairs are alternatives (OR); a pair without key matches any key. */
    query: values({
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      properties: { key: VALUE, value: VALUE },
    }),
    /** CIDRs, IPv4 or IPv6; a plain address is /32 or /128 (checked to parse in validate.ts). */
    sourceIp: values({ type: 'string', minLength: 2, maxLength: 64 }),
    /** Plugins whose match hook decides; any of them matching is enough (OR). */
    plugin: values(NAME),
  },
} as const satisfies JSONSchema
export type ConditionsConfig = FromSchema<typeof conditionsSchema>

export const ruleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['priority', 'conditions', 'action'],
  properties: {
    /** For metrics and logs; defaults to `priority-<n>` when absent. */
    name: NAME,
    /** ALB: 1–50000, unique per listener, lowest first [S1]. */
    priority: { type: 'integer', minimum: 1, maximum: 50000 },
    conditions: conditionsSchema,
    action: actionSchema,
  },
} as const satisfies JSONSchema
export type RuleConfig = FromSchema<typeof ruleSchema>

// ---------------------------------------------------------------------------------------------- listeners

export const listenerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'port', 'defaultAction'],
  properties: {
    name: NAME,
    host: { ...hostSchema, default: '0.0.0.0' },
    /** 0 binds any free port (tests). */
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    /**
     * `http` is the core's. Any other (https, tcp, udp…) is a listener kind a plugin provides: the listener must
     * list a plugin that declares it (checked when plugins load, control-plane/plugins.ts).
     */
    protocol: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$', default: 'http' },
    // Left to plugins, as a group's sections are: validated by the listenerConfig schema of the plugin that serves it.
    /** Certificates, policy, client authentication of an https listener; by the tls plugin. */
    tls: { type: 'object' },
    /**
     * The listener's security group: source CIDRs (IPv4 or IPv6; a plain address is /32 or /128) that may
     * connect; absent lets everyone in, [] no one. Checked to parse in validate.ts.
     */
    allowFrom: { type: 'array', maxItems: 256, items: { type: 'string', minLength: 2, maxLength: 64 } },
    /** ALB connection idle timeout: default 60, 1–4000 s. */
    idleTimeoutSeconds: seconds(60, 4000),
    /**
     * The whole request head must arrive within this (slow-loris): counted from accept for a connection's first
     * request (HAProxy's `timeout http-request`), from its first byte for later ones.
     */
    headerTimeoutSeconds: seconds(10, 300),
    /** Longest idle gap while reading a request body. */
    bodyTimeoutSeconds: seconds(30, 4000),
    /**
     * Kestrel's MinRequestBodyDataRate (240 B/s after a 5 s grace period): a body that arrives slower on average
     * is cut off (408 before any response byte). Time the proxy held the client back (a slow target, an async
     * hook) does not count. `bytesPerSecond: 0` turns it off.
     */
    minRequestBodyRate: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        bytesPerSecond: { type: 'integer', minimum: 0, maximum: 1073741824, default: 240 },
        graceSeconds: { type: 'number', minimum: 0, maximum: 300, default: 5 },
      },
    },
    /** A request head larger than this gets 431. */
    maxHeadBytes: { type: 'integer', minimum: 1024, maximum: 1048576, default: 16384 },
    /** More header fields than this gets 431. */
    maxHeaderCount: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    /** ALB routing.http.xff_header_processing.mode [S9]. */
    xForwardedFor: { enum: ['append', 'preserve', 'remove'], default: 'append' },
    /** ALB routing.http.xff_client_port.enabled: append "ip:port" rather than "ip". */
    xForwardedClientPort: { type: 'boolean', default: false },
    /** ALB routing.http.preserve_host_header.enabled; false sends Host = target host:port. */
    preserveHost: { type: 'boolean', default: true },
    /** One JSON line per request on this listener (ALB access logs are off by default). */
    accessLog: { type: 'boolean', default: false },
    /** Plugins (by `plugins[].name`) whose request, forward and response hooks run for every request here, in order. */
    plugins: PLUGIN_NAMES,
    rules: { type: 'array', items: ruleSchema, default: [] },
    defaultAction: actionSchema,
  },
} as const satisfies JSONSchema
export type ListenerConfig = FromSchema<typeof listenerSchema>

// ---------------------------------------------------------------------------------------------- admin, root

export const adminSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { ...hostSchema, default: '127.0.0.1' },
    port: { type: 'integer', minimum: 0, maximum: 65535, default: 9901 },
    /** Bearer token for the admin API; required when host is not loopback (validate.ts). */
    token: { type: 'string', minLength: 1 },
  },
} as const satisfies JSONSchema
export type AdminConfig = FromSchema<typeof adminSchema>

/** A plugin to load: a built-in by name, or a module path (TypeScript loads directly), with its own config. */
export const pluginEntrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'from'],
  properties: {
    /** How listeners, rules and target groups refer to it; also its label in metrics and the admin API. */
    name: NAME,
    /** A built-in plugin's name, or a path to its module (relative to the config file, else the working directory). */
    from: { type: 'string', minLength: 1, maxLength: 1024 },
    /** Validated against the plugin's own configSchema, which fills its defaults. */
    config: { type: 'object', default: {} },
    /** Overrides the plugin's own failMode: 'closed' answers 500 when a hook fails, 'open' skips the plugin. */
    failMode: { enum: ['open', 'closed'] },
    /** An asynchronous hook that takes longer fails (counted like a throw). */
    hookTimeoutSeconds: seconds(5, 300),
    /** A pool task (env.runTask) still running after this is stopped (its pool thread ends) and its promise rejects. */
    taskTimeoutSeconds: seconds(30, 3600),
    /** Reload when the module file changes (its own file, not what it imports), as POST /v1/plugins/{name}/reload does. */
    watch: { type: 'boolean', default: false },
  },
} as const satisfies JSONSchema
export type PluginEntryConfig = FromSchema<typeof pluginEntrySchema>

export const sidecarSchema = {
  $id: 'pilotfish/sidecar/v1',
  type: 'object',
  additionalProperties: false,
  required: ['listeners'],
  properties: {
    admin: { ...adminSchema, default: {} },
    listeners: { type: 'array', minItems: 1, items: listenerSchema },
    targetGroups: { type: 'array', items: targetGroupSchema, default: [] },
    plugins: { type: 'array', maxItems: 64, items: pluginEntrySchema, default: [] },
    /** The stickiness plugin's own config (its signing keys), validated by its schema when stickiness is on. */
    stickiness: { type: 'object' },
    /**
     * After a plugin code reload, connections on the previous shard generation may finish there for this long
     * (ALB's deregistration delay default); in-flight requests end sooner, idle keep-alive connections at once.
     */
    drainTimeoutSeconds: { type: 'number', minimum: 0, maximum: 3600, default: 300 },
  },
} as const satisfies JSONSchema

/** The validated config: what validateConfig (validate.ts) returns, every default filled in. */
export type SidecarConfig = FromSchema<typeof sidecarSchema>
