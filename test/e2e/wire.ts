// Byte-exact HTTP/1.1 messages for tests that control framing and where a stream is split into writes.
import net from 'node:net'
import { createHash } from 'node:crypto'

/** Deterministic bytes for a seed: a body both ends can make and check without sending it twice. */
const BLOCK = Buffer.alloc(65536 + 256)
for (let i = 0, x = 0x9e3779b9; i < BLOCK.length; i++) {
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5
  BLOCK[i] = x & 0xff
}
export function bodyOf (seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  const shift = seed & 0xff
  for (let at = 0; at < size; at += 65536) BLOCK.copy(out, at, shift, shift + Math.min(65536, size - at))
  if (size > 0) out[0] = seed & 0xff // so two seeds with the same shift still differ
  return out
}

export function sha256 (b: Buffer): string { return createHash('sha256').update(b).digest('hex') }

/** A small PRNG (mulberry32) for chunk sizes, so a plan is reproducible from its seed. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type Framing = 'length' | 'chunked'

/** A message's bytes, with the offsets where the interesting splits are. */
export interface Message {
  bytes: Buffer
  /** Offset of the end of the head (just after its blank line). */
  headEnd: number
  /** Offsets in the middle of each chunk-size line. */
  sizeLines: number[]
  /** Just after the last data chunk (before "0\r\n"), and just after "0\r\n" (before the final CRLF). */
  lastChunk: number[]
}

/** `head` without its blank line; the framing field is added here. Chunk sizes come from `chunkSeed`, up to `maxChunk`. */
export function frame (head: string, body: Buffer, framing: Framing, chunkSeed: number, maxChunk: number): Message {
  if (framing === 'length') {
    const h = Buffer.from(`${head}\r\ncontent-length: ${body.length}\r\n\r\n`, 'latin1')
    return { bytes: Buffer.concat([h, body]), headEnd: h.length, sizeLines: [], lastChunk: [] }
  }
  const h = Buffer.from(`${head}\r\ntransfer-encoding: chunked\r\n\r\n`, 'latin1')
  const parts: Buffer[] = [h]
  const sizeLines: number[] = []
  let at = h.length
  const rnd = prng(chunkSeed)
  for (let off = 0; off < body.length;) {
    const n = Math.min(body.length - off, 1 + Math.floor(rnd() * maxChunk))
    const line = Buffer.from(`${n.toString(16)}\r\n`, 'latin1')
    sizeLines.push(at + Math.max(1, line.length - 2))
    parts.push(line, body.subarray(off, off + n), Buffer.from('\r\n'))
    at += line.length + n + 2
    off += n
  }
  const lastChunk = [at, at + 3]
  sizeLines.push(at + 1)
  parts.push(Buffer.from('0\r\n\r\n'))
  return { bytes: Buffer.concat(parts), headEnd: h.length, sizeLines, lastChunk }
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, inside the buffer). */
export function cut (bytes: Buffer, at: readonly number[]): Buffer[] {
  const points = [...new Set(at.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let from = 0
  for (const p of points) { out.push(bytes.subarray(from, p)); from = p }
  out.push(bytes.subarray(from))
  return out
}

/** Writes pieces one by one with a pause between them, so the reader gets them as separate reads. */
export async function writePieces (socket: net.Socket, pieces: readonly Buffer[]): Promise<void> {
  for (let i = 0; i < pieces.length; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 2))
    if (!socket.write(pieces[i]!)) await new Promise((resolve) => socket.once('drain', resolve))
  }
}

/** Reads a byte stream as it arrives: exact counts and delimited lines, failing if the stream ends first. */
export class StreamReader {
  #buf: Buffer = Buffer.alloc(0)
  #ended = false
  #wake: (() => void) | null = null

  constructor (socket: net.Socket) {
    socket.on('data', (c: Buffer) => { this.#buf = this.#buf.length === 0 ? c : Buffer.concat([this.#buf, c]); this.#notify() })
    socket.on('end', () => { this.#ended = true; this.#notify() })
    socket.on('close', () => { this.#ended = true; this.#notify() })
  }

  #notify (): void { const w = this.#wake; this.#wake = null; w?.() }

  async #more (what: string): Promise<void> {
    if (this.#ended) throw new Error(`stream ended while reading ${what} (${this.#buf.length} bytes pending)`)
    await new Promise<void>((resolve) => { this.#wake = resolve })
  }

  /** Bytes up to and including `delim`. */
  async until (delim: string, what: string): Promise<Buffer> {
    for (;;) {
      const i = this.#buf.indexOf(delim, 0, 'latin1')
      if (i !== -1) return this.take(i + delim.length)
      await this.#more(what)
    }
  }

  async exactly (n: number, what: string): Promise<Buffer> {
    while (this.#buf.length < n) await this.#more(what)
    return this.take(n)
  }

  take (n: number): Buffer {
    const out = this.#buf.subarray(0, n)
    this.#buf = this.#buf.subarray(n)
    return out
  }

  get pending (): number { return this.#buf.length }
}

export interface Parsed { startLine: string, headers: Map<string, string>, body: Buffer }

/** Reads one message: its head, then its body by Content-Length or chunked (decoded), as a strict peer would. */
export async function readMessage (r: StreamReader, bodyless = false): Promise<Parsed> {
  const head = (await r.until('\r\n\r\n', 'a head')).toString('latin1')
  const lines = head.slice(0, -4).split('\r\n')
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':')
    headers.set(line.slice(0, c).toLowerCase(), line.slice(c + 1).trim())
  }
  if (bodyless) return { startLine: lines[0]!, headers, body: Buffer.alloc(0) }
  if (headers.get('transfer-encoding') === 'chunked') {
    const parts: Buffer[] = []
    for (;;) {
      const size = parseInt((await r.until('\r\n', 'a chunk size')).toString('latin1'), 16)
      if (size === 0) break
      parts.push(Buffer.from(await r.exactly(size, 'chunk data')))
      await r.exactly(2, 'a chunk CRLF')
    }
    await r.until('\r\n', 'the trailer section') // no trailers are sent in these tests
    return { startLine: lines[0]!, headers, body: Buffer.concat(parts) }
  }
  const n = Number(headers.get('content-length') ?? 0)
  return { startLine: lines[0]!, headers, body: Buffer.from(await r.exactly(n, 'a body')) }
}
