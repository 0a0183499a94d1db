// Reading a tenant from a request: a header's value, or a claim in a bearer token's payload.

/** Tenants must read as one visible-ASCII word, so one can go into a header field and a log line as it is. */
const TENANT = /^[\x21-\x7e]{1,128}$/
const BEARER = /^bearer +/i

export function validTenant (v: unknown): string | undefined {
  return typeof v === 'string' && TENANT.test(v) ? v : undefined
}

/**
 * The claim's value in the payload of `Authorization: Bearer <header>.<payload>.<signature>` (RFC 7519 §3:
 * base64url JSON). The signature is NOT verified: this is routing behind an edge that has authenticated the
 * token. A string claim or an integer one; anything else, and anything malformed, yields undefined, never a throw.
 */
export function jwtClaim (authorization: string | undefined, claim: string): string | undefined {
  if (authorization === undefined) return undefined
  const scheme = BEARER.exec(authorization)
  if (scheme === null) return undefined
  const start = authorization.indexOf('.', scheme[0].length) + 1
  const end = start === 0 ? -1 : authorization.indexOf('.', start)
  if (end === -1) return undefined
  let payload: unknown
  try {
    payload = JSON.parse(Buffer.from(authorization.slice(start, end), 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (payload === null || typeof payload !== 'object' || !Object.hasOwn(payload, claim)) return undefined
  const v = (payload as Record<string, unknown>)[claim]
  return validTenant(Number.isSafeInteger(v) ? String(v) : v) // numeric tenant ids are common in tokens
}
