// The harness's config checks, as a sidecar makes them: the plugin's config against its configSchema, each
// group's section against its targetGroupConfig and the forward action's against its forwardConfig
// (sidecar/control-plane/plugins.ts), defaults filled.
import type { ValidateFunction } from 'ajv'
import { ajv } from '../../schemas/compile.ts'
import { invalid, schemaProblems } from '../../schemas/validate.ts'
import type { JSONSchema } from '../plugin-api.ts'
import type { AnyDefinition, HarnessOptions } from './harness.ts'

/** Compiled once per schema object: ajv keeps every schema it compiles. */
const validators = new WeakMap<object, ValidateFunction>()

/** Each group's section, validated against the definition's targetGroupConfig as plugins.ts does for a sidecar. */
export function groupSections (definition: AnyDefinition, options: HarnessOptions): Map<string, { path: string, config: unknown }> {
  const out = new Map<string, { path: string, config: unknown }>()
  const schema = (definition as { targetGroupConfig?: JSONSchema }).targetGroupConfig
  Object.keys(options.targetGroups ?? {}).forEach((name, i) => {
    const path = `/targetGroups/${i}`
    const given = structuredClone(options.groupConfig?.[name] ?? {})
    out.set(name, { path, config: schema === undefined ? {} : validate(schema, given, path, 'targetGroupConfig') })
  })
  return out
}

/** Where the harness's forward action stands in a config: its listener's default action. */
export const FORWARD_PATH = '/listeners/0/defaultAction'

/** The forward action's section, validated against the definition's forwardConfig as plugins.ts does; undefined without. */
export function forwardSection (definition: AnyDefinition, options: HarnessOptions): unknown {
  const given = options.forwardConfig
  if (given === undefined) return undefined
  const schema = (definition as { forwardConfig?: JSONSchema }).forwardConfig
  return schema === undefined ? {} : validate(schema, structuredClone(given), FORWARD_PATH, 'forwardConfig')
}

export function validate (schema: JSONSchema, config: unknown, at = '/config', what = 'configSchema'): unknown {
  if (typeof schema !== 'object') throw invalid([{ path: '/from', message: `could not load: ${what} must be a JSON Schema object` }])
  let check = validators.get(schema)
  if (check === undefined) {
    // ajv keeps schemas by $id, so two versions of one plugin (or two harnesses) would collide (plugins.ts).
    const { $id: _, ...rest } = schema as { $id?: string }
    try {
      check = ajv.compile(rest)
    } catch (err) {
      throw invalid([{ path: '/from', message: `could not load: its ${what} is not a valid JSON Schema: ${(err as Error).message}` }])
    }
    validators.set(schema, check)
  }
  if (!check(config)) throw invalid(schemaProblems(check.errors ?? [], at))
  return config
}
