// Benchmark peer: node-http-proxy behind a node:http server, with a keep-alive agent to the upstream. Args: LISTEN_PORT UPSTREAM_PORT.
import { Agent, createServer } from 'node:http'
import httpProxy from 'http-proxy'

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number)
// Without an agent http-proxy opens a connection per request; a keep-alive agent is how it is deployed for speed.
const agent = new Agent({ keepAlive: true, maxSockets: 128, maxFreeSockets: 128 })
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent })
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502)
  res.end()
})
const server = createServer((req, res) => proxy.web(req, res))
server.keepAliveTimeout = 60_000
server.listen(listenPort, '127.0.0.1')
process.on('SIGTERM', () => { server.close(); agent.destroy(); process.exit(0) })
