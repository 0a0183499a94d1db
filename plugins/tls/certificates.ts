// A listener's certificates: read (files relative to the config's directory, or inline PEM), checked (a PEM
// chain, a key that matches it, valid now), and turned into secure contexts for SNI. A problem names the field
// and the file, so a bad new certificate is refused with a clear error while the old one keeps serving.
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import tls from 'node:tls'
import type { TlsSection } from './schema.ts'
import { policyOptions, type PolicyName } from './policies.ts'

export interface Problem { path: string, message: string }

/** One certificate as served: its context, and what GET …/certificates shows of it. */
export interface Served {
  readonly context: tls.SecureContext
  /** What made `context`: a server's default context is set from options, not from a context. */
  readonly options: tls.SecureContextOptions
  readonly x509: X509Certificate
  /** The file it came from, or 'inline'. */
  readonly source: string
}

type CertificateEntry = TlsSection['certificates'][number]

/** A PEM field's text: inline, or its file's; a problem at `path` when the file cannot be read. */
function pem (inline: string | undefined, file: string | undefined, dir: string, path: string, problems: Problem[]): { text: string, source: string } | null {
  if (inline !== undefined) return { text: inline, source: 'inline' }
  const full = isAbsolute(file!) ? file! : resolve(dir, file!)
  try {
    return { text: readFileSync(full, 'utf8'), source: file! }
  } catch (err) {
    problems.push({ path, message: `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` })
    return null
  }
}

/** The certificate and key of one entry, checked; null with problems when they will not do. */
function load (c: CertificateEntry, at: string, dir: string, policy: tls.SecureContextOptions, now: number, problems: Problem[]): Served | null {
  const one = (a: unknown, b: unknown, names: string): boolean => {
    if ((a === undefined) !== (b === undefined)) return true
    problems.push({ path: at, message: `must have exactly one of ${names}` })
    return false
  }
  if (!one(c.certFile, c.cert, 'certFile and cert') || !one(c.keyFile, c.key, 'keyFile and key')) return null
  const certPath = `${at}/${c.cert === undefined ? 'certFile' : 'cert'}`
  const keyPath = `${at}/${c.key === undefined ? 'keyFile' : 'key'}`
  const cert = pem(c.cert, c.certFile, dir, certPath, problems)
  const key = pem(c.key, c.keyFile, dir, keyPath, problems)
  if (cert === null || key === null) return null
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert.text)
  } catch {
    problems.push({ path: certPath, message: `${cert.source}: is not a PEM certificate` })
    return null
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(key.text)
  } catch {
    // The key's own text never goes into a message: it is a secret.
    problems.push({ path: keyPath, message: `${key.source}: is not a PEM private key (unencrypted PKCS#8, PKCS#1 or SEC1)` })
    return null
  }
  if (!x509.checkPrivateKey(privateKey)) {
    problems.push({ path: keyPath, message: `${key.source}: does not match the certificate in ${cert.source} (${x509.subject.replaceAll('\n', ', ')})` })
    return null
  }
  if (x509.validToDate.getTime() <= now) {
    problems.push({ path: certPath, message: `${cert.source}: expired on ${x509.validToDate.toISOString()}` })
    return null
  }
  if (x509.validFromDate.getTime() > now) {
    problems.push({ path: certPath, message: `${cert.source}: is not valid until ${x509.validFromDate.toISOString()}` })
    return null
  }
  try {
    const options = { ...policy, cert: cert.text, key: key.text }
    return { context: tls.createSecureContext(options), options, x509, source: cert.source }
  } catch (err) {
    problems.push({ path: certPath, message: `${cert.source}: refused by OpenSSL (${(err as Error).message})` })
    return null
  }
}

/**
 * Every certificate of a listener's `tls`, in config order (the first is the default), or the problems with
 * them at their paths under `at` (the listener's pointer).
 */
export function loadCertificates (section: TlsSection, at: string, dir: string, now = Date.now()): { served: Served[], problems: Problem[] } {
  const problems: Problem[] = []
  const policy = policyOptions(section.policy as PolicyName)
  const auth = section.clientAuth ?? { mode: 'off' }
  if (auth.mode !== 'off' && (auth.ca !== undefined || auth.caFile !== undefined)) {
    // The CA bundle client certificates are verified against goes into every context SNI may pick.
    const ca = pem(auth.ca, auth.caFile, dir, `${at}/tls/clientAuth/${auth.ca === undefined ? 'caFile' : 'ca'}`, problems)
    if (ca !== null) policy.ca = ca.text
  } else if (auth.mode === 'verify') {
    problems.push({ path: `${at}/tls/clientAuth`, message: 'verify needs caFile or ca: the CAs client certificates must chain to' })
  }
  const served: Served[] = []
  section.certificates.forEach((c, i) => {
    const s = load(c, `${at}/tls/certificates/${i}`, dir, policy, now, problems)
    if (s !== null) served.push(s)
  })
  return { served, problems }
}

/** What GET /v1/listeners/{name}/certificates shows of one (no key material). */
export function describe (s: Served): { subject: string, sans: string[], issuer: string, notAfter: string, sha256: string, source: string } {
  return {
    subject: s.x509.subject.replaceAll('\n', ', '),
    sans: (s.x509.subjectAltName ?? '').split(', ').filter((x) => x !== ''),
    issuer: s.x509.issuer.replaceAll('\n', ', '),
    notAfter: s.x509.validToDate.toISOString(),
    sha256: s.x509.fingerprint256,
    source: s.source,
  }
}
