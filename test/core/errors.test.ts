import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { errorCodes, PilotfishError, statusOf } from '../../core/errors.ts'

describe('error codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')

  it('documents every code in docs/errors.md with the status core/errors.ts gives it', () => {
    const rows = new Map([...doc.matchAll(/^\| `(PF_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]))
    expect(errorCodes.map((code) => [code, rows.get(code)])).toEqual(errorCodes.map((code) => [code, statusOf(code)]))
  })

  it('documents no code that core/errors.ts does not have', () => {
    const documented = [...doc.matchAll(/^\| `(PF_ERR_[A-Z_]+)`/gm)].map((m) => m[1])
    expect(documented.filter((code) => !(errorCodes as string[]).includes(code!))).toEqual([])
  })

  it('gives every code a 4xx or 5xx status', () => {
    expect(errorCodes.filter((code) => !(statusOf(code) >= 400 && statusOf(code) <= 599))).toEqual([])
  })

  it('formats the message from the code and keeps every problem', () => {
    const e = new PilotfishError('PF_ERR_CONFIG_INVALID', ['/listeners/0/port', 'must be <= 65535'], { problems: [{ path: '/listeners/0/port', message: 'must be <= 65535' }] })
    expect(e.message).toBe('config is invalid at /listeners/0/port: must be <= 65535')
    expect(e.code).toBe('PF_ERR_CONFIG_INVALID')
    expect(e.status).toBe(400)
    expect(e.problems).toHaveLength(1)
  })
})

describe('codes in the source', () => {
  it('are all in core/errors.ts: no file sends a code the list does not have', () => {
    const root = new URL('../../', import.meta.url)
    const files = ['core', 'sidecar', 'schemas', 'plugins'].flatMap((dir) => {
      try {
        return (readdirSync(new URL(dir, root), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => new URL(`${dir}/${f}`, root))
      } catch { return [] }
    })
    const used = new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'(PF_ERR_[A-Z_]*[A-Z])'/g)].map((m) => m[1]!)))
    expect(used.size).toBeGreaterThan(10)
    expect([...used].filter((code) => !(errorCodes as string[]).includes(code))).toEqual([])
  })
})
