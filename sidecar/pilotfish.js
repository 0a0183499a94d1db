#!/usr/bin/env node
// The pilotfish command's entry. Plain JavaScript on purpose: it turns on Node's compile cache before any
// TypeScript is loaded, so a warm start strips no types and no thread loads the type stripper (~16 MiB of
// WebAssembly per thread: the control plane and every shard). Shards inherit the cache through the environment.
// `npm ci` warms the cache (the "prepare" script), so even a container's first start is lean.
import module from 'node:module'
import { fileURLToPath } from 'node:url'

if (process.env.NODE_COMPILE_CACHE === undefined) {
  const dir = fileURLToPath(new URL('../node_modules/.cache/pilotfish-compile', import.meta.url))
  const { directory } = module.enableCompileCache(dir)
  if (directory !== undefined) process.env.NODE_COMPILE_CACHE = directory
}
if (process.argv[2] === '--warm-compile-cache') {
  // Every module a control plane or a shard loads (shard.ts starts nothing outside a shard thread), the lazily
  // imported ones too: the config-file loader (run, validate), the access log, the admin API's routes (fastify,
  // on the first admin request), and with plugins the manifest reader (a worker entry that starts nothing
  // here) and ajv for plugin config schemas.
  const modules = ['./cli.ts', './control-plane/config-load.ts', './shard/shard.ts', './shard/access-log.ts',
    './control-plane/plugin-inspect.ts', '../schemas/compile.ts', './admin/server.ts']
  await Promise.all(modules.map((m) => import(m)))
  module.flushCompileCache()
} else {
  // What ps, top and /proc/<pid>/comm show, instead of the name Node gives its main thread (MainThread). Shards
  // are threads named pf-shard-<n> (control-plane/shards.ts): Linux keeps 15 characters of a thread's name.
  process.title = 'pilotfish'
  const { runCli } = await import('./cli.ts')
  await runCli(process.argv.slice(2))
}
