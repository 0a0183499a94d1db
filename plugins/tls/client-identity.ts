// A client certificate's identity as Envoy's X-Forwarded-Client-Cert gives it to the target:
//   Hash=<hex SHA-256 of the DER>;Subject="CN=web,O=acme";URI=spiffe://acme/ns/web;DNS=web.acme.internal
// Set only by Pilotfish: the plugin removes a client's own copy from every request on an https listener.
import { X509Certificate } from 'node:crypto'
import type tls from 'node:tls'

export const XFCC = 'x-forwarded-client-cert'
/** The key under which the identity rides on the connection (sink.http's info, req.connection). */
export const IDENTITY = 'tls.clientCertificate'

/** A quoted XFCC value (RFC 7230 quoted-string: `"` and `\` escaped). */
const quoted = (s: string): string => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`

/** The XFCC element for the socket's peer certificate, or null when the client sent none. */
export function clientIdentity (socket: tls.TLSSocket): string | null {
  const peer = socket.getPeerCertificate(false)
  if (peer === null || peer.raw === undefined) return null
  const x509 = new X509Certificate(peer.raw)
  const hash = x509.fingerprint256.replaceAll(':', '').toLowerCase()
  // RFC 2253 order, as Envoy prints it: the most specific name first.
  const subject = x509.subject.split('\n').reverse().join(',')
  let out = `Hash=${hash};Subject=${quoted(subject)}`
  for (const san of (x509.subjectAltName ?? '').split(', ')) {
    if (san.startsWith('URI:')) out += `;URI=${san.slice(4)}`
    else if (san.startsWith('DNS:')) out += `;DNS=${san.slice(4)}`
  }
  return out
}
