// What the admin API accepts as a request body (JSON only) and the coded error for each way a body can be wrong:
// not JSON, YAML, another content type, too large. Fastify's own errors for these are mapped here as well.
import type { FastifyInstance } from 'fastify'
import { PilotfishError } from '../../core/errors.ts'

/** Room for large configs; the schema still bounds every field. */
export const BODY_LIMIT = 4 * 1024 * 1024

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']

/** A key that would set an object's prototype where a later spread or merge copies it (as secure-json-parse refuses). */
function noProto (key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('a "__proto__" key is not allowed')
  return value
}

function parseJson (text: string): unknown {
  if (text.trim() === '') throw new PilotfishError('PF_ERR_ADMIN_BODY_JSON', ['the body is empty'])
  try {
    return JSON.parse(text, noProto)
  } catch (err) {
    // A config file pasted as it is: say so, rather than only where JSON.parse stopped.
    const hint = /^\s*[{["0-9tfn-]/.test(text) ? '' : ' (it looks like YAML or text: the admin API takes JSON)'
    throw new PilotfishError('PF_ERR_ADMIN_BODY_JSON', [(err as Error).message + hint])
  }
}

/** JSON in, YAML refused with its own code, and no text/plain parser: any other type is a 415. */
export function registerBodyParsers (app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    try {
      done(null, parseJson(body as string))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  app.addContentTypeParser(YAML_TYPES, (req, _payload, done) => {
    done(new PilotfishError('PF_ERR_ADMIN_BODY_YAML', [req.headers['content-type']]), undefined)
  })
}

/** Fastify's own request errors (its FST_ERR_CTP_* codes) as ours; anything else is passed through. */
export function requestError (err: { code?: string, statusCode?: number, message: string }, contentType: string | undefined): unknown {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new PilotfishError('PF_ERR_ADMIN_CONTENT_TYPE', [contentType ?? '(none)'])
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new PilotfishError('PF_ERR_ADMIN_BODY_TOO_LARGE', [BODY_LIMIT])
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new PilotfishError('PF_ERR_ADMIN_BODY_JSON', ['the body is empty'])
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new PilotfishError('PF_ERR_ADMIN_BODY_JSON', [err.message])
  }
  if (err instanceof PilotfishError) return err
  // Any other request fastify could not take (a Content-Length that does not match the body, say).
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new PilotfishError('PF_ERR_ADMIN_BAD_REQUEST', [err.message])
  return err
}
