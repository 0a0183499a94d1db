// Canary routing: a share of requests goes to a canary target group, the rest to the stable one. Used as a
// rule action ({ type: plugin, plugin: canary }): its route hook always answers, so later rules never see the
// requests it is asked about.
import type { PluginDefinition, RequestCtx, Route } from '../../../core/plugin-api.ts'
import { configSchema } from './schema.ts'
import { bucketOf, randomBucket, readCookie } from './bucket.ts'

export default {
  name: 'canary',
  version: '1.0.0',
  configSchema,
  setup (config) {
    // Built once per config: the hook only looks up and compares.
    const canary: Route = { targetGroup: config.canary }
    const stable: Route = { targetGroup: config.stable }
    const threshold = Math.round(config.percent * 100) // buckets below it go to the canary
    const force = config.forceHeader === false ? null : config.forceHeader.toLowerCase()
    const sticky = config.sticky
    const stickyHeader = sticky !== undefined && 'header' in sticky ? sticky.header.toLowerCase() : null
    const stickyCookie = sticky !== undefined && 'cookie' in sticky ? sticky.cookie : null

    function stickyKey (req: RequestCtx): string | undefined {
      if (stickyHeader !== null) return req.header(stickyHeader)
      if (stickyCookie !== null) return readCookie(req.header('cookie'), stickyCookie)
      return undefined
    }

    return {
      targetGroups: [config.stable, config.canary], // a typo is refused when the config is applied
      route (req) {
        if (force !== null) {
          const forced = req.header(force)
          if (forced === 'always') return canary
          if (forced === 'never') return stable
        }
        const key = stickyKey(req)
        // A hashed bucket is fixed per key, so raising percent only moves users from stable to canary.
        const bucket = key === undefined || key === '' ? randomBucket() : bucketOf(key)
        return bucket < threshold ? canary : stable
      },
    }
  },
} satisfies PluginDefinition<typeof configSchema>
