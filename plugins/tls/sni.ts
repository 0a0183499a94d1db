// Which certificate a handshake gets: the first whose names (SANs, wildcards as RFC 6125 matches them; the CN
// only without DNS SANs) cover the client's SNI, else the listener's first. Swapped whole when the certificates
// change, so a handshake sees the old set or the new one, never a mix; connections already up keep theirs.
import type tls from 'node:tls'
import type { Served } from './certificates.ts'

/** Names looked up are remembered, up to this many (a scan of every certificate is kept off the common path). */
const MEMO = 1024

export class CertificateSet {
  readonly served: readonly Served[]
  readonly #memo = new Map<string, tls.SecureContext>()

  constructor (served: readonly Served[]) {
    this.served = served
  }

  get default (): Served { return this.served[0]! }

  /** The context for a ClientHello's server name. */
  contextFor (servername: string): tls.SecureContext {
    const name = servername.toLowerCase()
    let ctx = this.#memo.get(name)
    if (ctx !== undefined) return ctx
    ctx = this.default.context
    for (const s of this.served) {
      if (s.x509.checkHost(name) !== undefined) {
        ctx = s.context
        break
      }
    }
    if (this.#memo.size >= MEMO) this.#memo.clear()
    this.#memo.set(name, ctx)
    return ctx
  }
}
