// npm run check:tls — testssl.sh (the Debian package) against an https listener with the default policy; exits 1
// on any HIGH or CRITICAL finding. Run by .ci/run after the test suite (testssl.sh takes about a minute: too long
// for the suite itself). The certificate is made here, signed by a throwaway CA that testssl.sh is told of, valid
// for 90 days and with an OCSP URI, so findings are about Pilotfish's TLS, not about a test certificate.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSidecar } from '../sidecar/main.ts'
import { validateConfig } from '../schemas/validate.ts'

const dir = mkdtempSync(join(tmpdir(), 'pilotfish-testssl-'))
const f = (n: string): string => join(dir, n)
const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }

const binary = ['testssl', 'testssl.sh'].find((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0)
if (binary === undefined) {
  console.error('check:tls: testssl.sh is not installed (apt-get install testssl.sh)')
  process.exit(1)
}

openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '365', '-subj', '/CN=Pilotfish check CA',
  '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', f('ca.key'), '-out', f('ca.pem'))
openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', f('leaf.key'), '-out', f('leaf.csr'))
writeFileSync(f('ext'), [
  'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth',
  'subjectAltName=DNS:localhost,IP:127.0.0.1', 'authorityInfoAccess=OCSP;URI:http://127.0.0.1:1/ocsp',
  'crlDistributionPoints=URI:http://127.0.0.1:1/ca.crl',
].join('\n'))
openssl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '90', '-sha256', '-extfile', f('ext'), '-out', f('leaf.pem'))

const sidecar = await startSidecar(validateConfig({
  admin: { port: 0 },
  listeners: [{
    name: 'secure', host: '127.0.0.1', port: 0, protocol: 'https',
    tls: { certificates: [{ cert: readFileSync(f('leaf.pem'), 'utf8'), key: readFileSync(f('leaf.key'), 'utf8') }] },
    defaultAction: { type: 'fixed-response', statusCode: 200, body: 'ok' },
  }],
}), { shards: 1, admin: false })
const port = sidecar.controlPlane.ports.secure!
let failed: Array<{ id: string, severity: string, finding: string }> = []
try {
  spawnSync(binary, ['--quiet', '--color', '0', '--warnings', 'off', '--add-ca', f('ca.pem'), '--jsonfile', f('out.json'), `https://127.0.0.1:${port}`],
    { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 })
  const findings = JSON.parse(readFileSync(f('out.json'), 'utf8')) as Array<{ id: string, severity: string, finding: string }>
  failed = findings.filter((x) => x.severity === 'HIGH' || x.severity === 'CRITICAL')
} finally {
  await sidecar.stop()
  rmSync(dir, { recursive: true, force: true })
}
for (const x of failed) console.error(`check:tls: ${x.severity} ${x.id}: ${x.finding}`)
console.error(failed.length === 0 ? 'check:tls: no HIGH or CRITICAL finding' : `check:tls: ${failed.length} HIGH or CRITICAL finding(s)`)
process.exit(failed.length === 0 ? 0 : 1)
