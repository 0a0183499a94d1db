// The built-in tls plugin: the `https` listener kind, for every listener with `protocol: https` and a `tls`
// section. Every shard binds the port (reusePort) and does its own handshakes, from the certificates each shard
// loads itself, so handshakes use every core.
//
//   onListeners (every snapshot)  certificates.ts: read, check, build contexts ─► CertificateSet per listener
//   listen (once per binding)     a TCP server (allowFrom first) → tls.Server: SNICallback → the listener's set
//
// A change of certificates or policy arrives through onListeners, which swaps the listener's set and the
// server's default context in place: no rebind, and kept-alive connections carry on.
import { randomBytes } from 'node:crypto'
import { isAbsolute, resolve } from 'node:path'
import net from 'node:net'
import tls from 'node:tls'
import type { PluginDefinition, PluginHooks } from '../../core/plugin-api.ts'
import { configProblems } from '../../core/plugin-runtime.ts'
import { loadCertificates, type Problem } from './certificates.ts'
import { configSchema, listenerSectionSchema, type ListenerSection, type TlsSection } from './schema.ts'
import { CertificateWatcher } from './watcher.ts'
import { CertificateSet } from './sni.ts'
import { clientIdentity, IDENTITY, XFCC } from './client-identity.ts'

/** ALPN: HTTP/1.1 only, until HTTP/2 comes with its own issue. */
const ALPN = ['http/1.1']
/**
 * Session ticket keys (48 bytes: name, AES and HMAC keys) are made by the leader and published to every shard,
 * so a client resumes on whichever shard its next connection lands; replaced this often (tickets issued under
 * the old keys then need a full handshake, once).
 */
const TICKET_KEYS_MS = 12 * 3600_000

/** A certificate this close to its end is warned of (ALB's ACM renews 60 days ahead; 30 is the last call). */
const EXPIRY_WARNING_MS = 30 * 86400_000
const EXPIRY_CHECK_MS = 12 * 3600_000

/**
 * The published state: the ticket keys (base64), and each listener's certificates as the leader last read them
 * from their replaced files, for the section (as JSON) they were read for.
 */
interface State {
  readonly ticketKeys: string
  readonly certs?: Readonly<Record<string, { readonly section: string, readonly certificates: ReadonlyArray<{ cert: string, key: string }> }>>
}

/** A listener's section as onListeners gave it. */
interface Section { readonly tls: TlsSection, readonly path: string, readonly json: string }

/** The absolute paths of the files a section reads. */
function filesOf (t: TlsSection, dir: string): string[] {
  const abs = (f: string): string => isAbsolute(f) ? f : resolve(dir, f)
  const out: string[] = []
  for (const c of t.certificates) {
    if (c.certFile !== undefined) out.push(abs(c.certFile))
    if (c.keyFile !== undefined) out.push(abs(c.keyFile))
  }
  if (t.clientAuth?.caFile !== undefined) out.push(abs(t.clientAuth.caFile))
  return out
}

interface Bound { readonly secure: tls.Server, readonly server: net.Server }

type Mode = 'off' | 'verify' | 'passthrough'

/**
 * Client certificates: verify asks for one and refuses the handshake without a valid one (a TLS alert, no HTTP
 * at all); passthrough asks and takes any. Read by the server per connection, so a change applies to new ones.
 */
function authenticate (server: tls.Server, mode: Mode): void {
  const s = server as tls.Server & { requestCert: boolean, rejectUnauthorized: boolean }
  s.requestCert = mode !== 'off'
  s.rejectUnauthorized = mode === 'verify'
}

/**
 * A new header timeout for a bound server's next handshakes. Node has no public setter: tls.Server keeps the
 * option under a symbol it reads per connection, found by its description; a Node without it keeps the old value.
 */
function handshakeTimeout (server: tls.Server, ms: number | undefined): void {
  const key = Object.getOwnPropertySymbols(server).find((s) => s.description === 'handshake-timeout')
  if (key !== undefined && ms !== undefined) (server as unknown as Record<symbol, number>)[key] = ms
}

export default {
  name: 'tls',
  version: '1.0.0',
  configSchema,
  protocols: ['https'],
  listenerConfig: listenerSectionSchema,
  setup (_config, env) {
    let sets = new Map<string, CertificateSet>()
    const timeouts = new Map<string, number>()
    const modes = new Map<string, Mode>()
    /** Listener port → its Strict-Transport-Security value. */
    let hsts = new Map<number, string>()
    const bound = new Map<string, Bound>()
    let ticketKeys: Buffer | null = null
    let state: State | null = null
    const sections = new Map<string, Section>()
    const newKeys = (): void => env.publish({ ...state, ticketKeys: randomBytes(48).toString('base64') } satisfies State)

    /** Serves `set` on listener `name` from now on: SNI's set, and the bound server's default context. */
    const use = (name: string, set: CertificateSet): void => {
      sets.set(name, set)
      const b = bound.get(name)
      if (b !== undefined) b.secure.setSecureContext(set.default.options)
    }

    /** In the leader: a log line for each served certificate within EXPIRY_WARNING_MS of its end. */
    const warnExpiring = (): void => {
      const now = env.now()
      for (const [listener, set] of sets) {
        for (const c of set.served) {
          const left = c.x509.validToDate.getTime() - now
          if (left >= EXPIRY_WARNING_MS) continue
          env.log(`certificate expires in ${Math.max(0, Math.floor(left / 86400_000))} days: replace it`, {
            listener, subject: c.x509.subject.replaceAll('\n', ', '), notAfter: c.x509.validToDate.toISOString(), source: c.source,
          })
        }
      }
    }
    const expiryCheck = env.leader ? setInterval(warnExpiring, EXPIRY_CHECK_MS).unref() : null

    // The leader reads replaced files, checks them, and publishes the PEMs; every shard builds from those bytes.
    const watcher = env.leader
      ? new CertificateWatcher((name) => {
        const s = sections.get(name)
        if (s === undefined || state === null) return
        const loaded = loadCertificates(s.tls, s.path, env.configDir)
        if (loaded.problems.length > 0) {
          env.log('replaced certificate refused: the running one keeps serving', { listener: name, problems: loaded.problems })
          return
        }
        const certificates = loaded.served.map((c) => ({ cert: String(c.options.cert), key: String(c.options.key) }))
        env.publish({ ...state, certs: { ...state.certs, [name]: { section: s.json, certificates } } } satisfies State)
      })
      : null
    // The leader makes the first keys unless a state was handed over (a new config, a new generation): a turn
    // later, once onState has had it.
    const first = env.leader ? setImmediate(() => { if (ticketKeys === null) newKeys() }) : null
    const rotate = env.leader ? setInterval(newKeys, TICKET_KEYS_MS).unref() : null

    const hooks: PluginHooks<unknown, unknown, ListenerSection> = {
      onListeners (listeners) {
        const problems: Problem[] = []
        const next = new Map<string, CertificateSet>()
        const nextHsts = new Map<number, string>()
        for (const l of listeners) {
          const t = l.config.tls
          const loaded = loadCertificates(t, l.path, env.configDir)
          problems.push(...loaded.problems)
          if (loaded.problems.length === 0) next.set(l.name, new CertificateSet(loaded.served))
          timeouts.set(l.name, l.headerTimeoutMs)
          modes.set(l.name, (t.clientAuth?.mode ?? 'off') as Mode)
          if (t.hsts !== undefined) {
            nextHsts.set(l.port, `max-age=${t.hsts.maxAgeSeconds}${t.hsts.includeSubDomains === true ? '; includeSubDomains' : ''}${t.hsts.preload === true ? '; preload' : ''}`)
          }
        }
        // Refused whole: the running certificates keep serving.
        if (problems.length > 0) throw configProblems(problems)
        sets = new Map()
        for (const [name, set] of next) use(name, set)
        hsts = nextHsts
        sections.clear()
        for (const l of listeners) sections.set(l.name, { tls: l.config.tls, path: l.path, json: JSON.stringify(l.config.tls) })
        watcher?.watch(new Map(listeners.map((l) => [l.name, filesOf(l.config.tls, env.configDir)])))
        if (env.leader) warnExpiring()
        for (const [name, b] of bound) {
          authenticate(b.secure, modes.get(name) ?? 'off')
          handshakeTimeout(b.secure, timeouts.get(name))
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
        }, (socket) => {
          // Client-initiated TLS 1.2 renegotiation costs a handshake each time for nothing a client needs
          // (testssl.sh rates it a HIGH DoS threat): refused, the connection closed.
          socket.disableRenegotiation()
          // Only a verified (or, passthrough, any) client certificate reaches here; its identity rides along.
          const id = modes.get(listener.name) === 'off' ? null : clientIdentity(socket)
          sink.http(socket, id === null ? undefined : { [IDENTITY]: id })
        })
        authenticate(secure, modes.get(listener.name) ?? 'off')
        if (ticketKeys !== null) secure.setTicketKeys(ticketKeys)
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

      onState (raw) {
        const s = raw as State | null
        const keys = typeof s?.ticketKeys === 'string' ? Buffer.from(s.ticketKeys, 'base64') : null
        if (keys === null || keys.length !== 48) return
        const was = state
        state = s
        if (ticketKeys === null || !ticketKeys.equals(keys)) {
          ticketKeys = keys
          for (const b of bound.values()) b.secure.setTicketKeys(keys)
        }
        // Replaced certificates, for the section each listener runs now (one read for an older config is stale).
        for (const [name, c] of Object.entries(s!.certs ?? {})) {
          const section = sections.get(name)
          if (section === undefined || section.json !== c.section || was?.certs?.[name] === c) continue
          const inline = { ...section.tls, certificates: c.certificates.map((x) => ({ cert: x.cert, key: x.key })) }
          const loaded = loadCertificates(inline, section.path, env.configDir)
          if (loaded.problems.length === 0) use(name, new CertificateSet(loaded.served))
        }
      },

      close () {
        watcher?.close()
        if (expiryCheck !== null) clearInterval(expiryCheck)
        if (first !== null) clearImmediate(first)
        if (rotate !== null) clearInterval(rotate)
      },

      onRequest (req) {
        // X-Forwarded-Client-Cert is Pilotfish's word only: a client's own copy never reaches a rule or a target.
        if (req.header(XFCC) !== undefined) req.removeHeader(XFCC)
        const id = req.connection?.[IDENTITY]
        if (typeof id === 'string') req.setHeader(XFCC, id)
        return undefined
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
