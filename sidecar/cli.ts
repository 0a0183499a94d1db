// The pilotfish command: run a config, proxy in one line, or validate a config file.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { PilotfishError } from '../core/errors.ts'
import { validateConfig } from '../schemas/validate.ts'
import { startSidecar, stopOnSignals } from './main.ts'
import { PluginRegistry } from './control-plane/plugins.ts'
import { withBuiltIns } from './control-plane/built-ins.ts'
import { version } from './version.ts'
import { parseAddress, proxyConfig } from './proxy-config.ts'

const usage = `pilotfish ${version}: a service-mesh sidecar and L7 load balancer

Usage:
  pilotfish run [--config FILE] [--shards N]
      Runs a configuration (YAML or JSON). Without --config: the built-in default
      (listens on 0.0.0.0:8080, forwards to the app on 127.0.0.1:3000, answers GET /pilotfish/ping).
  pilotfish proxy --from [HOST:]PORT --to HOST:PORT [--to HOST:PORT ...] [--algorithm NAME] [--shards N] [--access-log]
      Proxies everything arriving on --from across the --to targets (round_robin unless --algorithm:
      round_robin, least_outstanding_requests, weighted_random). Port alone means 127.0.0.1.
  pilotfish validate FILE
      Checks a configuration and prints every error with its JSON path; exits 1 if there is any.

Options:
  --shards N        data-plane threads (default: number of cores)
  --admin HOST:PORT admin API address (default: the config's admin, 127.0.0.1:9901; a token is required off
                    loopback). --admin off runs without an admin API. Env PILOTFISH_ADMIN does the same;
                    the flag wins. Two sidecars on one machine need an admin address each (or off).
  -h, --help        this text
  -v, --version     the version
`

const out = (line: string): void => { process.stdout.write(line + '\n') }
const err = (line: string): void => { process.stderr.write(line + '\n') }

/**
 * The message's first line, which names the first problem, then every other problem. A message may list every
 * problem itself (validate.ts's invalid() does, for readers of one string): printing both printed each twice.
 */
function printProblems (e: PilotfishError): void {
  const headline = e.message.split('\n', 1)[0]!
  err(`pilotfish: ${headline}`)
  e.problems.forEach((p, i) => {
    if (i > 0 || !headline.includes(p.message)) err(`  ${p.path || '/'}: ${p.message}`)
  })
}

async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      shards: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string', multiple: true },
      algorithm: { type: 'string', default: 'round_robin' },
      admin: { type: 'string' },
      'access-log': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
  const command = positionals[0]
  if (values.version === true) { out(version); return 0 }
  if (values.help === true || command === undefined) { out(usage); return command === undefined && values.help !== true ? 2 : 0 }

  // Only config files need the YAML parser (~10 MiB of RSS): `proxy` does not load it.
  const configFile = () => import('./control-plane/config-load.ts')
  if (command === 'validate') {
    const file = positionals[1] ?? values.config
    if (file === undefined) throw new PilotfishError('PF_ERR_CLI_USAGE', ['validate needs a FILE'])
    const config = await (await configFile()).loadConfigFile(file)
    // Each plugin's module loads and its config validates, the built-ins a section turns on and their sections too;
    // then the plugins are set up as a shard would, so what they refuse (onGroups) is found here too.
    const effective = withBuiltIns(config)
    const specs = await new PluginRegistry(dirname(resolve(file))).specs(effective)
    if (specs.length > 0) await (await import('./control-plane/plugin-check.ts')).checkInShard(effective, specs)
    out(`pilotfish: ${file} is valid`)
    return 0
  }

  let config
  let baseDir: string | undefined
  if (command === 'run') {
    const { defaultConfigPath, loadConfigFile } = await configFile()
    const file = values.config ?? defaultConfigPath
    config = await loadConfigFile(file)
    baseDir = dirname(resolve(file))
  } else if (command === 'proxy') {
    if (values.from === undefined) throw new PilotfishError('PF_ERR_CLI_USAGE', ['proxy needs --from [HOST:]PORT'])
    config = validateConfig(proxyConfig(values.from, values.to ?? [], values.algorithm, values['access-log']))
  } else throw new PilotfishError('PF_ERR_CLI_USAGE', [`unknown command "${command}" (run, proxy, validate)`])

  const adminArg = values.admin ?? process.env.PILOTFISH_ADMIN
  const admin = adminArg !== 'off'
  if (adminArg !== undefined && admin) {
    const a = parseAddress(adminArg, '127.0.0.1')
    config.admin.host = a.host
    config.admin.port = a.port
  }
  const shards = values.shards === undefined ? undefined : Number(values.shards)
  if (shards !== undefined && !(Number.isInteger(shards) && shards >= 1 && shards <= 256)) {
    throw new PilotfishError('PF_ERR_CLI_USAGE', ['--shards must be a whole number from 1 to 256'])
  }
  const sidecar = await startSidecar(config, { shards, baseDir, admin })
  const cp = sidecar.controlPlane
  for (const l of cp.config.listeners) err(`pilotfish: listener ${l.name} on ${l.host}:${cp.ports[l.name]} (${l.protocol})`)
  err(`pilotfish: ${cp.shards.size} shard(s); ${sidecar.adminUrl === null ? 'admin API off' : `admin API on ${sidecar.adminUrl}`}`)
  cp.plugins.onFailed = (name, reason) => err(`pilotfish: plugin ${name}: change refused, the running version stays: ${reason}`)
  cp.onTargetState = (c) => err(`pilotfish: target ${c.target} of ${c.group}: ${c.previous === null ? '' : `${c.previous} → `}${c.state}` +
    `${c.reason === null ? '' : ` (${c.reason}${c.description === null ? '' : `: ${c.description}`})`}`)
  cp.plugins.onReloaded = (p) => err(`pilotfish: plugin ${p.name} reloaded: version ${p.version} runs in shard generation ${p.generation}`)
  cp.shards.onRestart = (index, code, stalled) =>
    err(`pilotfish: shard ${index} ${stalled ? 'stopped answering (event loop blocked)' : `exited (code ${code})`}; replaced`)
  if (config.plugins.length > 0 && readFileSafe('/proc/sys/net/ipv4/tcp_migrate_req') === '0') {
    err('pilotfish: net.ipv4.tcp_migrate_req is 0: a plugin code reload can reset new connections still queued on the ' +
      'retiring shards. Set it to 1 in this network namespace (docs/plugins.md, "Reloading").')
  }
  stopOnSignals(sidecar, err)
  return -1 // keep running
}

function readFileSafe (path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1').trim()
  } catch {
    return undefined
  }
}

/** Runs the command line; sets process.exitCode unless the command keeps running (run, proxy). */
export function runCli (argv: string[]): Promise<void> {
  return main(argv).then((code) => {
    if (code >= 0) process.exitCode = code
  }, (e: unknown) => {
    if (e instanceof PilotfishError) printProblems(e)
    else err(`pilotfish: ${(e as Error).message}`)
    process.exitCode = 1
  })
}

// Run directly (`node sidecar/cli.ts …`) as well as through sidecar/pilotfish.js.
if (import.meta.main) await runCli(process.argv.slice(2))
