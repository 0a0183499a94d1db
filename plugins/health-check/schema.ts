// The health-check plugin's config: its (empty) entry config, and the target-group keys it owns (healthCheck,
// outlierDetection, failOpen, slowStartSeconds), with ALB's defaults and meanings (Envoy's for outlier detection).
import type { FromSchema, JSONSchema } from '../../core/plugin-api.ts'
import { statusMatcher } from '../../core/plugin-runtime.ts'

/** The `plugins:` entry takes no settings: everything is per target group. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {},
} as const satisfies JSONSchema

/** ALB's target-group health check settings (elbv2 CreateTargetGroup HealthCheck*). */
export const healthCheckSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'active health checks: each target is probed every intervalSeconds, whatever the traffic',
  properties: {
    protocol: {
      enum: ['http', 'tcp'],
      default: 'http',
      description: 'http: a GET of path must answer a status the matcher accepts; tcp: a connection must open',
    },
    path: {
      type: 'string',
      pattern: '^/[\\x21-\\x7e]*$',
      maxLength: 1024,
      default: '/',
      description: 'must be a request path starting with "/" (ALB HealthCheckPath, up to 1024 characters)',
    },
    port: {
      description: 'must be "traffic-port" (the target\'s own port, ALB\'s default) or a port number 1-65535',
      oneOf: [{ const: 'traffic-port' }, { type: 'integer', minimum: 1, maximum: 65535 }],
      default: 'traffic-port',
    },
    intervalSeconds: {
      type: 'integer',
      minimum: 1,
      maximum: 300,
      default: 30,
      description: 'seconds between probes of one target (ALB: 5-300; below 5 for tests and fast meshes)',
    },
    timeoutSeconds: {
      type: 'integer',
      minimum: 1,
      maximum: 120,
      default: 5,
      description: 'seconds a probe may take, connect and response together; not more than intervalSeconds (ALB: 2-120)',
    },
    healthyThresholdCount: {
      type: 'integer',
      minimum: 2,
      maximum: 10,
      default: 5,
      description: 'consecutive passing probes before an initial or unhealthy target is healthy (ALB)',
    },
    unhealthyThresholdCount: {
      type: 'integer',
      minimum: 2,
      maximum: 10,
      default: 2,
      description: 'consecutive failing probes before a healthy or initial target is unhealthy (ALB)',
    },
    matcher: {
      type: 'string',
      minLength: 1,
      default: '200',
      description: 'the statuses that pass, in ALB syntax: "200", "200,302", "200-299" (codes 200-499); http only',
    },
  },
} as const satisfies JSONSchema

/** Envoy's outlier detection (consecutive_5xx, base_ejection_time, max_ejection_time, max_ejection_percent). */
export const outlierDetectionSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'passive checks on live traffic: a target that fails consecutiveFailures requests in a row is ejected for a while',
  properties: {
    consecutiveFailures: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 5,
      description: 'failures in a row that eject a target: 5xx from it, refused or reset connections, timeouts',
    },
    baseEjectionSeconds: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 3600,
      default: 30,
      description: 'an ejection lasts this times the number of times the target was ejected (Envoy base_ejection_time)',
    },
    maxEjectionSeconds: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 3600,
      default: 300,
      description: 'the longest an ejection lasts, however often the target was ejected (Envoy max_ejection_time)',
    },
    maxEjectionPercent: {
      type: 'integer',
      minimum: 0,
      maximum: 100,
      default: 50,
      description: 'at most this share of the group is ejected at once (at least one target; 0 = never eject)',
    },
  },
} as const satisfies JSONSchema

/** The definition's targetGroupConfig: the group keys the core leaves to this plugin. */
export const groupSectionSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    healthCheck: healthCheckSchema,
    outlierDetection: outlierDetectionSchema,
    failOpen: {
      type: 'boolean',
      default: true,
      description: 'when no target is healthy, route to every target that is not draining (ALB fail-open); false answers 503',
    },
    slowStartSeconds: {
      type: 'integer',
      default: 0,
      description: 'must be 0 (off) or between 30 and 900: a target that becomes healthy ramps from 10 % to its full weight over this time (ALB)',
      anyOf: [{ const: 0 }, { minimum: 30, maximum: 900 }],
    },
  },
} as const satisfies JSONSchema

export type HealthCheckConfig = FromSchema<typeof healthCheckSchema>
export type OutlierConfig = FromSchema<typeof outlierDetectionSchema>
export type GroupSection = FromSchema<typeof groupSectionSchema>

/**
 * The checks JSON Schema cannot make: the matcher's syntax and range (ALB: 200-499 for HTTP), and a timeout
 * within the interval (ALB refuses a timeout longer than the interval; a probe that outlasts it would delay the
 * next). Problems are at the group's paths, e.g. /targetGroups/0/healthCheck/timeoutSeconds.
 */
export function sectionProblems (path: string, section: GroupSection): Array<{ path: string, message: string }> {
  const hc = section.healthCheck
  if (hc === undefined) return []
  const out: Array<{ path: string, message: string }> = []
  if (hc.timeoutSeconds > hc.intervalSeconds) {
    out.push({ path: `${path}/healthCheck/timeoutSeconds`, message: `must not be more than intervalSeconds (${hc.intervalSeconds})` })
  }
  const m = statusMatcher(hc.matcher, 200, 499)
  if (typeof m === 'string') out.push({ path: `${path}/healthCheck/matcher`, message: `must be status codes in ALB syntax, codes 200-499: ${m}` })
  return out
}
