// Benchmark peer: @fastify/http-proxy with its defaults (undici under @fastify/reply-from). Args: LISTEN_PORT UPSTREAM_PORT.
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number)
// No logger: the benchmark runs every proxy without logging.
const app = Fastify({ logger: false })
await app.register(proxy, { upstream: `http://127.0.0.1:${upstreamPort}` })
await app.listen({ host: '127.0.0.1', port: listenPort })
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
