#!/usr/bin/env node
// The pilotfish command's entry. Plain JavaScript on purpose: it turns on Node's compile cache before any
// TypeScript is loaded, so a warm start strips no types and no thread loads the type stripper (~16 MiB of
// WebAssembly per thread: the control plane and every shard). Shards inherit the cache through the environment.
import module from 'node:module'
import { fileURLToPath } from 'node:url'

if (process.env.NODE_COMPILE_CACHE === undefined) {
  const dir = fileURLToPath(new URL('../node_modules/.cache/pilotfish-compile', import.meta.url))
  const { directory } = module.enableCompileCache(dir)
  if (directory !== undefined) process.env.NODE_COMPILE_CACHE = directory
}
await import('./cli.ts')
