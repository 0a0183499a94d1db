// Where the admin API may listen without a token: config validation and the start-up check give one answer.
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../schemas/validate.ts'
import { startSidecar } from '../../sidecar/main.ts'

const base = { listeners: [{ name: 'web', host: '127.0.0.1', port: 0, defaultAction: { type: 'fixed-response', statusCode: 200 } }] }

describe('admin API on loopback', () => {
  it.each([
    { host: '127.0.0.1', loopback: true },
    { host: '127.0.0.2', loopback: true },
    { host: '::1', loopback: true },
    { host: '0:0:0:0:0:0:0:1', loopback: true },
    { host: 'localhost', loopback: true },
    { host: '0.0.0.0', loopback: false },
    { host: '::', loopback: false },
    { host: '10.0.0.1', loopback: false },
    { host: 'example.com', loopback: false },
  ])('treats $host as loopback: $loopback, in validation and at start alike', async ({ host, loopback }) => {
    const valid = (() => { try { validateConfig({ ...base, admin: { host, port: 0 } }); return true } catch { return false } })()
    expect(valid).toBe(loopback)
    // As `--admin HOST:PORT` does: the host is set after validation, so the start-up check must agree.
    const config = validateConfig({ ...base, admin: { port: 0 } })
    config.admin.host = host
    if (!loopback) {
      await expect(startSidecar(config, { shards: 1 })).rejects.toMatchObject({ code: 'PF_ERR_ADMIN_EXPOSED' })
      return
    }
    const sidecar = await startSidecar(config, { shards: 1 })
    try {
      expect((await fetch(`${sidecar.adminUrl}/v1/status`)).status).toBe(200)
    } finally {
      await sidecar.stop(1000)
    }
  })
})
