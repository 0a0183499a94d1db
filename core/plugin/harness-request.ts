// The synthetic request and response heads the plugin harness (harness.ts) runs hooks on: the shapes the
// engine's parsers give (core/http1), built from plain test input, so hooks see the engine's own request object.
import { BodyKind } from '../http1/head.ts'
import type { RequestHead } from '../http1/request-head.ts'
import type { ResponseHead } from '../http1/response-head.ts'
import { fieldValue, type FieldArrays } from '../http1/fields.ts'

/** Header fields as a test writes them; an array is a repeated field. */
export type Fields = Readonly<Record<string, string | readonly string[]>>

/** The request line, client and listener of a synthetic request; everything has a plain default. */
export interface SyntheticRequestInit {
  method?: string
  /** A query after '?' is split off into `query` unless `query` is given. */
  path?: string
  query?: string
  /** Also sent as the Host field unless `headers` has one. */
  host?: string
  headers?: Fields
  clientIp?: string
  clientPort?: number
  protocol?: string
  listenerPort?: number
  /** What a listener kind attached to the connection (sink.http's info): `req.connection`. */
  connection?: Readonly<Record<string, unknown>>
}

/** The head a request with this init would have been parsed into (no body, keep-alive, origin form). */
export function syntheticHead (init: SyntheticRequestInit): RequestHead {
  const path = init.path ?? '/'
  const q = path.indexOf('?')
  const host = init.host ?? 'example.test'
  const query = init.query ?? (q === -1 ? '' : path.slice(q + 1))
  const head: RequestHead = {
    method: init.method ?? 'GET', target: path, path: q === -1 ? path : path.slice(0, q), query, authority: host,
    minor: 1, names: [], rawNames: [], values: [], host, bodyKind: BodyKind.None, contentLength: 0,
    keepAlive: true, upgrade: false, expectContinue: false, connection: [],
  }
  const headers = init.headers ?? {}
  if (!Object.keys(headers).some((n) => n.toLowerCase() === 'host')) rawAppend(head, 'host', host)
  fill(head, headers)
  return head
}

/** Test input goes in as received, engine-only fields included (setField would refuse them, as it should hooks). */
function rawAppend (f: FieldArrays, name: string, value: string): void {
  f.names.push(name.toLowerCase())
  f.rawNames.push(name)
  f.values.push(value)
}

function fill (f: FieldArrays, headers: Fields): void {
  for (const [name, v] of Object.entries(headers)) {
    for (const value of typeof v === 'string' ? [v] : v) rawAppend(f, name, value)
  }
}

export function responseHead (status: number, headers: Fields = {}): ResponseHead {
  const head: ResponseHead = {
    status, reason: '', minor: 1, names: [], rawNames: [], values: [],
    bodyKind: BodyKind.None, contentLength: 0, keepAlive: true, connection: [],
  }
  fill(head, headers)
  return head
}

/** Fields as a record, each joined as header() joins repeats (http1/fields.ts fieldValue). */
export function plain (f: FieldArrays): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of f.names) out[n] ??= fieldValue(f, n)!
  return out
}
