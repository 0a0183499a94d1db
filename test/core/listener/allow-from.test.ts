// allowFrom, the listener's security group: which peer addresses may connect.
import { describe, expect, it } from 'vitest'
import { AllowFrom } from '../../../core/listener/allow-from.ts'

describe('allowFrom', () => {
  it.each<{ desc: string, cidrs: string[], allowed: string[], refused: string[] }>([
    { desc: 'IPv4 blocks', cidrs: ['10.0.0.0/8', '192.168.1.0/24'], allowed: ['10.255.0.1', '192.168.1.200'], refused: ['11.0.0.1', '192.168.2.1'] },
    { desc: 'a plain IPv4 address as /32', cidrs: ['127.0.0.2'], allowed: ['127.0.0.2'], refused: ['127.0.0.1', '127.0.0.3'] },
    { desc: 'IPv6 blocks and a plain address as /128', cidrs: ['2001:db8::/32', '::1'], allowed: ['2001:db8:ffff::1', '::1', '0:0:0:0:0:0:0:1'], refused: ['2001:db9::1', '::2'] },
    { desc: 'IPv4-mapped IPv6 peers against IPv4 blocks', cidrs: ['127.0.0.2/32'], allowed: ['::ffff:127.0.0.2'], refused: ['::ffff:127.0.0.1'] },
    { desc: 'a mapped block against plain IPv4 peers', cidrs: ['::ffff:10.0.0.0/104'], allowed: ['10.1.2.3', '::ffff:10.1.2.3'], refused: ['11.1.2.3'] },
    { desc: 'IPv4 peers never in IPv6 blocks', cidrs: ['::/0'], allowed: ['::1'], refused: ['127.0.0.1'] },
    { desc: 'everyone with both zero blocks', cidrs: ['0.0.0.0/0', '::/0'], allowed: ['1.2.3.4', '2001:db8::1', '::ffff:1.2.3.4'], refused: [] },
    { desc: 'no one with an empty list', cidrs: [], allowed: [], refused: ['127.0.0.1', '::1'] },
    { desc: 'an address that does not parse (a socket already gone has none)', cidrs: ['0.0.0.0/0', '::/0'], allowed: [], refused: ['', 'localhost', '1.2.3'] },
  ])('$desc', ({ cidrs, allowed, refused }) => {
    const allow = new AllowFrom(cidrs)
    for (const ip of allowed) expect(allow.allows(ip), ip).toBe(true)
    for (const ip of refused) expect(allow.allows(ip), ip).toBe(false)
  })

  it('gives the same answers when checks of both families interleave (its parsed address is reused)', () => {
    const allow = new AllowFrom(['10.0.0.0/8', '2001:db8::/32'])
    const answers = ['10.0.0.1', '2001:db8::1', '::ffff:10.0.0.9', '2001:db9::', '11.0.0.1', '10.9.9.9'].map((ip) => allow.allows(ip))
    expect(answers).toEqual([true, true, true, false, false, true])
  })

  it('refuses to compile a block that does not parse', () => {
    expect(() => new AllowFrom(['10.0.0.0/8', '300.0.0.0/8'])).toThrow(/allowFrom\/1/)
  })
})
