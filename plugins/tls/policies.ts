// Named TLS policies, as ALB's ELBSecurityPolicy-*: each a fixed set of protocol versions, cipher suites and key
// exchange groups, so a config says which it wants and a review can read what that means. No policy offers TLS
// 1.0 or 1.1. The post-quantum hybrid X25519MLKEM768 is offered first where the runtime's OpenSSL has it
// (Node 24's OpenSSL 3.5 does); elsewhere the policies fall back to the classical groups.
import { constants } from 'node:crypto'
import tls from 'node:tls'

/** TLS 1.3's suites, all AEAD; OpenSSL's default order. */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'
/** TLS 1.2 with forward secrecy and AEAD only (Mozilla's "intermediate"). */
const TLS12_AEAD = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
]
/** For old clients (ALB's TLS 1.2 "Ext" policies): CBC suites, with and without ECDHE. */
const TLS12_COMPAT = [
  ...TLS12_AEAD,
  'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA256', 'AES128-SHA', 'AES256-SHA256', 'AES256-SHA',
]

const PQ_GROUPS = 'X25519MLKEM768:X25519:P-256:P-384'
const CLASSIC_GROUPS = 'X25519:P-256:P-384'

/** The key exchange groups this runtime can offer, post-quantum hybrid first when it has it. */
export const GROUPS: string = ((): string => {
  try {
    tls.createSecureContext({ ecdhCurve: PQ_GROUPS })
    return PQ_GROUPS
  } catch {
    return CLASSIC_GROUPS
  }
})()

export interface Policy {
  readonly minVersion: tls.SecureVersion
  readonly maxVersion: tls.SecureVersion
  /** TLS 1.2 suites (OpenSSL names); TLS 1.3's are `ciphersuites`. */
  readonly ciphers: string
  readonly ciphersuites: string
}

export const POLICIES = {
  'pilotfish-tls13-2025': { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: '', ciphersuites: TLS13_SUITES },
  'pilotfish-tls12-2025': { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: TLS12_AEAD.join(':'), ciphersuites: TLS13_SUITES },
  'pilotfish-compat-2025': { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: TLS12_COMPAT.join(':'), ciphersuites: TLS13_SUITES },
} as const satisfies Record<string, Policy>

export type PolicyName = keyof typeof POLICIES
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[]

/** The secure context options of a policy: versions, suites, groups, the server's suite order. */
export function policyOptions (name: PolicyName): tls.SecureContextOptions {
  const p: Policy = POLICIES[name]
  return {
    minVersion: p.minVersion,
    maxVersion: p.maxVersion,
    // Node takes TLS 1.3's suites (TLS_*) in the same list as TLS 1.2's.
    ciphers: p.ciphers === '' ? p.ciphersuites : `${p.ciphersuites}:${p.ciphers}`,
    ecdhCurve: GROUPS,
    honorCipherOrder: true,
    // TLS 1.2 renegotiation a client starts costs the server a handshake each time for nothing a client needs
    // (testssl.sh rates it HIGH: a DoS threat); TLS 1.3 has none.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  }
}
