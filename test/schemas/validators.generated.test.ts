// The precompiled validators the sidecar runs must be the schemas' current code: regenerate with `npm run validators`.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { generatedPath, validatorsModule } from '../../schemas/generate-validators.ts'

describe('schemas/validators.generated.js', () => {
  it('is what schemas/generate-validators.ts writes from the schemas as they are now', () => {
    expect(readFileSync(generatedPath, 'utf8') === validatorsModule(), 'stale: run `npm run validators`').toBe(true)
  })
})
