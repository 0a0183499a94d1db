// Where a plugin module's syntax error is, as file:line:column. Runs in the throwaway inspect worker, only after
// an import failed with a SyntaxError.
//
// Node reports the two kinds differently: a TypeScript error from the type stripper carries "file:line", the
// source line and a caret at the top of its stack; a JavaScript error from V8 compiling an ES module carries no
// position at all (Node prints one only for an uncaught error). For the second, the module is checked again by
// `node --check`, which does print it; the file is stripped of its types first (positions are kept: types turn
// into spaces), as --check does not read TypeScript.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import module from 'node:module'
import { fileURLToPath } from 'node:url'

/** The position a Node-style report gives: a "file:line" line, then the source line, then a caret under it. */
function fromReport (text: string, file: string | null): string | null {
  const lines = text.split('\n')
  const header = /^(.*):(\d+)$/.exec(lines[0] ?? '')
  if (header === null) return null
  for (let i = 1; i < lines.length && lines[i] !== ''; i++) {
    const caret = lines[i]!.indexOf('^')
    if (caret >= 0 && lines[i]!.trim().startsWith('^')) return `${file ?? header[1]}:${header[2]}:${caret + 1}`
  }
  return `${file ?? header[1]}:${header[2]}`
}

/** The module's own text as an ES module `node --check` can read: TypeScript stripped, positions unchanged. */
function checkableSource (file: string): string {
  const source = readFileSync(file, 'utf8')
  if (!/\.[mc]?ts$/.test(file)) return source
  // stripTypeScriptTypes warns that it is experimental, once per thread: this thread only ever strips here.
  const emit = process.emitWarning
  process.emitWarning = () => {}
  try {
    return module.stripTypeScriptTypes(source)
  } finally {
    process.emitWarning = emit
  }
}

/**
 * "file:line:column: message" for a SyntaxError thrown by importing `url`, or null when no position is found
 * (the error is in a module it imports, say, where --check of the entry finds nothing).
 */
export function locateSyntaxError (err: Error, url: string): string | null {
  const at = fromReport(err.stack ?? '', null)
  if (at !== null) return `${at}: ${err.message}`
  if (!url.startsWith('file:')) return null
  const file = fileURLToPath(url)
  try {
    execFileSync(process.execPath, ['--input-type=module', '--check'], { input: checkableSource(file), stdio: 'pipe', timeout: 5000 })
    return null
  } catch (checked) {
    const report = String((checked as { stderr?: Buffer }).stderr ?? '')
    const where = fromReport(report, file)
    const message = /^SyntaxError: (.*)$/m.exec(report)?.[1] ?? err.message
    return where === null ? null : `${where}: ${message}`
  }
}
