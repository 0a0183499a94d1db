// The project's Ajv, with the options the precompiled validators (validators.generated.js) are generated with.
// Only the generator and the tests load it: a running sidecar validates with the precompiled code (validate.ts).
import { Ajv } from 'ajv'
import type { ErrorCode } from '../core/errors.ts'
import { ajvOptions } from './generate-validators.ts'
import { fromCheck, type Validator } from './validate.ts'

export const ajv = new Ajv(ajvOptions)

/** Compile once; the returned function gives back the (default-filled) data or throws with every problem. */
export function compile<T> (schema: object, code: ErrorCode = 'PF_ERR_CONFIG_INVALID'): Validator<T> {
  return fromCheck<T>(ajv.compile(schema), code)
}
