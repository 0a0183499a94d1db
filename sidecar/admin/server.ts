// The admin API (fastify): status, config, target groups, plugins, metrics. Loopback by default; bearer token
// when set. Loaded on the first admin request (admin/listener.ts).
import { timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerFactory } from 'fastify'
import { PilotfishError } from '../../core/errors.ts'
import {
  registerTargetSchema, type ChangeReply, type PluginsReply, type RegisterTarget, type ReloadReply, type StatusReply,
  type TargetGroupStatus, type TargetGroupsReply,
} from '../../schemas/admin.schema.ts'
import type { ValidatorFactory } from '@fastify/ajv-compiler'
import type { SerializerFactory } from '@fastify/fast-json-stringify-compiler'
import { invalid, type SchemaCheck } from '../../schemas/validate.ts'
import { registerTarget } from '../../schemas/validators.generated.js'
import type { ControlPlane } from '../control-plane/control-plane.ts'
import { version } from '../version.ts'
import { errorReply } from './replies.ts'
import { BODY_LIMIT, registerBodyParsers, requestError } from './body.ts'

function sendError (reply: FastifyReply, err: unknown, cp?: ControlPlane): FastifyReply {
  const { status, body } = errorReply(cp === undefined ? err : cp.scrub(err))
  if (body.code === 'PF_ERR_ADMIN_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer')
  return reply.code(status).send(body)
}

/** Splits "host:port" or "[v6]:port" from the DELETE path. */
function parseTargetId (id: string): { host: string, port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(id)
  if (m === null) return null
  return { host: m[1] ?? m[2]!, port: Number(m[3]) }
}

function tokenMatches (header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false
  const given = Buffer.from(header.slice(7))
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

/**
 * Route schemas are checked with the config's precompiled validators (schemas/validate.ts): extra fields are
 * errors (fastify's default would drop them) and types are not coerced. Fastify's own compilers would load
 * Ajv and fast-json-stringify into the control plane (~6 MiB of RSS) for the one schema it has.
 */
const precompiled = new Map<unknown, SchemaCheck>([[registerTargetSchema.$id, registerTarget]])
const noSchema = (what: string) => (route: { url?: string }): never => {
  throw new Error(`admin route ${route.url ?? ''}: no precompiled ${what} for its schema`)
}
// The casts: fastify types these factories with Ajv's and fast-json-stringify's types, which the standalone
// validate functions (a plain function with `.errors`, as fastify calls it) do not claim to be.
const buildValidator = (() => (route: { schema: unknown, url?: string }): SchemaCheck =>
  precompiled.get((route.schema as { $id?: string }).$id) ?? noSchema('validator')(route)) as unknown as ValidatorFactory
const buildSerializer = (() => noSchema('serializer')) as unknown as SerializerFactory

/** What the routes read of the admin listener: both change when a config change moves it (listener.ts). */
export interface AdminState { readonly token: string | undefined, readonly url: string }

/** The routes on a fastify app; `serverFactory` hands it the socket admin/listener.ts bound at start. */
export function buildAdmin (cp: ControlPlane, admin: AdminState, serverFactory?: FastifyServerFactory): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    schemaController: { compilersFactory: { buildValidator, buildSerializer } },
    ...(serverFactory === undefined ? {} : { serverFactory }),
  })
  registerBodyParsers(app)

  // Read per request: a config change to admin.token applies to the next request, and the old token is refused.
  app.addHook('onRequest', async (req, reply) => {
    const token = admin.token
    if (token !== undefined && token !== '' && !tokenMatches(req.headers.authorization, token)) {
      return sendError(reply, new PilotfishError('PF_ERR_ADMIN_UNAUTHORIZED'))
    }
  })

  // Each reply's type comes from its schema (admin.schema.ts); test/e2e/admin-replies.e2e.test.ts checks real
  // replies against the schemas themselves.
  app.get<{ Reply: StatusReply }>('/v1/status', async () => ({
    version,
    configVersion: cp.version,
    shards: cp.shards.size,
    shardRestarts: cp.shards.restarts,
    uptimeSeconds: Math.round((Date.now() - cp.startedAt) / 1000),
    admin: admin.url,
    listeners: cp.config.listeners.map((l) => ({ name: l.name, host: l.host, port: cp.ports[l.name] ?? l.port, protocol: l.protocol })),
  }))

  // Secrets (admin.token, plugin config values their schema marks writeOnly) are never sent back, not even to
  // a caller who has the token; sending "(redacted)" back in a PUT keeps them.
  app.get('/v1/config', async () => cp.redactedConfig())

  app.put<{ Reply: ChangeReply }>('/v1/config', async (req, reply) => {
    try {
      await cp.applyConfig(req.body)
      // The reply goes out on the socket the request came in on; `admin` says where the API answers from now on.
      return { configVersion: cp.version, admin: admin.url }
    } catch (err) {
      return sendError(reply, err, cp)
    }
  })

  app.get<{ Reply: TargetGroupsReply }>('/v1/target-groups', async () => ({ targetGroups: await cp.targetGroups() }))

  app.get<{ Params: { name: string }, Reply: TargetGroupStatus }>('/v1/target-groups/:name', async (req, reply) => {
    const g = (await cp.targetGroups()).find((x) => x.name === req.params.name)
    if (g === undefined) return sendError(reply, new PilotfishError('PF_ERR_TARGET_GROUP_UNKNOWN', [req.params.name]))
    return g
  })

  app.post<{ Params: { name: string }, Body: RegisterTarget, Reply: ChangeReply }>('/v1/target-groups/:name/targets',
    { schema: { body: registerTargetSchema } },
    async (req, reply) => {
      try {
        await cp.registerTarget(req.params.name, req.body.host, req.body.port, req.body.weight)
        return reply.code(201).send({ configVersion: cp.version })
      } catch (err) {
        return sendError(reply, err, cp)
      }
    })

  app.delete<{ Params: { name: string, target: string }, Reply: ChangeReply }>('/v1/target-groups/:name/targets/:target', async (req, reply) => {
    const t = parseTargetId(req.params.target)
    if (t === null) return sendError(reply, invalid([{ path: '/target', message: 'must be host:port or [ipv6]:port' }]))
    try {
      await cp.deregisterTarget(req.params.name, t.host, t.port)
      return { configVersion: cp.version }
    } catch (err) {
      return sendError(reply, err, cp)
    }
  })

  // Maintenance (PUT, no body) takes a registered target out of rotation without deregistering it; DELETE brings
  // it back, through `initial` when the group has health checks. Both answer once every shard has it.
  for (const [method, on] of [['PUT', true], ['DELETE', false]] as const) {
    app.route<{ Params: { name: string, target: string }, Reply: ChangeReply }>({
      method,
      url: '/v1/target-groups/:name/targets/:target/maintenance',
      handler: async (req, reply) => {
        const t = parseTargetId(req.params.target)
        if (t === null) return sendError(reply, invalid([{ path: '/target', message: 'must be host:port or [ipv6]:port' }]))
        try {
          await cp.maintenance(req.params.name, t.host, t.port, on)
          return { configVersion: cp.version }
        } catch (err) {
          return sendError(reply, err, cp)
        }
      },
    })
  }

  app.get<{ Reply: PluginsReply }>('/v1/plugins', async () => ({ generation: cp.shards.generation, retiringShards: cp.shards.retiring, plugins: cp.plugins.list() }))

  // New code rolls a new shard generation; if it cannot load, validate or set up, the running one stays (the
  // reason is in the response and in GET /v1/plugins).
  app.post<{ Params: { name: string }, Reply: ReloadReply }>('/v1/plugins/:name/reload', async (req, reply) => {
    try {
      await cp.reloadPlugin(req.params.name)
      return { generation: cp.shards.generation, configVersion: cp.version }
    } catch (err) {
      return sendError(reply, err, cp)
    }
  })

  app.get('/metrics', async (_req, reply) => {
    const m = await cp.metrics()
    return reply.header('content-type', m.contentType).send(m.body)
  })

  app.setNotFoundHandler((req, reply) => sendError(reply, new PilotfishError('PF_ERR_ADMIN_NOT_FOUND', [req.method, req.url])))

  // Validation failures from fastify's schema checks get the same shape as config errors.
  app.setErrorHandler((err: { validation?: Array<{ instancePath: string, message?: string, params?: Record<string, unknown> }>, code?: string, message: string, statusCode?: number }, req, reply) => {
    if (err.validation !== undefined) {
      const problems = err.validation.map((v) => ({
        path: v.instancePath + (typeof v.params?.missingProperty === 'string' ? `/${v.params.missingProperty}` : typeof v.params?.additionalProperty === 'string' ? `/${v.params.additionalProperty}` : ''),
        message: v.message ?? 'is invalid',
      }))
      return sendError(reply, invalid(problems))
    }
    return sendError(reply, requestError(err, req.headers['content-type']))
  })

  return app
}
