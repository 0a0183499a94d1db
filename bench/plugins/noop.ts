// The benchmark's no-op plugin: one request hook that decides nothing, to measure what a plugin costs a request.
import type { PluginDefinition } from '../../core/plugin-api.ts'

const configSchema = { type: 'object', additionalProperties: false, properties: {} } as const

export default {
  name: 'noop',
  version: '1.0.0',
  configSchema,
  setup () {
    return { onRequest () { return undefined } }
  },
} satisfies PluginDefinition<typeof configSchema>
