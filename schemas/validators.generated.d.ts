// Types of validators.generated.js (schemas/generate-validators.ts writes it).
import type { SchemaCheck } from './validate.ts'

/** sidecar.schema.ts: the whole config. */
export declare const sidecar: SchemaCheck
/** admin.schema.ts: the body of "register a target". */
export declare const registerTarget: SchemaCheck
