// compile(): validators built once on the shared Ajv, returning typed data or one error listing every problem.
import { describe, expect, it } from 'vitest'
import { PilotfishError } from '../../core/errors.ts'
import { ajv, compile } from '../../schemas/compile.ts'
import { invalid } from '../../schemas/validate.ts'

const point = {
  type: 'object',
  additionalProperties: false,
  required: ['x', 'y'],
  properties: {
    x: { type: 'integer', minimum: 0 },
    y: { type: 'integer', minimum: 0 },
    label: { type: 'string', default: 'none' },
    'a/b': { type: 'string' },
  },
} as const
type Point = { x: number, y: number, label: string }
const parsePoint = compile<Point>(point)

const errorOf = (f: () => unknown): PilotfishError => {
  try { f() } catch (err) { return err as PilotfishError }
  throw new Error('expected a throw')
}

describe('compile', () => {
  it('returns the data with defaults filled in', () => {
    expect(parsePoint({ x: 1, y: 2 })).toEqual({ x: 1, y: 2, label: 'none' })
  })

  it('throws PF_ERR_CONFIG_INVALID with every problem, not just the first', () => {
    const err = errorOf(() => parsePoint({ x: -1, y: 'a', z: 0 }))
    expect(err).toBeInstanceOf(PilotfishError)
    expect(err.code).toBe('PF_ERR_CONFIG_INVALID')
    expect(err.problems).toEqual([
      { path: '/z', message: 'is not a known property (known: x, y, label, a/b)' },
      { path: '/x', message: 'must be >= 0' },
      { path: '/y', message: 'must be integer' },
    ])
  })

  it('prefixes paths with `at`, so a caller can place a fragment in a larger document', () => {
    const err = errorOf(() => parsePoint({ x: 1 }, '/body'))
    expect(err.problems).toEqual([{ path: '/body/y', message: 'is required' }])
    expect(err.message).toBe('config is invalid at /body/y: is required')
  })

  it('escapes "/" and "~" in property names as JSON pointers do', () => {
    const err = errorOf(() => parsePoint({ x: 1, y: 1, 'a/b': 1, 'c~d': 1 }))
    expect(err.problems.map((p) => p.path)).toEqual(['/c~0d', '/a~1b'])
  })

  it('takes another error code for documents that are not the config', () => {
    expect(errorOf(() => compile(point, 'PF_ERR_CLI_USAGE')({})).code).toBe('PF_ERR_CLI_USAGE')
  })

  it('compiles each schema object once (Ajv caches by object)', () => {
    expect(ajv.compile(point)).toBe(ajv.compile(point))
  })

  it('builds one error from a list of problems, with the whole list kept', () => {
    const err = invalid([{ path: '/a', message: 'm1' }, { path: '', message: 'm2' }])
    expect(err.message).toBe('config is invalid at /a: m1\n  at /: m2')
    expect(err.problems).toHaveLength(2)
  })
})
