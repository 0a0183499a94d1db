// Reads one cookie's value out of a Cookie request header without splitting the header.

const SPACE = 0x20
const TAB = 0x09

/**
 * The value of the first cookie named `name` (case-sensitive) in a Cookie header, or undefined.
 *
 * Parses per RFC 6265 §5.2 in spirit (the user agent's rules, which are laxer than the §4.2.1 grammar clients
 * should send): pairs are split on ";", whitespace around names and values is dropped, a pair without "="
 * is skipped, and everything after the first "=" is the value (so "a=b=c" gives "b=c"). Double quotes are
 * kept as part of the value, as §5.2 does. The first match wins: §5.4 lists cookies with longer paths first,
 * so the first is the most specific. Only the returned substring is allocated.
 */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const len = header.length
  let pos = 0
  while (pos < len) {
    let end = header.indexOf(';', pos)
    if (end === -1) end = len
    let start = pos
    while (start < end && isSpace(header.charCodeAt(start))) start++
    const eq = header.indexOf('=', start)
    if (eq !== -1 && eq < end) {
      let nameEnd = eq
      while (nameEnd > start && isSpace(header.charCodeAt(nameEnd - 1))) nameEnd--
      if (nameEnd - start === name.length && header.startsWith(name, start)) return value(header, eq + 1, end)
    }
    pos = end + 1
  }
  return undefined
}

function value (header: string, start: number, end: number): string {
  while (start < end && isSpace(header.charCodeAt(start))) start++
  while (end > start && isSpace(header.charCodeAt(end - 1))) end--
  return header.slice(start, end)
}

// RFC 6265 §5.2 trims WSP (space and horizontal tab) only.
function isSpace (c: number): boolean {
  return c === SPACE || c === TAB
}
