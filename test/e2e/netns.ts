// Runs a script in a network namespace of its own (unshare -rn), with loopback up and the kernel setting
// that plugin reloads need: net.ipv4.tcp_migrate_req = 1 hands connections queued on a closing reuseport
// listener (a retiring shard generation's) to the listeners that remain, instead of resetting them.
// The test changes nothing outside its namespace.
import { spawn } from 'node:child_process'

export function runInOwnNetns (script: string, args: string[], timeoutMs: number): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const setup = 'ip link set lo up && echo 1 > /proc/sys/net/ipv4/tcp_migrate_req && exec "$0" "$@"'
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-rn', 'sh', '-c', setup, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c })
    child.stderr.on('data', (c: Buffer) => { stderr += c })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}
