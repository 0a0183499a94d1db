// The client connection over a real socket pair, with fake target connections (test/core/forwarder/fakes.ts):
// pipelined requests are forwarded one at a time and answered in order.
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientConnection, type ConnectionOwner } from '../../../core/listener/client-connection.ts'
import { fixture } from '../forwarder/fakes.ts'

const servers: net.Server[] = []
afterEach(() => { for (const s of servers.splice(0)) s.close() })

/** A client socket whose server side is served by a ClientConnection of `owner`. */
async function connect (owner: ConnectionOwner): Promise<net.Socket> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => { new ClientConnection(socket, owner) })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await new Promise((resolve) => client.once('connect', resolve))
  return client
}

async function until (check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2))
  expect(check()).toBe(true)
}

describe('client connection', () => {
  it('forwards pipelined requests one at a time and answers them in order', async () => {
    const f = fixture()
    const owner: ConnectionOwner = { runtime: f.listener, draining: false, onConnectionClosed () {} }
    const client = await connect(owner)
    let received = ''
    client.on('data', (b: Buffer) => { received += b.toString('latin1') })
    // Three requests in one write, the second with a body.
    client.write('GET /1 HTTP/1.1\r\nhost: a\r\n\r\nPOST /2 HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nhost: a\r\n\r\n')
    await until(() => f.pool.opened.length === 1)
    const conn = f.pool.opened[0]!
    expect(conn.written).toMatch(/^GET \/1 /)
    expect(conn.written).not.toMatch(/\/2/) // the next waits for this response
    conn.send('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1')
    await until(() => conn.written.includes('POST /2'))
    expect(conn.written.endsWith('\r\n\r\nabc')).toBe(true)
    conn.send('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n2')
    await until(() => conn.written.includes('GET /3'))
    conn.send('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n3')
    await until(() => received.endsWith('\r\n\r\n3'))
    expect(received.match(/\r\n\r\n(\d)/g)).toEqual(['\r\n\r\n1', '\r\n\r\n2', '\r\n\r\n3'])
    expect(f.finished.map((r) => r.path)).toEqual(['/1', '/2', '/3'])
    expect(f.pool.opened).toHaveLength(1) // one kept-alive target connection served all three
    client.destroy()
  })

  it('answers 400 itself when a chunked body goes bad before any response, and closes', async () => {
    const f = fixture()
    const closed: unknown[] = []
    const owner: ConnectionOwner = { runtime: f.listener, draining: false, onConnectionClosed: (c) => { closed.push(c) } }
    const client = await connect(owner)
    let received = ''
    client.on('data', (b: Buffer) => { received += b.toString('latin1') })
    client.write('POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n')
    await until(() => closed.length === 1)
    expect(received).toMatch(/^HTTP\/1.1 400 /)
    expect([f.pool.last.destroyed, f.finished[0]!.status]).toEqual([true, 400])
    client.destroy()
  })
})
