// The header fields the engine owns, and the one way a field's value is looked up in a parsed head.
//
// One table, so the request rewrite, plugin header edits, plugin replies and response edits cannot disagree
// about which fields a plugin may touch (they did: a plugin reply could carry proxy-connection, which setHeader
// refused).

/** Why the engine owns a field. */
export const Owned = {
  /** Describes one connection, not the message (RFC 9110 §7.6.1): removed on both sides, each gets its own. */
  HopByHop: 1,
  /** Frames the body (RFC 9112 §6.3): written by Pilotfish on requests, passed through on responses. */
  Framing: 2,
  /** Routes the request (RFC 9112 §3.2): written by Pilotfish from the route's decision. */
  Routing: 4,
} as const

/** Lower-case name → why the engine owns it (a field can be several: transfer-encoding frames and is hop-by-hop). */
export const ENGINE_FIELDS: ReadonlyMap<string, number> = new Map([
  ['connection', Owned.HopByHop],
  ['keep-alive', Owned.HopByHop],
  ['proxy-connection', Owned.HopByHop], // not in RFC 9110, but sent by old clients and honoured by some servers
  ['te', Owned.HopByHop],
  ['trailer', Owned.HopByHop],
  ['upgrade', Owned.HopByHop],
  // RFC 7540 §3.2.1: the h2c upgrade's settings, "connection-specific"; never forwarded (h2c smuggling, see parser)
  ['http2-settings', Owned.HopByHop],
  ['transfer-encoding', Owned.HopByHop | Owned.Framing],
  ['content-length', Owned.Framing],
  ['host', Owned.Routing],
])

/** The engine owns the field: plugins can neither set, remove nor reply with it. */
export function isEngineField (lowerName: string): boolean {
  return ENGINE_FIELDS.has(lowerName)
}

/** The field is owned for one of the given reasons (a mask of Owned values). */
export function ownedAs (lowerName: string, mask: number): boolean {
  return ((ENGINE_FIELDS.get(lowerName) ?? 0) & mask) !== 0
}

/** A parsed head's fields: lower-cased names, names as received, values (core/http1 parsers fill all three). */
export interface FieldArrays { names: string[], rawNames: string[], values: string[] }

/**
 * The value of a field by lower-case name, undefined when absent. Repeated fields are joined with ", " (RFC 9110
 * §5.3), Cookie with "; " (RFC 6265 §5.4, which is how a client would have sent it in one field).
 */
export function fieldValue (f: Pick<FieldArrays, 'names' | 'values'>, name: string): string | undefined {
  const names = f.names
  let found: string | undefined
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== name) continue
    const v = f.values[i]!
    found = found === undefined ? v : `${found}${name === 'cookie' ? '; ' : ', '}${v}`
  }
  return found
}

/** Every value of a field by lower-case name, in order: for Set-Cookie, whose values cannot be joined (RFC 6265 §3). */
export function fieldValues (f: Pick<FieldArrays, 'names' | 'values'>, name: string): string[] {
  const out: string[] = []
  const names = f.names
  for (let i = 0; i < names.length; i++) if (names[i] === name) out.push(f.values[i]!)
  return out
}
