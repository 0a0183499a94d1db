// Header edits made by plugin hooks, applied to a parsed head's parallel arrays (names lower-cased, names as
// received, values) before the engine writes the head out.
//
// Fields that frame the message or describe a connection are the engine's alone: a plugin that could set them
// could make the target or the client read the stream two ways, which the strict parsers exist to prevent.
import type { PluginResponse } from '../plugin-api.ts'
import type { ResponseHead } from '../http1/response-head.ts'
import { isFieldValue, isToken } from '../http1/head.ts'
import { fieldValue, fieldValues, isEngineField, type FieldArrays } from '../http1/fields.ts'

export type { FieldArrays }

/** The lower-case name of a field a plugin may write; throws TypeError naming what is wrong. */
export function checked (name: string, value?: string): string {
  const lower = name.toLowerCase()
  if (!isToken(name, 0, name.length)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`)
  if (isEngineField(lower)) throw new TypeError(`header ${lower} is set by Pilotfish, not by plugins`)
  if (value !== undefined && !isFieldValue(value)) throw new TypeError(`invalid value for header ${lower}`)
  return lower
}

export function removeField (f: FieldArrays, name: string): void {
  const lower = checked(name)
  for (let i = f.names.length - 1; i >= 0; i--) {
    if (f.names[i] !== lower) continue
    f.names.splice(i, 1)
    f.rawNames.splice(i, 1)
    f.values.splice(i, 1)
  }
}

export function appendField (f: FieldArrays, name: string, value: string): void {
  pushField(f, checked(name, value), name, value)
}

/** Appends a field already checked (`lower` is what checked() returned for `name`). */
export function pushField (f: FieldArrays, lower: string, name: string, value: string): void {
  f.names.push(lower)
  f.rawNames.push(name)
  f.values.push(value.trim())
}

export function setField (f: FieldArrays, name: string, value: string): void {
  checked(name, value)
  removeField(f, name)
  appendField(f, name, value)
}

/** The response head as onResponse hooks see it; made only when some plugin has an onResponse hook. */
export class ResponseEdit implements PluginResponse {
  readonly #res: ResponseHead
  constructor (res: ResponseHead) { this.#res = res }
  get status (): number { return this.#res.status }
  header (name: string): string | undefined { return fieldValue(this.#res, name) }
  headerValues (name: string): string[] { return fieldValues(this.#res, name.toLowerCase()) }
  setHeader (name: string, value: string): void { setField(this.#res, name, value) }
  appendHeader (name: string, value: string): void { appendField(this.#res, name, value) }
  removeHeader (name: string): void { removeField(this.#res, name) }
}
