// What `pilotfish proxy --from … --to …` means as a config, and how addresses are read from the command line.
import { PilotfishError } from '../core/errors.ts'

/** "8080", "127.0.0.1:8080", "[::1]:8080" → host and port. */
export function parseAddress (value: string, defaultHost: string): { host: string, port: number } {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(value)
  const port = m === null ? NaN : Number(m[3])
  if (m === null || port > 65535) throw new PilotfishError('PF_ERR_CLI_USAGE', [`"${value}" is not [HOST:]PORT`])
  return { host: m[1] ?? m[2] ?? defaultHost, port }
}

/** The config `pilotfish proxy` runs: one listener, one target group, everything forwarded. */
export function proxyConfig (from: string, to: readonly string[], algorithm: string, accessLog: boolean): unknown {
  if (to.length === 0) throw new PilotfishError('PF_ERR_CLI_USAGE', ['proxy needs at least one --to HOST:PORT'])
  const listen = parseAddress(from, '127.0.0.1')
  return {
    listeners: [{
      name: 'proxy',
      host: listen.host,
      port: listen.port,
      protocol: 'http',
      accessLog,
      defaultAction: { type: 'forward', targetGroups: [{ name: 'targets' }] },
    }],
    targetGroups: [{
      name: 'targets',
      algorithm,
      targets: to.map((t) => ({ ...parseAddress(t, '127.0.0.1'), weight: 1 })),
    }],
  }
}

