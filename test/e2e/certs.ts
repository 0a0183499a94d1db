// Certificates made for one test run with openssl (never checked in).
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A self-signed P-256 certificate for 127.0.0.1, valid for `days` (a day: the tls plugin warns of it in its log). */
export function certificate (days = 1): { cert: string, key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pilotfish-tls-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', String(days),
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface Leaf { readonly cert: string, readonly key: string }

export interface LeafOptions {
  /** The subject's CN. */
  readonly cn: string
  /** subjectAltName entries as openssl writes them: 'DNS:a.test', 'DNS:*.b.test', 'IP:127.0.0.1'. */
  readonly sans: readonly string[]
  /** Validity; default from an hour ago for a day. */
  readonly notBefore?: Date
  readonly notAfter?: Date
}

// Our own config, so the system's openssl.cnf adds nothing (`openssl ca` needs its database settings anyway).
const CONFIG = `
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $ENV::PF_CA_DIR/index.txt
new_certs_dir = $ENV::PF_CA_DIR/issued
serial = $ENV::PF_CA_DIR/serial
certificate = $ENV::PF_CA_DIR/ca.pem
private_key = $ENV::PF_CA_DIR/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
`

/** openssl ca's -startdate/-enddate form (GeneralizedTime): openssl 3.0's `req`/`x509` cannot set a start date. */
const asn1Time = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z')

/**
 * A throwaway certificate authority (P-256) in a temporary directory: `issue` signs leaves with given names and
 * validity, expired and not yet valid ones included. `close` removes the directory, keys and all.
 */
export class TestCa {
  readonly cert: string
  readonly #dir: string
  #n = 0

  constructor (cn = 'Pilotfish Test CA') {
    this.#dir = mkdtempSync(join(tmpdir(), 'pilotfish-ca-'))
    mkdirSync(join(this.#dir, 'issued'))
    writeFileSync(join(this.#dir, 'openssl.cnf'), CONFIG)
    writeFileSync(join(this.#dir, 'index.txt'), '')
    writeFileSync(join(this.#dir, 'serial'), '1000\n')
    this.#openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${cn}`,
      '-extensions', 'v3_ca', '-keyout', join(this.#dir, 'ca.key'), '-out', join(this.#dir, 'ca.pem')])
    this.cert = readFileSync(join(this.#dir, 'ca.pem'), 'utf8')
  }

  issue (o: LeafOptions): Leaf {
    const n = ++this.#n
    const at = (name: string): string => join(this.#dir, `leaf-${n}.${name}`)
    const notBefore = o.notBefore ?? new Date(Date.now() - 3600_000)
    const notAfter = o.notAfter ?? new Date(Date.now() + 86400_000)
    this.#openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${o.cn}`,
      '-keyout', at('key'), '-out', at('csr')])
    writeFileSync(at('ext'), [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth',
      ...(o.sans.length > 0 ? [`subjectAltName = ${o.sans.join(',')}`] : []),
    ].join('\n'))
    this.#openssl(['ca', '-batch', '-notext', '-in', at('csr'), '-out', at('pem'), '-extfile', at('ext'),
      '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter)])
    return { cert: readFileSync(at('pem'), 'utf8'), key: readFileSync(at('key'), 'utf8') }
  }

  close (): void {
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #openssl (args: string[]): void {
    execFileSync('openssl', [...args.slice(0, 1), '-config', join(this.#dir, 'openssl.cnf'), ...args.slice(1)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PF_CA_DIR: this.#dir },
    })
  }
}
