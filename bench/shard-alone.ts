// Runs one shard on the main thread, without a control plane, so `node --cpu-prof` profiles the data plane alone:
//   taskset -c 1 node --cpu-prof bench/shard-alone.ts --to 127.0.0.1:8000 [--port 18101] [--seconds 10] [--access-log]
// then load 127.0.0.1:18101 from the other core; the profile is written when it exits after --seconds.
import { parseArgs } from 'node:util'
import { Shard } from '../sidecar/shard/shard.ts'
import { validateConfig } from '../schemas/validate.ts'
import { parseAddress } from '../sidecar/proxy-config.ts'

const { values } = parseArgs({
  options: {
    to: { type: 'string', default: '127.0.0.1:8000' },
    port: { type: 'string', default: '18101' },
    seconds: { type: 'string', default: '10' },
    'access-log': { type: 'boolean', default: false },
  },
})
const port = Number(values.port)
const config = validateConfig({
  listeners: [{ name: 'p', host: '127.0.0.1', port, accessLog: values['access-log'], defaultAction: { type: 'forward', targetGroups: [{ name: 't' }] } }],
  targetGroups: [{ name: 't', targets: [parseAddress(values.to, '127.0.0.1')] }],
})
const shard = new Shard()
await shard.apply({ version: 1, config, draining: [], maintenance: [], ports: { p: port }, plugins: [] })
process.stderr.write(`shard alone on 127.0.0.1:${port} → ${values.to} for ${values.seconds} s\n`)
setTimeout(() => process.exit(0), Number(values.seconds) * 1000)
