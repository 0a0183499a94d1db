// Responses Pilotfish writes itself (faults, redirects, fixed responses), with heads built once where possible.
import type { Reply } from '../plugin-api.ts'
import { isFieldValue, isToken } from '../http1/head.ts'
import { isEngineField } from '../http1/fields.ts'

// Not `import … from 'node:http'`: an ES import of node:http evaluates every export, lazy ones included (undici
// for WebSocket, http2, tls, crypto: 81 internal modules), which cost every shard ~12 MiB of RSS in Node 24.
// getBuiltinModule returns the plain CommonJS exports and loads ~2 MiB.
const { STATUS_CODES } = process.getBuiltinModule('node:http')

/** A complete error response for a status, built at startup: faults never build strings during a storm. */
export interface PrebuiltReply {
  readonly status: number
  readonly keepAlive: Buffer
  readonly close: Buffer
}

function build (status: number, body: string): PrebuiltReply {
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n`
  return {
    status,
    keepAlive: Buffer.from(`${head}\r\n${body}`, 'latin1'),
    close: Buffer.from(`${head}connection: close\r\n\r\n${body}`, 'latin1'),
  }
}

const replies = new Map<number, PrebuiltReply>()
for (const [status, body] of [
  [400, 'Bad Request\n'], [404, 'Not Found\n'], [405, 'Method Not Allowed\n'], [408, 'Request Timeout\n'],
  [413, 'Content Too Large\n'], [431, 'Request Header Fields Too Large\n'], [500, 'Internal Server Error\n'],
  [501, 'Not Implemented\n'], [502, 'Bad Gateway\n'], [503, 'Service Unavailable\n'], [504, 'Gateway Timeout\n'],
  [505, 'HTTP Version Not Supported\n'],
] as const) replies.set(status, build(status, body))

export function prebuiltReply (status: number): PrebuiltReply {
  let r = replies.get(status)
  if (r === undefined) {
    r = build(status, `${STATUS_CODES[status] ?? 'Error'}\n`)
    replies.set(status, r)
  }
  return r
}

/** A fixed response as ALB's fixed-response action sends it; built once per config snapshot. */
export function fixedReplyHead (status: number, contentType: string, bodyLength: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: ${contentType}\r\ncontent-length: ${bodyLength}\r\n`
}

export function redirectHead (status: number, location: string): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nlocation: ${location}\r\ncontent-length: 0\r\n`
}

/**
 * A plugin's Reply as a head (connection field and blank line to follow) and body; an Error if it is not valid.
 * Fields the engine owns (http1/fields.ts) are left out: Pilotfish writes the framing and connection itself.
 */
export function pluginReplyHead (r: Reply): { status: number, head: string, body: Buffer | null } | Error {
  const status = r.statusCode
  if (!Number.isInteger(status) || status < 200 || status > 599) return new Error(`reply statusCode ${String(status)} is not 200-599`)
  const body = r.body === undefined || r.body === '' ? null : Buffer.from(r.body, 'utf8')
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`
  let typed = false
  if (r.headers !== undefined) {
    for (const name of Object.keys(r.headers)) {
      const value = String(r.headers[name])
      if (!isToken(name, 0, name.length) || !isFieldValue(value)) return new Error(`reply header ${JSON.stringify(name)} is not a valid field`)
      const lower = name.toLowerCase()
      if (isEngineField(lower)) continue
      if (lower === 'content-type') typed = true
      head += `${name}: ${value}\r\n`
    }
  }
  if (!typed && body !== null) head += 'content-type: text/plain; charset=utf-8\r\n'
  head += `content-length: ${body === null ? 0 : body.length}\r\n`
  return { status, head, body }
}
