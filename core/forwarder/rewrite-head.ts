// Builds the head a target sees from the head a client sent: hop-by-hop fields out, X-Forwarded-* in, one framing.
import type { RequestHead } from '../http1/request-head.ts'
import type { ResponseHead } from '../http1/response-head.ts'
import { fieldValue, isEngineField, Owned, ownedAs } from '../http1/fields.ts'

export const X_FORWARDED_FOR = 'x-forwarded-for'
export const X_FORWARDED_PROTO = 'x-forwarded-proto'
export const X_FORWARDED_PORT = 'x-forwarded-port'

/**
 * A request field the target never gets as the client sent it: every field the engine owns (hop-by-hop ones,
 * RFC 9110 §7.6.1; the framing, written so that a target sees exactly one, RFC 9112 §6.3; Host), and the
 * X-Forwarded fields that are ours to set (ALB overwrites X-Forwarded-Proto and -Port).
 */
function dropFromRequest (name: string): boolean {
  return isEngineField(name) || name === X_FORWARDED_PROTO || name === X_FORWARDED_PORT
}

export const XffMode = { Append: 'append', Preserve: 'preserve', Remove: 'remove' } as const
export type XffMode = (typeof XffMode)[keyof typeof XffMode]

export interface ForwardSettings {
  readonly xForwardedFor: XffMode
  readonly xForwardedClientPort: boolean
  readonly preserveHost: boolean
  readonly protocol: string
  readonly listenerPort: number
}

/** Named in Connection, so hop-by-hop; but Connection can never remove what Pilotfish writes (framing, Host). */
function isNamedInConnection (connection: readonly string[], name: string): boolean {
  for (let i = 0; i < connection.length; i++) {
    if (connection[i] === name) return !ownedAs(name, Owned.Framing | Owned.Routing)
  }
  return false
}

/**
 * The request head for a target. `path` is in origin form (absolute-form targets are reduced to path and
 * query); `hostValue` is the Host to send. Body framing: `bodyKind` of the client's request.
 */
export function rewriteRequestHead (
  req: RequestHead, path: string, hostValue: string, clientIp: string, clientPort: number, s: ForwardSettings,
): string {
  // HTTP/1.0 clients get an HTTP/1.0 exchange with the target so that no chunked body can come back to them.
  let out = `${req.method} ${path} ${req.minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1'}\r\nhost: ${hostValue}\r\n`
  const names = req.names
  const values = req.values
  const raw = req.rawNames
  const connection = req.connection
  let xff: string | undefined
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!
    if (dropFromRequest(name)) continue
    if (name === X_FORWARDED_FOR) {
      xff = xff === undefined ? values[i]! : `${xff}, ${values[i]!}`
      continue
    }
    if (connection.length !== 0 && isNamedInConnection(connection, name)) continue
    out += `${raw[i]!}: ${values[i]!}\r\n`
  }
  const mode = s.xForwardedFor
  if (mode === XffMode.Append) {
    const client = s.xForwardedClientPort ? (clientIp.includes(':') ? `[${clientIp}]:${clientPort}` : `${clientIp}:${clientPort}`) : clientIp
    out += `x-forwarded-for: ${xff === undefined ? client : `${xff}, ${client}`}\r\n`
  } else if (mode === XffMode.Preserve && xff !== undefined) {
    out += `x-forwarded-for: ${xff}\r\n`
  }
  out += `x-forwarded-proto: ${s.protocol}\r\nx-forwarded-port: ${s.listenerPort}\r\n`
  if (req.upgrade) out += `connection: upgrade\r\nupgrade: ${fieldValue(req, 'upgrade')}\r\n`
  else if (req.minor === 0) out += 'connection: keep-alive\r\n'
  if (req.bodyKind === 1 /* Length */) out += `content-length: ${req.contentLength}\r\n\r\n`
  else if (req.bodyKind === 2 /* Chunked */) out += 'transfer-encoding: chunked\r\n\r\n'
  else out += '\r\n'
  return out
}

/**
 * The response head for the client. Framing fields (Content-Length or Transfer-Encoding: chunked) pass as
 * the target sent them, because the body bytes pass through unchanged after strict validation.
 */
export function rewriteResponseHead (res: ResponseHead, keepAlive: boolean, clientMinor: number, upgrade: boolean): string {
  let out = `HTTP/1.1 ${res.status} ${res.reason}\r\n`
  const names = res.names
  const values = res.values
  const raw = res.rawNames
  const connection = res.connection
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!
    // The target's connection fields go (the client gets its own); the framing passes through with the body.
    if (ownedAs(name, Owned.HopByHop) && !ownedAs(name, Owned.Framing)) continue
    if (connection.length !== 0 && isNamedInConnection(connection, name)) continue
    out += `${raw[i]!}: ${values[i]!}\r\n`
  }
  if (upgrade) {
    out += `connection: upgrade\r\nupgrade: ${fieldValue(res, 'upgrade') ?? ''}\r\n\r\n`
  } else if (!keepAlive) {
    out += 'connection: close\r\n\r\n'
  } else if (clientMinor === 0) {
    out += 'connection: keep-alive\r\n\r\n'
  } else {
    out += '\r\n'
  }
  return out
}
