// A shard's plugin host: instances set up when their spec changes, closed when replaced, nothing left behind.
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { PluginHost } from '../../../sidecar/shard/plugin-host.ts'
import type { PluginSpec } from '../../../core/snapshot.ts'
import { PluginCounters } from '../../../core/plugin/counters.ts'

const url = (name: string): string => pathToFileURL(new URL(`../../e2e/fixtures/plugins/${name}.ts`, import.meta.url).pathname).href
const spec = (n: number): PluginSpec => ({ name: 'leaky', url: url('leaky-until-closed'), config: { n }, configPath: '/plugins/0/config', failClosed: true, timeoutMs: 1000, taskTimeoutMs: 1000, groups: {}, forwards: {}, listeners: {}, configDir: '/' })
const noChannel = { onFailure () {}, runTask: () => Promise.reject(new Error('no pool')), publish () {}, refreshTargets () {}, sendToLeader () {}, reportTarget () {}, counters: new PluginCounters() }
/** Open handles and timers, once handles closed this turn have finished closing (libuv closes them on the next loop turn). */
async function resources (): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve))
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').sort()
}

describe('PluginHost', () => {
  it('loading and unloading a plugin twice leaves no handle or timer behind', async () => {
    const host = new PluginHost(0, 1, noChannel)
    await host.commit(await host.prepare([]), []) // warm: module loading itself opens nothing lasting
    const before = await resources()
    for (let i = 0; i < 2; i++) {
      const loaded = await host.prepare([spec(i)])
      await host.commit(loaded, [spec(i)])
      expect((await resources()).length).toBeGreaterThan(before.length) // setup opened a timer and a server
      await host.commit(await host.prepare([]), [])
      expect(await resources()).toEqual(before)
    }
  })

  it('keeps an instance whose spec did not change, and replaces (and closes) one whose config did', async () => {
    const host = new PluginHost(0, 1, noChannel)
    const first = await host.prepare([spec(1)])
    await host.commit(first, [spec(1)])
    const same = await host.prepare([spec(1)])
    expect(same.get('leaky')).toBe(first.get('leaky'))
    const changed = await host.prepare([spec(2)])
    expect(changed.get('leaky')).not.toBe(first.get('leaky'))
    const before = (await resources()).length
    await host.commit(changed, [spec(2)])
    expect((await resources()).length).toBeLessThan(before) // the replaced instance's timer and server are gone
    await host.closeAll()
  })

  it('a snapshot abandoned after prepare closes what it set up and keeps the running instance', async () => {
    const host = new PluginHost(0, 1, noChannel)
    const running = await host.prepare([spec(1)])
    await host.commit(running, [spec(1)])
    const before = await resources()
    const next = await host.prepare([spec(3)])
    await host.discard(next)
    expect(await resources()).toEqual(before)
    expect((await host.prepare([spec(1)])).get('leaky')).toBe(running.get('leaky'))
    await host.closeAll()
  })

  it('reports a module that cannot load with the plugin name and the reason', async () => {
    const host = new PluginHost(0, 1, noChannel)
    await expect(host.prepare([{ ...spec(0), name: 'bad', url: url('throws-at-import') }])).rejects.toThrow(/plugin bad could not load from .*: this module fails at import/)
  })

  it('gives an instance set up later the last published state, and passes env calls to the shard', async () => {
    const calls: string[] = []
    const host = new PluginHost(0, 1, { ...noChannel, publish: (plugin, state) => calls.push(`publish ${plugin} ${JSON.stringify(state)}`), refreshTargets: () => calls.push('refresh') })
    host.deliver('health', ['10.0.0.1:80'])
    const h = url('health-lite')
    const loaded = await host.prepare([{ name: 'health', url: h, config: { intervalMs: 1000 }, configPath: '/plugins/0/config', failClosed: true, timeoutMs: 1000, taskTimeoutMs: 1000, groups: {}, forwards: {}, listeners: {}, configDir: '/' }])
    const instance = loaded.get('health')!
    // onState ran at set-up with the state published before: the target is out, and a refresh was asked for.
    expect(instance.hooks.targetState!({ id: '10.0.0.1:80', host: '10.0.0.1', port: 80, weight: 1 }, 'g')).toEqual({ eligible: false })
    expect(calls).toContain('refresh')
    await host.commit(loaded, [{ name: 'health', url: h, config: { intervalMs: 1000 }, configPath: '/plugins/0/config', failClosed: true, timeoutMs: 1000, taskTimeoutMs: 1000, groups: {}, forwards: {}, listeners: {}, configDir: '/' }])
    host.deliver('health', [])
    expect(instance.hooks.targetState!({ id: '10.0.0.1:80', host: '10.0.0.1', port: 80, weight: 1 }, 'g')).toBeUndefined()
    await host.closeAll()
  })
})
