/**
 * CIDR parsing for `net.BlockList`. IPv4 rules also match IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`) and the other way round, so one list covers both notations.
 */
import { BlockList, isIP } from 'node:net';

/** A parsed CIDR: network address, prefix length and family. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * Parses `a.b.c.d/n`, `x::y/n`, or a bare address (a single host). Returns an error message
 * naming the value and what is allowed when it is not a CIDR.
 */
export function parseCidr(text: string): Cidr | string {
  if (typeof text !== 'string') return `${JSON.stringify(text)} is not a CIDR (allowed: a.b.c.d/n or IPv6/n)`;
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0 || address.includes('%')) {
    return `${JSON.stringify(text)} is not a CIDR: ${JSON.stringify(address)} is not an IP address (allowed: a.b.c.d/n or IPv6/n)`;
  }
  const max = version === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family: version === 4 ? 'ipv4' : 'ipv6' };
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) {
    return `${JSON.stringify(text)} is not a CIDR: prefix ${JSON.stringify(prefixText)} is out of range (allowed: 0–${max} for IPv${version})`;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Builds a BlockList from CIDRs. Throws an Error naming the first invalid entry. */
export function blockListOf(cidrs: readonly string[], what = 'network'): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') throw new Error(`${what}: ${cidr}`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

/** Checks `address` (any notation, validated by the caller) against a BlockList. */
export function listContains(list: BlockList, address: string): boolean {
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}
