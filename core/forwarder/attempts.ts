// Which failed attempts of a request go again, and where (docs/design-notes.md, "Retry"). One per request that
// had a failed attempt, made on the first failure: a request whose first attempt succeeds never allocates one.
//
//   refused / connect timeout (the target got nothing) ───────────────► another target, once (HAProxy's redispatch)
//   reset before a response byte, body-less idempotent request:
//     on a reused connection (the stale keep-alive race) ─────────────► the same target on a fresh connection, once
//     otherwise (or the fresh one was reset too) ──────────────────────► another target, once (Envoy's reset retry)
//   anything else: a response byte came, a body went out, a non-idempotent method, a response timeout ─► fail
//
// At most one of each, so a request is tried on at most three targets and never loops.
import { hasBody, type RequestHead } from '../http1/request-head.ts'
import type { Target } from '../pipeline.ts'

/** RFC 9110 §9.2.2: a proxy may retry these by itself; it MUST NOT retry the others. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

export const Next = { Fail: 0, SameTarget: 1, Elsewhere: 2 } as const
export type Next = (typeof Next)[keyof typeof Next]

export class Attempts {
  /** The targets whose attempt failed, in order: a redispatch avoids them. */
  readonly tried: Target[] = []
  #retried = false
  #redispatched = false
  #resetRetried = false

  /** The connection was refused or did not connect in time: nothing was sent, so any request may go elsewhere. */
  connectFailed (): Next {
    if (this.#redispatched) return Next.Fail
    this.#redispatched = true
    return Next.Elsewhere
  }

  /**
   * The target closed or reset an established connection before any response byte. Only a request whose whole
   * self is its head (no body: nothing was lost on the way) and whose method is idempotent may go again.
   */
  reset (head: RequestHead, reused: boolean): Next {
    if (hasBody(head) || !IDEMPOTENT.has(head.method)) return Next.Fail
    if (reused && !this.#retried) {
      this.#retried = true
      return Next.SameTarget
    }
    if (this.#resetRetried) return Next.Fail
    this.#resetRetried = true
    return Next.Elsewhere
  }
}
