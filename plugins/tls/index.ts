// The built-in tls plugin: the `https` listener kind, for every listener with `protocol: https` and a `tls`
// section. Every shard binds the port (reusePort) and does its own handshakes, from the certificates each shard
// loads itself, so handshakes use every core.
//
//   onListeners (every snapshot)  certificates.ts: read, check, build contexts ─► CertificateSet per listener
//   listen (once per binding)     a TCP server (allowFrom first) → tls.Server: SNICallback → the listener's set
//
// A change of certificates or policy arrives through onListeners, which swaps the listener's set and the
// server's default context in place: no rebind, and kept-alive connections carry on.
import net from 'node:net'
import tls from 'node:tls'
import type { PluginDefinition, PluginHooks } from '../../core/plugin-api.ts'
import { configProblems } from '../../core/plugin-runtime.ts'
import { loadCertificates, type Problem } from './certificates.ts'
import { configSchema, listenerSectionSchema, type ListenerSection } from './schema.ts'
import { CertificateSet } from './sni.ts'

/** ALPN: HTTP/1.1 only, until HTTP/2 comes with its own issue. */
const ALPN = ['http/1.1']

interface Bound { readonly secure: tls.Server, readonly server: net.Server }

export default {
  name: 'tls',
  version: '1.0.0',
  configSchema,
  protocols: ['https'],
  listenerConfig: listenerSectionSchema,
  setup (_config, env) {
    let sets = new Map<string, CertificateSet>()
    const timeouts = new Map<string, number>()
    /** Listener port → its Strict-Transport-Security value. */
    let hsts = new Map<number, string>()
    const bound = new Map<string, Bound>()

    const hooks: PluginHooks<unknown, unknown, ListenerSection> = {
      onListeners (listeners) {
        const problems: Problem[] = []
        const next = new Map<string, CertificateSet>()
        const nextHsts = new Map<number, string>()
        for (const l of listeners) {
          const t = l.config.tls
          if (t.clientAuth?.mode !== undefined && t.clientAuth.mode !== 'off') {
            problems.push({ path: `${l.path}/tls/clientAuth/mode`, message: 'verify and passthrough are not available yet: only off' })
          }
          const loaded = loadCertificates(t, l.path, env.configDir)
          problems.push(...loaded.problems)
          if (loaded.problems.length === 0) next.set(l.name, new CertificateSet(loaded.served))
          timeouts.set(l.name, l.headerTimeoutMs)
          if (t.hsts !== undefined) {
            nextHsts.set(l.port, `max-age=${t.hsts.maxAgeSeconds}${t.hsts.includeSubDomains === true ? '; includeSubDomains' : ''}${t.hsts.preload === true ? '; preload' : ''}`)
          }
        }
        // Refused whole: the running certificates keep serving.
        if (problems.length > 0) throw configProblems(problems)
        sets = next
        hsts = nextHsts
        for (const [name, b] of bound) {
          const set = sets.get(name)
          if (set !== undefined) b.secure.setSecureContext(set.default.options)
        }
      },

      async listen (listener, sink) {
        const set = sets.get(listener.name)
        if (set === undefined) throw new Error(`listener ${listener.name} has no certificates`)
        const secure = tls.createServer({
          // A server's default context is made from options (it ignores a `secureContext`): no SNI, the first.
          ...set.default.options,
          // A name the client sends: the set in force at this handshake (onListeners may have swapped it).
          SNICallback: (name, cb) => cb(null, (sets.get(listener.name) ?? set).contextFor(name)),
          ALPNProtocols: ALPN,
          handshakeTimeout: timeouts.get(listener.name),
          allowHalfOpen: true,
        }, (socket) => sink.http(socket))
        // Node's handshakeTimeout only reports a handshake that ran out of time (ERR_TLS_HANDSHAKE_TIMEOUT) and
        // leaves the socket open, a peer that sends nothing holding it for good; a failed handshake is destroyed already.
        secure.on('tlsClientError', (_err, socket) => socket.destroy())
        // A plain TCP server accepts, so a peer outside allowFrom is refused before its ClientHello is read.
        const server = net.createServer({ allowHalfOpen: true }, (raw) => { if (sink.admit(raw)) secure.emit('connection', raw) })
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject)
          server.listen({ host: listener.host, port: listener.port, reusePort: true }, () => {
            server.off('error', reject)
            resolve()
          })
        })
        const b = { secure, server }
        bound.set(listener.name, b)
        return {
          close () {
            if (bound.get(listener.name) === b) bound.delete(listener.name)
            server.close()
          },
        }
      },

      onResponse (req, res) {
        if (hsts.size === 0) return
        const value = hsts.get(req.listenerPort)
        if (value !== undefined) res.setHeader('strict-transport-security', value)
      },
    }
    return hooks
  },
} satisfies PluginDefinition<typeof configSchema>
