import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { errorCodes, PilotfishError } from '../../core/errors.ts'

describe('error codes', () => {
  it('documents every code in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    const missing = errorCodes.filter((code) => !doc.includes(`\`${code}\``))
    expect(missing).toEqual([])
  })

  it('formats the message from the code and keeps every problem', () => {
    const e = new PilotfishError('PF_ERR_CONFIG_INVALID', ['/listeners/0/port', 'must be <= 65535'], { problems: [{ path: '/listeners/0/port', message: 'must be <= 65535' }] })
    expect(e.message).toBe('config is invalid at /listeners/0/port: must be <= 65535')
    expect(e.code).toBe('PF_ERR_CONFIG_INVALID')
    expect(e.problems).toHaveLength(1)
  })
})
