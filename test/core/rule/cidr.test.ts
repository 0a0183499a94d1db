import { BlockList, isIPv6 } from 'node:net'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { IpAddress, cidrContains, isLoopback, parseCidr } from '../../../core/rule/cidr.ts'

const contains = (cidr: string, ip: string): boolean => {
  const c = parseCidr(cidr)
  const a = new IpAddress()
  if (c === null || !a.parse(ip)) throw new Error(`bad input ${cidr} ${ip}`)
  return cidrContains(c, a)
}

describe('CIDR parsing and matching', () => {
  it.each([
    { desc: 'an IPv4 /8 holds an address inside it', cidr: '10.0.0.0/8', ip: '10.200.3.4', expected: true },
    { desc: 'an IPv4 /8 rejects an address outside it', cidr: '10.0.0.0/8', ip: '11.0.0.1', expected: false },
    { desc: 'an IPv4 /0 holds every IPv4 address', cidr: '0.0.0.0/0', ip: '203.0.113.9', expected: true },
    { desc: 'a plain IPv4 address is a /32', cidr: '192.0.2.7', ip: '192.0.2.7', expected: true },
    { desc: 'a /32 rejects its neighbour', cidr: '192.0.2.7', ip: '192.0.2.8', expected: false },
    { desc: 'a /31 holds both of its addresses', cidr: '192.0.2.6/31', ip: '192.0.2.7', expected: true },
    { desc: 'host bits in the block are masked off', cidr: '10.1.2.3/8', ip: '10.9.9.9', expected: true },
    { desc: 'an IPv6 /32 holds an address inside it', cidr: '2001:db8::/32', ip: '2001:db8:1234::1', expected: true },
    { desc: 'an IPv6 /32 rejects an address outside it', cidr: '2001:db8::/32', ip: '2001:db9::1', expected: false },
    { desc: 'an IPv6 prefix inside a group (/24)', cidr: '2001:0d00::/24', ip: '2001:0dff::1', expected: true },
    { desc: 'an IPv6 prefix inside a group rejects the next block', cidr: '2001:0d00::/24', ip: '2001:0e00::1', expected: false },
    { desc: 'a plain IPv6 address is a /128', cidr: '::1', ip: '::1', expected: true },
    { desc: 'a /128 rejects its neighbour', cidr: '::1/128', ip: '::2', expected: false },
    { desc: 'IPv6 forms compare by value, not text', cidr: '2001:db8:0:0:0:0:0:1/128', ip: '2001:DB8::1', expected: true },
    { desc: 'an IPv6 client zone is ignored', cidr: 'fe80::/10', ip: 'fe80::1%eth0', expected: true },
    { desc: 'an IPv4 client never matches an IPv6 block', cidr: '::/0', ip: '10.0.0.1', expected: false },
    { desc: 'an IPv6 client never matches an IPv4 block', cidr: '0.0.0.0/0', ip: '::1', expected: false },
    { desc: 'an IPv4-mapped block matches plain IPv4 clients', cidr: '::ffff:10.0.0.0/104', ip: '10.1.2.3', expected: true },
    { desc: 'an IPv4-mapped block rejects other IPv4 clients', cidr: '::ffff:10.0.0.0/104', ip: '11.1.2.3', expected: false },
    { desc: 'an embedded dotted quad is parsed', cidr: '64:ff9b::/96', ip: '64:ff9b::192.0.2.33', expected: true },
  ])('$desc', ({ cidr, ip, expected }) => {
    expect(contains(cidr, ip)).toBe(expected)
  })

  it.each([
    '10.0.0.0/33', '::/129', '10.0.0/8', '10.0.0.256', '010.0.0.1', '10.0.0.1/08', '10.0.0.1/', '1.2.3.4.5',
    '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '::1%eth0', '', 'localhost', '1.2.3.4/-1',
  ])('rejects %j', (text) => {
    expect(parseCidr(text)).toBeNull()
  })

  it('parses every IPv6 text form Node accepts to the same address (property, BlockList as oracle)', () => {
    fc.assert(fc.property(fc.ipV6(), (text) => {
      const ip = new IpAddress()
      expect(ip.parse(text)).toBe(true)
      const canonical = Array.from(ip.v6, (g) => g.toString(16)).join(':')
      const list = new BlockList()
      list.addAddress(canonical, 'ipv6')
      return isIPv6(text) && list.check(text, 'ipv6')
    }), { numRuns: 2000 })
  })

  it('matches an IPv4 prefix exactly as BlockList does (property)', () => {
    fc.assert(fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (net, ip, bits) => {
      const list = new BlockList()
      list.addSubnet(net, bits, 'ipv4')
      return contains(`${net}/${bits}`, ip) === list.check(ip, 'ipv4')
    }), { numRuns: 2000 })
  })

  it('matches an IPv6 prefix exactly as BlockList does (property)', () => {
    fc.assert(fc.property(fc.ipV6(), fc.ipV6(), fc.integer({ min: 0, max: 128 }), (net, ip, bits) => {
      const list = new BlockList()
      list.addSubnet(net, bits, 'ipv6')
      const c = parseCidr(`${net}/${bits}`)!
      const a = new IpAddress()
      a.parse(ip)
      // Both sides hold IPv6 here; our IPv4-mapped conversion only applies to ::ffff:0:0/96 blocks.
      return c.family === 4 || cidrContains(c, a) === list.check(ip, 'ipv6')
    }), { numRuns: 2000 })
  })

  it.each([
    { host: '127.0.0.1', expected: true },
    { host: '127.5.6.7', expected: true },
    { host: '::1', expected: true },
    { host: '0:0:0:0:0:0:0:1', expected: true },
    { host: 'localhost', expected: true },
    { host: '::ffff:127.0.0.1', expected: true },
    { host: '0.0.0.0', expected: false },
    { host: '::', expected: false },
    { host: '10.0.0.1', expected: false },
    { host: 'example.com', expected: false },
  ])('isLoopback($host) is $expected', ({ host, expected }) => {
    expect(isLoopback(host)).toBe(expected)
  })
})
