// Tenant routing: each tenant's requests go to its own target group. The tenant comes from a header or a
// bearer token's claim (not verified: see README). As a rule action its route hook picks the group; as a rule
// condition its match hook says whether a tenant could be read; named in the listener's (or the groups')
// plugins, its onForward tells the target which tenant it serves.
import type { PluginDefinition, Reply, Route, RoutingRequest } from '../../../core/plugin-api.ts'
import { configSchema } from './schema.ts'
import { jwtClaim, validTenant } from './tenant.ts'

export default {
  name: 'tenant-routing',
  version: '1.0.0',
  configSchema,
  setup (config) {
    // A Map, not the config object: a tenant called "constructor" must not find Object's.
    const routes = new Map<string, Route>(Object.entries(config.tenants).map(([t, g]) => [t, { targetGroup: g }]))
    const fromJwt = config.from.map((f) => f === 'jwt')
    const header = config.header.toLowerCase()
    const claim = config.claim
    const unknown: Route = config.defaultGroup !== undefined
      ? { targetGroup: config.defaultGroup }
      : { statusCode: config.unknownReply.statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: config.unknownReply.body } satisfies Reply

    // Read once per request, then kept in req.locals for the hooks after (null: no tenant).
    function tenantOf (req: RoutingRequest): string | undefined {
      const seen = req.locals['tenant-routing']
      if (seen !== undefined) return (seen as string | null) ?? undefined
      let t: string | undefined
      for (let i = 0; i < fromJwt.length && t === undefined; i++) {
        t = fromJwt[i] ? jwtClaim(req.header('authorization'), claim) : validTenant(req.header(header))
      }
      req.locals['tenant-routing'] = t ?? null
      return t
    }

    return {
      targetGroups: [...new Set([...Object.values(config.tenants), ...(config.defaultGroup === undefined ? [] : [config.defaultGroup])])],
      match: (req) => tenantOf(req) !== undefined,
      route (req) {
        const t = tenantOf(req)
        return (t === undefined ? undefined : routes.get(t)) ?? unknown
      },
      onForward (req) {
        const t = tenantOf(req)
        if (t === undefined) req.removeHeader(config.forwardHeader)
        else req.setHeader(config.forwardHeader, t)
      },
    }
  },
} satisfies PluginDefinition<typeof configSchema>
