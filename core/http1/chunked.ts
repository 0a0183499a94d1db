// ChunkedScanner: a streaming validator of a chunked message body (RFC 9112 §7.1), one byte-state machine.
//
// The caller forwards the raw bytes; the scanner only says where the body ends or that its framing is bad, so a
// body that two peers would split differently never passes. It keeps its state across scan() calls, so any split
// of the input gives the same answer, and allocates nothing after construction.
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
//
//   SizeStart ─hex─▶ Size ─CR─▶ LineLf ─LF─▶ Data ─(size bytes)─▶ DataCr ─CR─▶ DataLf ─LF─▶ SizeStart
//                     │ ";" / BWS                 └─(size 0)─▶ TrailerStart ─tchar─▶ TrailerName ─":"─▶ TrailerValue
//                     ▼                                          │ CR                          TrailerLf ◀─CR─┘
//                  Ext* states ─CR─▶ LineLf                      ▼                                │ LF ▶ TrailerStart
//                                                              FinalLf ─LF─▶ Done
import { HttpError, isFieldChar, isHexDigit, isTokenChar } from './head.ts'

export const E_CHUNK_SIZE = new HttpError(400, 'bad-chunk-size')
export const E_CHUNK_EXT = new HttpError(400, 'bad-chunk-ext')
export const E_CHUNK_LINE_TOO_LONG = new HttpError(400, 'chunk-line-too-long')
export const E_CHUNK_LINE_END = new HttpError(400, 'bad-chunk-line-end')
export const E_CHUNK_DATA_END = new HttpError(400, 'bad-chunk-data-end')
export const E_TRAILER = new HttpError(400, 'bad-trailer')
export const E_TRAILER_TOO_LARGE = new HttpError(400, 'trailer-too-large')

const S = {
  SizeStart: 0,
  Size: 1,
  ExtBws: 2, // whitespace after the size or a value: only ";" may follow
  ExtNameStart: 3,
  ExtName: 4,
  ExtAfterName: 5,
  ExtValueStart: 6,
  ExtToken: 7,
  ExtQuoted: 8,
  ExtQuotedPair: 9,
  ExtAfterValue: 10, // after a closing quote
  LineLf: 11,
  Data: 12,
  DataCr: 13,
  DataLf: 14,
  TrailerStart: 15,
  TrailerName: 16,
  TrailerValue: 17,
  TrailerLf: 18,
  FinalLf: 19,
  Done: 20,
  Failed: 21,
} as const
type S = (typeof S)[keyof typeof S]

const CR = 13
const LF = 10
const SP = 32
const HT = 9
const SEMI = 0x3b
const EQ = 0x3d
const DQUOTE = 0x22
const BACKSLASH = 0x5c
const MAX_SIZE_DIGITS = 16

export class ChunkedScanner {
  error: HttpError | null = null
  #state: S = S.SizeStart
  #size = 0 // chunk-size being read, then bytes of chunk-data still to come
  #digits = 0
  #lineBytes = 0
  #trailerBytes = 0
  readonly #maxLine: number
  readonly #maxTrailer: number

  constructor (maxLineBytes = 4096, maxTrailerBytes = 16384) {
    this.#maxLine = maxLineBytes
    this.#maxTrailer = maxTrailerBytes
  }

  reset (): void {
    this.error = null
    this.#state = S.SizeStart
    this.#size = 0
    this.#digits = 0
    this.#lineBytes = 0
    this.#trailerBytes = 0
  }

  /**
   * Scans buf[start, end): the index just after the message's final CRLF if it lies in the range, -1 when every
   * byte belongs to the body and more are needed, -2 on a framing error (`error` says which; it sticks until
   * reset). Once the message has ended, further calls return `start`: none of those bytes are body.
   */
  scan (buf: Buffer, start: number, end: number): number {
    let st: S = this.#state
    if (st === S.Done) return start
    if (st === S.Failed) return -2
    let size = this.#size
    let digits = this.#digits
    let line = this.#lineBytes
    let trailer = this.#trailerBytes
    let err: HttpError | null = null
    let i = start
    scan: for (; i < end; i++) {
      if (st === S.Data) { // the bulk of a body: skip, do not look
        const n = size < end - i ? size : end - i
        size -= n
        i += n - 1
        if (size === 0) st = S.DataCr
        continue
      }
      const c = buf[i]!
      if (st <= S.ExtAfterValue) {
        if (++line > this.#maxLine) { err = E_CHUNK_LINE_TOO_LONG; break }
      } else if (st >= S.TrailerStart && ++trailer > this.#maxTrailer) { err = E_TRAILER_TOO_LARGE; break }
      switch (st) {
        case S.SizeStart: // chunk-size = 1*HEXDIG: no sign, no "0x", no leading whitespace
          if (!isHexDigit(c)) { err = E_CHUNK_SIZE; break scan }
          size = hexValue(c)
          digits = 1
          st = S.Size
          break
        case S.Size:
          if (isHexDigit(c)) {
            size = size * 16 + hexValue(c)
            if (++digits > MAX_SIZE_DIGITS || size > Number.MAX_SAFE_INTEGER) { err = E_CHUNK_SIZE; break scan }
          } else if (c === CR) st = S.LineLf
          else if (c === SEMI) st = S.ExtNameStart
          else if (c === SP || c === HT) st = S.ExtBws
          else { err = E_CHUNK_SIZE; break scan }
          break
        case S.ExtBws: // BWS is only allowed before ";": "5 \r\n" is not chunk-size [ chunk-ext ] CRLF
          if (c === SEMI) st = S.ExtNameStart
          else if (c !== SP && c !== HT) { err = E_CHUNK_EXT; break scan }
          break
        case S.ExtNameStart:
          if (isTokenChar(c)) st = S.ExtName
          else if (c !== SP && c !== HT) { err = E_CHUNK_EXT; break scan }
          break
        case S.ExtName:
          if (isTokenChar(c)) break
          if (c === EQ) st = S.ExtValueStart
          else if (c === SEMI) st = S.ExtNameStart
          else if (c === CR) st = S.LineLf
          else if (c === SP || c === HT) st = S.ExtAfterName
          else { err = E_CHUNK_EXT; break scan }
          break
        case S.ExtAfterName:
          if (c === EQ) st = S.ExtValueStart
          else if (c === SEMI) st = S.ExtNameStart
          else if (c !== SP && c !== HT) { err = E_CHUNK_EXT; break scan }
          break
        case S.ExtValueStart:
          if (c === DQUOTE) st = S.ExtQuoted
          else if (isTokenChar(c)) st = S.ExtToken
          else if (c !== SP && c !== HT) { err = E_CHUNK_EXT; break scan }
          break
        case S.ExtToken:
          if (isTokenChar(c)) break
          st = afterValue(c)
          if (st === S.Failed) { err = E_CHUNK_EXT; break scan }
          break
        case S.ExtQuoted: // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
          if (c === DQUOTE) st = S.ExtAfterValue
          else if (c === BACKSLASH) st = S.ExtQuotedPair
          else if (!isFieldChar(c)) { err = E_CHUNK_EXT; break scan }
          break
        case S.ExtQuotedPair: // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
          if (!isFieldChar(c)) { err = E_CHUNK_EXT; break scan }
          st = S.ExtQuoted
          break
        case S.ExtAfterValue:
          st = afterValue(c)
          if (st === S.Failed) { err = E_CHUNK_EXT; break scan }
          break
        case S.LineLf: // a bare CR ends nothing (RFC 9112 §2.2)
          if (c !== LF) { err = E_CHUNK_LINE_END; break scan }
          line = 0
          if (size === 0) {
            st = S.TrailerStart
            trailer = 0
          } else st = S.Data
          break
        case S.DataCr: // chunk-data is followed by exactly CRLF: anything else means the size lied
          if (c !== CR) { err = E_CHUNK_DATA_END; break scan }
          st = S.DataLf
          break
        case S.DataLf:
          if (c !== LF) { err = E_CHUNK_DATA_END; break scan }
          st = S.SizeStart
          break
        case S.TrailerStart: // field lines as in a head (RFC 9112 §7.1.2): token ":" value, no obs-fold
          if (c === CR) st = S.FinalLf
          else if (isTokenChar(c)) st = S.TrailerName
          else { err = E_TRAILER; break scan }
          break
        case S.TrailerName:
          if (c === 0x3a) st = S.TrailerValue
          else if (!isTokenChar(c)) { err = E_TRAILER; break scan }
          break
        case S.TrailerValue:
          if (c === CR) st = S.TrailerLf
          else if (!isFieldChar(c)) { err = E_TRAILER; break scan }
          break
        case S.TrailerLf:
          if (c !== LF) { err = E_TRAILER; break scan }
          st = S.TrailerStart
          break
        case S.FinalLf:
          if (c !== LF) { err = E_TRAILER; break scan }
          this.#state = S.Done
          return i + 1
      }
    }
    if (err !== null) {
      this.error = err
      this.#state = S.Failed
      return -2
    }
    this.#state = st
    this.#size = size
    this.#digits = digits
    this.#lineBytes = line
    this.#trailerBytes = trailer
    return -1
  }
}

/** What may follow an extension value: BWS then ";", ";" or the line's CR. */
function afterValue (c: number): S {
  if (c === SEMI) return S.ExtNameStart
  if (c === CR) return S.LineLf
  if (c === SP || c === HT) return S.ExtBws
  return S.Failed
}

function hexValue (c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57
}
