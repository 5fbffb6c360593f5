/**
 * One spelling per address, so flow lookups, tags and egress checks agree however a client or a
 * publisher wrote it: IPv4 as dotted quad, IPv4-mapped IPv6 as the IPv4 address, other IPv6 in
 * the canonical compressed lower-case form.
 */
import { isIP, SocketAddress } from 'node:net';

/** Canonical form of `address`, or undefined when it is not an IP address (zones are rejected). */
export function canonicalAddress(address: string): string | undefined {
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6 || address.includes('%')) return undefined;
  const canonical = new SocketAddress({ address, family: 'ipv6' }).address;
  if (canonical.startsWith('::ffff:') && canonical.indexOf('.', 7) > 0) return canonical.slice(7);
  return canonical;
}

/** `address:port`, or `[address]:port` for IPv6, for logs and failure records. */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
