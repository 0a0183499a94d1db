// Every byte both ways on one keep-alive connection, whatever the framing and wherever the streams are split.
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forwardConfig, startPilotfish, type Running } from './harness.ts'
import { bodyOf, cut, frame, readMessage, sha256, StreamReader, writePieces, type Framing, type Message } from './wire.ts'

const MiB = 1024 * 1024
/**
 * Sequences and requests per sequence: 60 × up to 30 (≈ 900 requests, ≈ 10 s). The bug this was written for
 * (a `Content-Length: 0` request held open until the next request's bytes came, which then closed the connection)
 * made it fail within the first 7–10 sequences; 300 sequences (≈ 4,500 requests) pass with the fix.
 * PF_INTEGRITY_RUNS / _SEED / _PATH replay a run; PF_INTEGRITY_LOG=1 turns the access log on.
 */
const RUNS = Number(process.env.PF_INTEGRITY_RUNS ?? 60)
const MAX_REQUESTS = 30

interface Side {
  size: number
  seed: number
  framing: Framing
  chunkSeed: number
  maxChunk: number
  /** null: the whole message in one write; otherwise where to split it besides the random cuts. */
  splits: null | { inHead: boolean, inSizeLine: boolean, afterLastChunk: boolean, at: number[] }
}
interface Plan { req: Side, res: Side }

/** Log-uniform sizes from 0 to 1 MiB: small bodies are as likely as big ones, per order of magnitude. */
const size = fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1023 }))
  .map(([e, m]) => Math.min(MiB, Math.floor(2 ** e * (1 + m / 1024)) - 1))
const side: fc.Arbitrary<Side> = fc.record({
  size,
  seed: fc.integer({ min: 0, max: 0xffff }),
  framing: fc.constantFrom<Framing>('length', 'chunked'),
  chunkSeed: fc.integer(),
  maxChunk: fc.constantFrom(1, 7, 100, 4096, 70_000),
  splits: fc.option(fc.record({
    inHead: fc.boolean(),
    inSizeLine: fc.boolean(),
    afterLastChunk: fc.boolean(),
    at: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
  }), { freq: 2 }),
})
const plan: fc.Arbitrary<Plan> = fc.record({ req: side, res: side })

/** The message's pieces: the planned splits, each at a point a parser must carry state across. */
function pieces (m: Message, s: Side, pick: number): Buffer[] {
  if (s.splits === null) return [m.bytes]
  const at: number[] = s.splits.at.map((f) => Math.floor(f * m.bytes.length))
  if (s.splits.inHead) at.push(1 + (pick % Math.max(1, m.headEnd - 1)))
  if (s.splits.inSizeLine && m.sizeLines.length > 0) at.push(m.sizeLines[pick % m.sizeLines.length]!)
  if (s.splits.afterLastChunk) at.push(...m.lastChunk)
  return cut(m.bytes, at)
}

/** The message a side plans, with a body made from its seed. */
function message (head: string, s: Side): Message {
  // At most ~2,000 chunks a body: a 1 MiB body in 1-byte chunks tests nothing 4 KiB of them does not, slowly.
  return frame(head, bodyOf(s.seed, s.size), s.framing, s.chunkSeed, Math.max(s.maxChunk, Math.ceil(s.size / 1000)))
}

const plans = new Map<string, Plan>()

/** A target that reads each request strictly, reports the SHA-256 of the body it got, and answers as planned. */
function startRecordingTarget (): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    const reader = new StreamReader(socket)
    void (async () => {
      for (;;) {
        const req = await readMessage(reader).catch(() => null)
        if (req === null) return socket.destroy()
        const key = req.headers.get('x-plan') ?? ''
        const p = plans.get(key)
        if (p === undefined) return socket.destroy()
        const head = `HTTP/1.1 200 OK\r\nx-got-length: ${req.body.length}\r\nx-got-sha256: ${sha256(req.body)}\r\nx-plan: ${key}`
        await writePieces(socket, pieces(message(head, p.res), p.res, p.res.seed))
      }
    })()
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/** Sends the plans in order on one client connection; returns the first mismatch, or null. */
async function runSequence (port: number, run: number, seq: readonly Plan[]): Promise<string | null> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('connect', resolve))
  const reader = new StreamReader(socket)
  try {
    for (let i = 0; i < seq.length; i++) {
      const p = seq[i]!
      const key = `${run}-${i}`
      plans.set(key, p)
      const req = message(`POST /upload/${i} HTTP/1.1\r\nhost: integrity.test\r\nx-plan: ${key}`, p.req)
      let timer: NodeJS.Timeout | undefined
      const res = await Promise.race([
        Promise.all([writePieces(socket, pieces(req, p.req, p.req.seed)), readMessage(reader)]).then(([, m]) => m),
        new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('no complete exchange in 20 s')), 20_000) }),
      ]).catch((err: Error) => err).finally(() => clearTimeout(timer))
      const what = `request ${i} of ${seq.length} (${JSON.stringify({ req: { ...p.req }, res: { ...p.res } })})`
      if (res instanceof Error) return `${what}: ${res.message}`
      if (res.startLine !== 'HTTP/1.1 200 OK') return `${what}: answered ${res.startLine}`
      const sent = bodyOf(p.req.seed, p.req.size)
      if (res.headers.get('x-got-sha256') !== sha256(sent)) return `${what}: target got ${res.headers.get('x-got-length')} bytes, not the ${sent.length} sent`
      if (sha256(res.body) !== sha256(bodyOf(p.res.seed, p.res.size))) return `${what}: client got ${res.body.length} bytes, not the ${p.res.size} the target sent`
      plans.delete(key)
    }
    return null
  } finally {
    socket.destroy()
  }
}

describe('data integrity on a keep-alive connection', () => {
  let target: net.Server
  let pf: Running
  beforeAll(async () => {
    target = await startRecordingTarget()
    pf = await startPilotfish(forwardConfig([(target.address() as AddressInfo).port], { accessLog: process.env.PF_INTEGRITY_LOG === "1" }))
  })
  afterAll(async () => {
    await pf?.stop()
    target?.close()
  })

  it('completes a Content-Length: 0 request with its head and keeps the connection for the next one', async () => {
    const zero: Side = { size: 0, seed: 1, framing: 'length', chunkSeed: 0, maxChunk: 1, splits: null }
    const small: Side = { ...zero, size: 10, seed: 2 }
    expect(await runSequence(pf.port, -1, [{ req: zero, res: small }, { req: small, res: zero }, { req: zero, res: zero }])).toBeNull()
  })

  it(`carries every byte of ${RUNS} random sequences of up to ${MAX_REQUESTS} requests, framed and split at random`, async () => {
    let run = 0
    await fc.assert(fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: MAX_REQUESTS }), async (seq) => {
      const mismatch = await runSequence(pf.port, run++, seq)
      expect(mismatch).toBeNull()
    }), { numRuns: RUNS, ...(process.env.PF_INTEGRITY_SEED ? { seed: Number(process.env.PF_INTEGRITY_SEED), path: process.env.PF_INTEGRITY_PATH } : {}) })
  }, 600_000)
})
