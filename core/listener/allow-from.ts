// A listener's security group (`allowFrom`): the source CIDRs that may connect, compiled once per snapshot and
// checked once per accepted connection, before the engine (or a plugin's TLS) reads a byte of it.
import { PilotfishError } from '../errors.ts'
import { cidrContains, IpAddress, parseCidr, unmapIPv4, type Cidr } from '../rule/cidr.ts'

/** The `reason` label of pilotfish_connections_refused_total for a peer outside allowFrom. */
export const REFUSED_ALLOW_FROM = 'allow_from'

export class AllowFrom {
  readonly #blocks: readonly Cidr[]
  /** Overwritten by each check: a connection costs no allocation here. */
  readonly #ip = new IpAddress()

  /** `cidrs` were checked by the config's validation; an invalid one here is a bug upstream, refused loudly. */
  constructor (cidrs: readonly string[]) {
    const blocks: Cidr[] = []
    for (let i = 0; i < cidrs.length; i++) {
      const c = parseCidr(cidrs[i]!)
      if (c === null) throw new PilotfishError('PF_ERR_CONFIG_INVALID', [`allowFrom/${i}`, 'is not an IPv4 or IPv6 address or CIDR block'])
      blocks.push(c)
    }
    this.#blocks = blocks
  }

  /**
   * True when the peer address lies in one of the blocks. A dual-stack socket's IPv4-mapped address
   * (::ffff:10.1.2.3) is matched as the IPv4 address it is; an address that does not parse is never allowed.
   */
  allows (address: string): boolean {
    const ip = this.#ip
    if (!ip.parse(address)) return false
    unmapIPv4(ip)
    const blocks = this.#blocks
    for (let i = 0; i < blocks.length; i++) if (cidrContains(blocks[i]!, ip)) return true
    return false
  }
}
