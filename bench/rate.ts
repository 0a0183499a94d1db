// Fixed-rate HTTP/1.1 load generator (wrk2 is not in Debian): N keep-alive connections, a timer schedule, latency per request.
// Usage: node bench/rate.ts PORT PATH RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS] [HEADERS_FILE]; prints one JSON line.
// HEADERS_FILE: header lines, one per line, that the requests send in turn (one per request). Targets 127.0.0.1 only.
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'

const [port, path, rate, seconds, connections, warmup] = [Number(process.argv[2]), process.argv[3] ?? '/', Number(process.argv[4] ?? 1000),
  Number(process.argv[5] ?? 10), Number(process.argv[6] ?? 10), Number(process.argv[7] ?? 1)]
if (!(port > 0 && rate > 0 && rate <= 20000 && seconds > 0 && seconds <= 120 && connections >= 1 && connections <= 100)) {
  process.stderr.write('usage: rate.ts PORT PATH RATE(<=20000) SECONDS(<=120) [CONNECTIONS<=100] [WARMUP]\n')
  process.exit(2)
}

const headerLines = process.argv[8] === undefined ? [''] : readFileSync(process.argv[8], 'latin1').split('\n').filter((l) => l !== '').map((l) => `${l}\r\n`)
const requests = headerLines.map((h) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${h}\r\n`, 'latin1'))
let nextRequest = 0
const latenciesNs: number[] = []
let errors = 0
let backlogged = 0 // requests that found no idle connection and waited: should stay near 0 at this rate

/** One keep-alive connection with at most one request in flight; reads just enough of the response to know its end. */
class Conn {
  socket: Socket
  buffered: Buffer = Buffer.alloc(0)
  sentAt = 0n
  record = false
  busy = false
  constructor () {
    this.socket = connect(port, '127.0.0.1')
    this.socket.setNoDelay(true)
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('error', () => { errors++ })
    this.socket.on('close', () => { if (running) errors++ })
  }

  send (record: boolean): void {
    this.busy = true
    this.record = record
    // Latency runs from the write, like wrk's: the timer's own lateness (≤ ~1 ms) is the generator's, not the proxy's.
    this.sentAt = process.hrtime.bigint()
    this.socket.write(requests[nextRequest]!)
    nextRequest = (nextRequest + 1) % requests.length
  }

  onData (chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    const headEnd = this.buffered.indexOf('\r\n\r\n')
    if (headEnd < 0) return
    const head = this.buffered.toString('latin1', 0, headEnd)
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    let done: boolean
    if (length !== null) done = this.buffered.length >= headEnd + 4 + Number(length[1])
    else done = this.buffered.indexOf('\r\n0\r\n\r\n', headEnd) >= 0 // chunked: the fixed bodies never hold this sequence
    if (!done) return
    const ns = Number(process.hrtime.bigint() - this.sentAt)
    if (!head.startsWith('HTTP/1.1 200')) errors++
    else if (this.record) latenciesNs.push(ns)
    this.buffered = Buffer.alloc(0)
    this.busy = false
    if (pending > 0) { pending--; this.send(recordingNow()) } else idle.push(this)
  }
}

const conns = Array.from({ length: connections }, () => new Conn())
const idle: Conn[] = [...conns]
let pending = 0
let running = true
const intervalNs = 1e9 / rate
const t0 = process.hrtime.bigint()
const recordFromNs = warmup * 1e9
const endNs = (warmup + seconds) * 1e9
let issued = 0

function recordingNow (): boolean { return Number(process.hrtime.bigint() - t0) >= recordFromNs }

// Every ~1 ms, send every request whose scheduled time has come (catch-up keeps the mean rate exact).
const timer = setInterval(() => {
  const elapsed = Number(process.hrtime.bigint() - t0)
  if (elapsed >= endNs) { finish(); return }
  const due = Math.floor(elapsed / intervalNs) + 1
  for (let i = 0; issued < due && i < 10000; i++) {
    issued++
    const conn = idle.shift()
    if (conn === undefined) { pending++; backlogged++ } else conn.send(elapsed >= recordFromNs)
  }
}, 1)

function finish (): void {
  clearInterval(timer)
  // Give requests in flight up to 2 s, then report and leave.
  const deadline = Date.now() + 2000
  const wait = setInterval(() => {
    if (conns.some((c) => c.busy) && Date.now() < deadline) return
    clearInterval(wait)
    running = false
    for (const c of conns) c.socket.destroy()
    const sorted = Float64Array.from(latenciesNs).sort()
    const pct = (p: number): number => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN) / 1e6
    process.stdout.write(JSON.stringify({
      recorded: sorted.length, achievedRps: sorted.length / seconds, p50ms: pct(0.5), p99ms: pct(0.99), p999ms: pct(0.999),
      maxms: (sorted[sorted.length - 1] ?? NaN) / 1e6, backlogged, errors,
    }) + '\n')
  }, 10)
}
