// The synthetic request and response heads the plugin harness (harness.ts) runs hooks on: the same shapes and
// header rules as the engine's (core/forwarder/exchange.ts, core/plugin/headers.ts), built from plain test input.
import { BodyKind } from '../http1/head.ts'
import type { ResponseHead } from '../http1/response-head.ts'
import type { PluginRequest, Target } from '../plugin-api.ts'
import { removeField, setField, type FieldArrays } from './headers.ts'

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
}

/** The request as hooks see it: the shape of the engine's Exchange, over a head built from the init. */
export class HarnessRequest implements PluginRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly host: string
  readonly clientIp: string
  readonly clientPort: number
  readonly protocol: string
  readonly listenerPort: number
  readonly fields: FieldArrays = { names: [], rawNames: [], values: [] }
  target: Target | null = null
  #locals: Record<string, unknown> | null = null
  get locals (): Record<string, unknown> { return this.#locals ??= {} }

  constructor (init: SyntheticRequestInit) {
    const path = init.path ?? '/'
    const q = path.indexOf('?')
    this.method = init.method ?? 'GET'
    this.path = q === -1 ? path : path.slice(0, q)
    this.query = init.query ?? (q === -1 ? '' : path.slice(q + 1))
    this.host = init.host ?? 'example.test'
    this.clientIp = init.clientIp ?? '192.0.2.1'
    this.clientPort = init.clientPort ?? 40000
    this.protocol = init.protocol ?? 'http'
    this.listenerPort = init.listenerPort ?? 80
    const headers = init.headers ?? {}
    if (!Object.keys(headers).some((n) => n.toLowerCase() === 'host')) rawAppend(this.fields, 'host', this.host)
    fill(this.fields, headers)
  }

  /** As the engine's: lower-case names only, repeats joined with ", " (cookie with "; "). */
  header (name: string): string | undefined {
    const f = this.fields
    let found: string | undefined
    for (let i = 0; i < f.names.length; i++) {
      if (f.names[i] !== name) continue
      found = found === undefined ? f.values[i]! : `${found}${name === 'cookie' ? '; ' : ', '}${f.values[i]!}`
    }
    return found
  }

  setHeader (name: string, value: string): void { setField(this.fields, name, value) }
  removeHeader (name: string): void { removeField(this.fields, name) }
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

/** Fields as a record; repeats joined as RequestCtx.header joins them (PluginResponse.header joins all with ", "). */
export function plain (f: FieldArrays, cookieJoin: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < f.names.length; i++) {
    const n = f.names[i]!
    const sep = n === 'cookie' ? cookieJoin : ', '
    out[n] = out[n] === undefined ? f.values[i]! : `${out[n]}${sep}${f.values[i]!}`
  }
  return out
}
