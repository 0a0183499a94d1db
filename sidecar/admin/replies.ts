// Error replies of the admin API: every error becomes { code, message, problems } with its code's status
// (core/errors.ts), so no route decides a status of its own.
import { PilotfishError } from '../../core/errors.ts'
import type { ErrorReply } from '../../schemas/admin.schema.ts'

/** The status and body to answer an error with; anything that is not a PilotfishError is PF_ERR_INTERNAL. */
export function errorReply (err: unknown): { status: number, body: ErrorReply } {
  const e = err instanceof PilotfishError ? err : new PilotfishError('PF_ERR_INTERNAL', [(err as Error)?.message ?? String(err)], { cause: err })
  return { status: e.status, body: { code: e.code, message: e.message, problems: e.problems } }
}
