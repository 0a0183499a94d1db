// Reads a config file: ${ENV} interpolation on the text, YAML/JSON parsing, then validateConfig (schema + checks).
//
// Interpolation is textual and happens before parsing, so `port: ${PORT:-8080}` becomes a number and JSON may
// hold an unquoted `${PORT}`. Comments are left alone, so a commented-out `# token: ${TOKEN}` needs no TOKEN.
//   ${NAME}            the variable's value; an error naming NAME when it is unset
//   ${NAME:-default}   the value, or `default` when NAME is unset or empty (as in POSIX sh)
//   $${                a literal "${"
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { LineCounter, parseDocument } from 'yaml'
import { PilotfishError, type Problem } from '../../core/errors.ts'
import { validateConfig } from '../../schemas/validate.ts'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'

export type Env = Readonly<Record<string, string | undefined>>

/** The built-in config: one listener `main` forwarding to the local app, plus GET /pilotfish/ping → "pong". */
export const defaultConfigPath = fileURLToPath(new URL('../default-config.yaml', import.meta.url))

/** Read, interpolate, parse and validate a config file. */
export async function loadConfigFile (path: string, env: Env = process.env): Promise<SidecarConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new PilotfishError('PF_ERR_CONFIG_READ', [path, (err as Error).message], { cause: err })
  }
  return parseConfigText(text, path, env)
}

/** Interpolate, parse (YAML 1.2, which JSON is a subset of) and validate; `source` names the text in errors. */
export function parseConfigText (text: string, source: string, env: Env = process.env): SidecarConfig {
  return validateConfig(parseYaml(interpolate(text, source, env), source))
}

/** The text with every ${…} outside comments replaced; throws PF_ERR_CONFIG_ENV naming unset variables. */
export function interpolate (text: string, source: string, env: Env): string {
  const missing: Problem[] = []
  const names: string[] = []
  let out = ''
  let from = 0 // text[from, i) is copied as is
  let quote = 0 // the quote character open on this line, 0 if none: a "#" inside quotes is not a comment
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10) {
      quote = 0
    } else if (quote !== 0) {
      if (c === quote && !(quote === 34 && text.charCodeAt(i - 1) === 92)) quote = 0
    } else if ((c === 34 || c === 39) && opensQuote(text, i)) {
      quote = c
    } else if (c === 35 && (i === 0 || isSpace(text.charCodeAt(i - 1)))) { // "#": a comment, skip the line
      const eol = text.indexOf('\n', i)
      i = (eol < 0 ? text.length : eol) - 1
      continue
    }
    if (c !== 36) continue // "$"
    if (text.startsWith('$${', i)) {
      out += text.slice(from, i) + '${'
      from = i + 3
      i += 2
      continue
    }
    if (text.charCodeAt(i + 1) !== 123) continue // "{"
    VARIABLE.lastIndex = i
    const m = VARIABLE.exec(text)
    if (m === null) {
      const message = 'malformed ${…}: expected ${NAME} or ${NAME:-default}'
      throw new PilotfishError('PF_ERR_CONFIG_PARSE', [source, `${where(text, i)}: ${message}`],
        { problems: [{ path: `${source}:${where(text, i, ':')}`, message }] })
    }
    const [whole, name, fallback] = m as unknown as [string, string, string | undefined]
    const value = env[name]
    out += text.slice(from, i)
    if (fallback !== undefined && (value === undefined || value === '')) out += fallback
    else if (value !== undefined) out += value
    else {
      names.push(name)
      missing.push({ path: `${source}:${where(text, i, ':')}`, message: `\${${name}} is not set and has no default` })
    }
    from = i + whole.length
    i = from - 1
  }
  if (missing.length > 0) throw new PilotfishError('PF_ERR_CONFIG_ENV', [names[0]], { problems: missing })
  return out + text.slice(from)
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}\n]*))?\}/y

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13

/** A quote opens a quoted scalar only where a scalar can start; the "'" in `body: don't` does not. */
function opensQuote (text: string, i: number): boolean {
  if (i === 0) return true
  const p = text.charCodeAt(i - 1)
  return isSpace(p) || p === 58 || p === 91 || p === 123 || p === 44 || p === 45 // : [ { , -
}

/** "line 3, column 9" (or "3:9" with sep) for an offset, 1-based. */
function where (text: string, offset: number, sep?: string): string {
  let line = 1
  let lineStart = 0
  for (let k = text.indexOf('\n'); k >= 0 && k < offset; k = text.indexOf('\n', k + 1)) { line++; lineStart = k + 1 }
  const col = offset - lineStart + 1
  return sep === undefined ? `line ${line}, column ${col}` : `${line}${sep}${col}`
}

/** Strict YAML 1.2: duplicate keys, tabs for indentation and the like are errors, reported with line and column. */
function parseYaml (text: string, source: string): unknown {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: false, version: '1.2', lineCounter })
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const { line, col } = lineCounter.linePos(e.pos[0])
      return { path: `${source}:${line}:${col}`, message: e.message }
    })
    const first = doc.errors[0]!
    const { line, col } = lineCounter.linePos(first.pos[0])
    throw new PilotfishError('PF_ERR_CONFIG_PARSE', [source, `line ${line}, column ${col}: ${first.message}`], { problems })
  }
  return doc.toJS({ maxAliasCount: 100 })
}
