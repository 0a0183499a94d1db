// The request's query string as decoded key/value pairs: parsed only when a rule has a query condition, once per
// request, into arrays the rule table reuses from request to request.
//
// ALB compares percent-decoded keys and values ("Any character can be percentage encoded" [S1]); "+" is taken
// as a space, as in application/x-www-form-urlencoded and URLSearchParams. A pair without "=" has value "".
// A malformed escape ("%zz") is kept literally and invalid UTF-8 becomes U+FFFD: never an exception.

export class QueryPairs {
  readonly keys: string[] = []
  readonly values: string[] = []
  /** Pairs parsed from the last query; entries at and beyond it are stale. */
  count = 0
  #bytes = Buffer.allocUnsafe(256)

  /** Parse a raw query (without "?"), replacing the previous contents. */
  parse (q: string): void {
    this.count = 0
    let start = 0
    while (start <= q.length) {
      let amp = q.indexOf('&', start)
      if (amp < 0) amp = q.length
      if (amp > start) {
        let eq = q.indexOf('=', start)
        if (eq < 0 || eq > amp) eq = amp
        this.keys[this.count] = this.#decode(q, start, eq)
        this.values[this.count] = eq < amp ? this.#decode(q, eq + 1, amp) : ''
        this.count++
      }
      start = amp + 1
    }
  }

  #decode (s: string, start: number, end: number): string {
    let i = start
    while (i < end) {
      const c = s.charCodeAt(i)
      if (c === 37 || c === 43) break
      i++
    }
    if (i === end) return s.slice(start, end)
    if (this.#bytes.length < end - start) this.#bytes = Buffer.allocUnsafe(end - start)
    const b = this.#bytes
    let n = 0
    for (i = start; i < end; i++) {
      const c = s.charCodeAt(i)
      if (c === 43) { b[n++] = 32; continue }
      if (c === 37 && i + 2 < end) {
        const hi = hex(s.charCodeAt(i + 1))
        const lo = hex(s.charCodeAt(i + 2))
        if (hi >= 0 && lo >= 0) { b[n++] = (hi << 4) | lo; i += 2; continue }
      }
      b[n++] = c & 0xff // latin1-decoded request bytes go back to their byte value
    }
    return b.toString('utf8', 0, n)
  }
}

function hex (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}
