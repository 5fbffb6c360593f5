/**
 * A peer's AllowedIPs (cryptokey routing): which inner addresses it may send from and the gateway
 * may send to. Backed by node:net's BlockList.
 */
import { BlockList } from 'node:net';
import { Cidr, CIDR_ALLOWED, parseCidr } from '../../lib/private/network';

/** Parsed AllowedIPs of one peer. */
export class AllowedIps {
  /** Everything, IPv4 and IPv6 (peers accepted through AllowUnknownPeers). */
  static readonly ANY = new AllowedIps([], true);

  /**
   * Parses CIDRs (`10.0.0.2/32`, `fd00::/64`). Throws an Error naming the bad entry and the
   * allowed forms.
   */
  static parse(cidrs: readonly string[], what = 'AllowedIPs'): AllowedIps {
    return new AllowedIps(cidrs.map((cidr) => parseEntry(cidr, what)), false);
  }

  private readonly list = new BlockList();
  /** The last address found inside (peers mostly use one address): skips BlockList's per-call allocation. */
  private lastInside: string | undefined;

  private constructor(
    /** The parsed entries, in configuration order. */
    readonly entries: readonly Cidr[],
    /** True when every address is allowed. */
    readonly any: boolean,
  ) {
    for (const entry of entries) this.list.addSubnet(entry.address, entry.prefix, entry.family);
  }

  /** True when `address` (of IP version `version`) is inside the AllowedIPs. */
  contains(address: string, version: 4 | 6): boolean {
    if (this.any || address === this.lastInside) return true;
    if (!this.list.check(address, version === 4 ? 'ipv4' : 'ipv6')) return false;
    this.lastInside = address;
    return true;
  }

  /** The single host of the first host-sized entry (/32 or /128) of `version`, if any: the peer's own tunnel address. */
  hostAddress(version?: 4 | 6): string | undefined {
    for (const entry of this.entries) {
      const hostPrefix = entry.family === 'ipv4' ? 32 : 128;
      if (entry.prefix === hostPrefix && (version === undefined || (entry.family === 'ipv4') === (version === 4))) return entry.address;
    }
    return undefined;
  }
}

function parseEntry(text: string, what: string): Cidr {
  const cidr = parseCidr(text);
  if (typeof cidr === 'string') throw new Error(`${what}: '${String(text)}' ${cidr} (allowed: ${CIDR_ALLOWED})`);
  return cidr;
}
