// Listener ports: a listener configured with port 0 gets a free port picked once, here, so every shard binds the same.
import net from 'node:net'
import type { SidecarConfig } from '../../schemas/sidecar.schema.ts'

/** A free port on host: bound, read, closed. */
async function freePort (host: string): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host, port: 0 }, resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Listener name → port to bind. A port-0 listener that ran before on port 0 and the same host keeps the port it
 * was given (a config change must not move it); every other port-0 listener gets a fresh free one.
 */
export async function resolvePorts (config: SidecarConfig, running: SidecarConfig, runningPorts: Readonly<Record<string, number>>): Promise<Record<string, number>> {
  const ports: Record<string, number> = {}
  for (const l of config.listeners) {
    const prev = running.listeners.find((p) => p.name === l.name)
    const reuse = l.port === 0 && prev !== undefined && prev.port === 0 && prev.host === l.host && runningPorts[l.name] !== undefined
    ports[l.name] = l.port !== 0 ? l.port : reuse ? runningPorts[l.name]! : await freePort(l.host)
  }
  return ports
}
