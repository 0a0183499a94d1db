// Pure helpers a plugin may import at run time (`pilotfish/plugin-runtime`), built-in or user's: functions of
// their arguments only (Signer: an immutable object of its constructor's arguments), with no state and no link
// to a shard's objects, so any shard generation can load them beside the plugin. Types stay in plugin-api.ts,
// except the plain data shapes of the helpers' own arguments and results.
import type { ConfigProblems } from './plugin-api.ts'

export { Outcome } from './pipeline.ts'
export { readCookie } from './selector/cookie.ts'
export { parseSetCookie, serializeCookie } from './http1/set-cookie.ts'
export type { CookieAttributes, SetCookie } from './http1/set-cookie.ts'
// The hash consistent_hash places keys with, so a plugin can map keys the way the core does.
export { hashKey } from './selector/consistent-hash.ts'
export { Signer } from './plugin/signer.ts'

/**
 * A status matcher in ALB's syntax: one code ("200"), a list ("200,302") or ranges ("200-299"), combined
 * ("200-299,302"). Returns a test for a status, or a string saying what is wrong with `spec`.
 */
export function statusMatcher (spec: string, min = 100, max = 599): ((status: number) => boolean) | string {
  const ranges: Array<[number, number]> = []
  for (const part of spec.split(',')) {
    const m = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part)
    if (m === null) return `"${part.trim()}" is not a status code or a range of them (e.g. "200", "200,302", "200-299")`
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (lo < min || hi > max || lo > hi) return `${part.trim()} is not within ${min}-${max}, low to high`
    ranges.push([lo, hi])
  }
  return (status) => {
    for (let i = 0; i < ranges.length; i++) if (status >= ranges[i]![0] && status <= ranges[i]![1]) return true
    return false
  }
}

/** The error that refuses a config with JSON paths (throw it from setup or onGroups). */
export function configProblems (problems: ReadonlyArray<{ path: string, message: string }>): ConfigProblems {
  const err = new Error(problems.map((p) => `${p.path}: ${p.message}`).join('; ')) as Error & { problems: typeof problems }
  err.problems = problems
  return err
}
