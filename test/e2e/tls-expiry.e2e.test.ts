// A certificate within 30 days of its end is warned of in the sidecar's log, naming the listener and the
// certificate; one further off is not.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { TestCa } from './certs.ts'
import { startCli } from './process.ts'

const ca = new TestCa()
const dir = mkdtempSync(join(tmpdir(), 'pilotfish-expiry-'))
afterAll(() => { ca.close(); rmSync(dir, { recursive: true, force: true }) })

it('logs a warning for a certificate that expires within 30 days, with the listener, subject and date; none for one that does not', async () => {
  const day = 86400_000
  const soon = ca.issue({ cn: 'soon.test', sans: ['DNS:soon.test'], notAfter: new Date(Date.now() + 10 * day) })
  const later = ca.issue({ cn: 'later.test', sans: ['DNS:later.test'], notAfter: new Date(Date.now() + 90 * day) })
  for (const [name, leaf] of Object.entries({ soon, later })) {
    writeFileSync(join(dir, `${name}.pem`), leaf.cert)
    writeFileSync(join(dir, `${name}.key`), leaf.key)
  }
  writeFileSync(join(dir, 'pilotfish.yaml'), [
    'admin: { port: 0 }',
    'listeners:',
    '  - name: secure',
    '    host: 127.0.0.1',
    '    port: 0',
    '    protocol: https',
    '    tls: { certificates: [{ certFile: later.pem, keyFile: later.key }, { certFile: soon.pem, keyFile: soon.key }] }',
    '    defaultAction: { type: fixed-response, statusCode: 200 }',
  ].join('\n'))
  const pf = await startCli(['run', '--config', join(dir, 'pilotfish.yaml'), '--shards', '2'])
  try {
    const warned = (): string[] => pf.stderr().split('\n').filter((l) => l.includes('certificate expires in'))
    for (let i = 0; i < 50 && warned().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    // Once, from the leader; the certificate that has 90 days left is not named.
    expect(warned()).toHaveLength(1)
    const line = JSON.parse(warned()[0]!) as Record<string, string>
    expect(line).toMatchObject({ plugin: 'tls', listener: 'secure', subject: 'CN=soon.test', source: 'soon.pem' })
    expect(line.msg).toMatch(/^certificate expires in (9|10) days/)
  } finally {
    await pf.stop()
  }
})
