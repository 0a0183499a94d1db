// IPv4 and IPv6 addresses and CIDR blocks: parsed once at compile time, matched per request without allocation.
//
// An address is kept as one uint32 (IPv4) or eight 16-bit groups (IPv6). Client addresses arrive as strings
// (IPv4-mapped IPv6 already turned into plain IPv4 by the listener), so each request parses its address once
// into a reusable IpAddress and every CIDR is a masked compare:
//
//   10.0.0.0/8        family 4, v4 = 0x0a000000, mask = 0xff000000
//   2001:db8::/32     family 6, groups [0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], bits 32
//   ::ffff:10.0.0.0/104 is stored as 10.0.0.0/8: a mapped block matches the plain IPv4 clients we are given.

/** A parsed address; reused across requests (parse() overwrites it). */
export class IpAddress {
  /** 0 when the last parse failed. */
  family: 0 | 4 | 6 = 0
  v4 = 0
  readonly v6 = new Uint16Array(8)

  /** Parse an IPv4 or IPv6 address (an IPv6 zone "%eth0" is ignored); false when it is neither. */
  parse (s: string): boolean {
    this.family = 0
    if (s.includes(':')) {
      const pct = s.indexOf('%')
      if (parseIPv6(s, 0, pct < 0 ? s.length : pct, this.v6)) this.family = 6
    } else {
      const v = parseIPv4(s, 0, s.length)
      if (v >= 0) { this.v4 = v; this.family = 4 }
    }
    return this.family !== 0
  }
}

/** A CIDR block. IPv4 blocks use `v4`/`mask`; IPv6 blocks use `v6` (already masked) and `bits`. */
export interface Cidr {
  readonly family: 4 | 6
  readonly v4: number
  readonly mask: number
  readonly v6: Uint16Array
  readonly bits: number
}

const NO_V6 = new Uint16Array(8)

/** Parse "a.b.c.d/n", "x::y/n" or a plain address (/32, /128); null when invalid. Host bits are masked off. */
export function parseCidr (text: string): Cidr | null {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const ip = new IpAddress()
  if (addr.includes('%') || !ip.parse(addr)) return null
  const max = ip.family === 4 ? 32 : 128
  let bits = max
  if (slash >= 0) {
    const b = text.slice(slash + 1)
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(b)) return null
    bits = Number(b)
    if (bits > max) return null
  }
  if (ip.family === 6 && bits >= 96 && isMapped(ip.v6)) {
    return v4Cidr(((ip.v6[6]! << 16) | ip.v6[7]!) >>> 0, bits - 96)
  }
  if (ip.family === 4) return v4Cidr(ip.v4, bits)
  const v6 = new Uint16Array(8)
  for (let i = 0; i < 8; i++) v6[i] = ip.v6[i]! & groupMask(bits, i)
  return { family: 6, v4: 0, mask: 0, v6, bits }
}

function v4Cidr (addr: number, bits: number): Cidr {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return { family: 4, v4: (addr & mask) >>> 0, mask, v6: NO_V6, bits }
}

/** The mask of 16-bit group i under a prefix of `bits`. */
function groupMask (bits: number, i: number): number {
  const inGroup = bits - i * 16
  if (inGroup >= 16) return 0xffff
  if (inGroup <= 0) return 0
  return (0xffff << (16 - inGroup)) & 0xffff
}

function isMapped (g: Uint16Array): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports) becomes a.b.c.d, in place. */
export function unmapIPv4 (ip: IpAddress): void {
  if (ip.family !== 6 || !isMapped(ip.v6)) return
  ip.v4 = ((ip.v6[6]! << 16) | ip.v6[7]!) >>> 0
  ip.family = 4
}

/** True when the address lies in the block (an IPv4 client never matches an IPv6 block, nor the reverse). */
export function cidrContains (c: Cidr, ip: IpAddress): boolean {
  if (c.family !== ip.family) return false
  if (c.family === 4) return ((ip.v4 & c.mask) >>> 0) === c.v4
  const full = c.bits >> 4
  for (let i = 0; i < full; i++) if (ip.v6[i] !== c.v6[i]) return false
  return full === 8 || (ip.v6[full]! & groupMask(c.bits, full)) === c.v6[full]
}

/** Dotted quad in s[start, end) as a uint32, or -1. Decimal octets 0–255, no leading zeros (no octal guessing). */
export function parseIPv4 (s: string, start: number, end: number): number {
  let value = 0
  let octets = 0
  let i = start
  while (octets < 4) {
    const from = i
    let octet = 0
    while (i < end) {
      const c = s.charCodeAt(i)
      if (c < 48 || c > 57) break
      octet = octet * 10 + (c - 48)
      i++
    }
    const len = i - from
    if (len === 0 || len > 3 || octet > 255 || (len > 1 && s.charCodeAt(from) === 48)) return -1
    value = value * 256 + octet
    octets++
    if (octets < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1
      i++
    }
  }
  return i === end ? value : -1
}

/**
 * IPv6 text (RFC 4291 §2.2: hex groups, one "::", optional dotted-quad tail) in s[start, end) into out.
 * Groups after "::" are parsed in place after the head, then moved to the end and the gap zeroed.
 */
export function parseIPv6 (s: string, start: number, end: number, out: Uint16Array): boolean {
  let n = 0 // groups written
  let gap = -1 // index in out where "::" stands
  let i = start
  if (end - start >= 2 && s.charCodeAt(i) === 58 && s.charCodeAt(i + 1) === 58) {
    gap = 0
    i += 2
    if (i === end) { out.fill(0); return true }
  }
  while (i < end) {
    if (n === 8) return false
    const from = i
    let group = 0
    while (i < end && i - from < 5) {
      const h = hexValue(s.charCodeAt(i))
      if (h < 0) break
      group = (group << 4) | h
      i++
    }
    if (i < end && s.charCodeAt(i) === 46) { // dotted-quad tail: last 32 bits
      const v4 = parseIPv4(s, from, end)
      if (v4 < 0 || n > 6) return false
      out[n++] = v4 >>> 16
      out[n++] = v4 & 0xffff
      i = end
      break
    }
    const len = i - from
    if (len === 0 || len > 4) return false
    out[n++] = group
    if (i === end) break
    if (s.charCodeAt(i) !== 58) return false
    i++
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false
      gap = n
      i++
      if (i === end) break
    } else if (i === end) return false // trailing single ":"
  }
  if (gap < 0) return n === 8
  if (n > 7) return false
  const tail = n - gap
  for (let k = tail - 1; k >= 0; k--) out[8 - tail + k] = out[gap + k]!
  for (let k = gap; k < 8 - tail; k++) out[k] = 0
  return true
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** True for 127.0.0.0/8, ::1 and the name localhost: where an admin API may listen without a token. */
export function isLoopback (host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  const ip = new IpAddress()
  if (!ip.parse(host)) return false
  if (ip.family === 4) return ip.v4 >>> 24 === 127
  return cidrContains(LOOPBACK_V6, ip) || (isMapped(ip.v6) && ip.v6[6]! >>> 8 === 127)
}
const LOOPBACK_V6 = parseCidr('::1/128')!
