/**
 * Egress safety: where replies and sourced packets may go. Loopback, link-local (including the
 * instance metadata address 169.254.169.254), multicast, broadcast/reserved, unspecified, the
 * AWS instance services over IPv6 (metadata, DNS, time at `fd00:ec2::254/253/23`) and every CIDR
 * of the VPC are denied unless the Listener's `EgressAllowedNetworks` covers the address.
 * IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-translated, NAT64 and local-use
 * NAT64, 6to4, Teredo) are judged by the IPv4 addresses they carry as well as by themselves.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { blockListOf, embeddedIpv4Addresses, listContains, parseIpAddress } from '../../lib/private/network';
import type { Failure } from '../contracts';

interface DeniedRange {
  readonly label: string;
  readonly cidrs: readonly string[];
  /** Skipped when loopback is allowed (local mode). */
  readonly loopback?: boolean;
}

/** The ranges every Listener denies by default. */
export const DENIED_RANGES: readonly DeniedRange[] = [
  { label: 'unspecified', cidrs: ['0.0.0.0/8', '::/128'] },
  { label: 'loopback', cidrs: ['127.0.0.0/8', '::1/128'], loopback: true },
  { label: 'link-local', cidrs: ['169.254.0.0/16', 'fe80::/10'] },
  { label: 'multicast', cidrs: ['224.0.0.0/4', 'ff00::/8'] },
  { label: 'broadcast', cidrs: ['255.255.255.255/32'] },
  { label: 'reserved', cidrs: ['240.0.0.0/4'] },
  { label: 'IPv4-compatible', cidrs: ['::/96'] },
];

/**
 * Denied after the VPC's own networks (a VPC CIDR that covers one of them names the VPC): the
 * AWS instance metadata service, Route 53 Resolver and Time Sync over IPv6 (Nitro instances).
 */
export const AWS_INSTANCE_SERVICE_RANGE: DeniedRange = {
  label: 'AWS instance services',
  cidrs: ['fd00:ec2::254/128', 'fd00:ec2::253/128', 'fd00:ec2::23/128'],
};

export interface EgressPolicyOptions {
  /** Allow loopback destinations (local mode). @default false */
  readonly allowLoopback?: boolean;
  /** The VPC's own CIDRs (or any other networks to deny). @default - none */
  readonly deniedNetworks?: readonly string[];
  /** The Listener's `EgressAllowedNetworks`: allowed even when a denied range covers them. @default - none */
  readonly allowedNetworks?: readonly string[];
}

interface CompiledRange {
  readonly label: string;
  readonly cidrs: readonly string[];
  readonly list: BlockList;
}

const LOOPBACK = blockListOf(DENIED_RANGES.filter((r) => r.loopback).flatMap((r) => r.cidrs));

/** Verdicts remembered per policy; the cache is emptied when it reaches this size. */
export const EGRESS_VERDICT_CACHE_SIZE = 4096;
/** Cached verdict meaning "allowed" (a Map cannot tell a stored `undefined` from a miss cheaply). */
const ALLOWED = 0;

/**
 * Decides whether a datagram may be sent to an address. Construct once per Listener. A policy
 * never changes after construction, so verdicts are cached per address text (bounded): a
 * repeated destination costs one Map lookup instead of a BlockList walk per denied range.
 */
export class EgressPolicy {
  private readonly ranges: readonly CompiledRange[];
  private readonly allowed?: BlockList;
  private readonly allowLoopback: boolean;
  private readonly verdicts = new Map<string, Failure | typeof ALLOWED>();

  /** Throws when a network in the options is not a CIDR. */
  public constructor(options: EgressPolicyOptions = {}) {
    this.allowLoopback = options.allowLoopback ?? false;
    const ranges: CompiledRange[] = [];
    for (const range of DENIED_RANGES) {
      if (range.loopback && options.allowLoopback) continue;
      ranges.push({ label: range.label, cidrs: range.cidrs, list: blockListOf(range.cidrs) });
    }
    if (options.deniedNetworks && options.deniedNetworks.length > 0) {
      ranges.push({ label: 'VPC network', cidrs: options.deniedNetworks, list: blockListOf(options.deniedNetworks, 'denied networks') });
    }
    const services = AWS_INSTANCE_SERVICE_RANGE;
    ranges.push({ label: services.label, cidrs: services.cidrs, list: blockListOf(services.cidrs) });
    this.ranges = ranges;
    if (options.allowedNetworks && options.allowedNetworks.length > 0) {
      this.allowed = blockListOf(options.allowedNetworks, 'EgressAllowedNetworks');
    }
  }

  /**
   * Returns undefined when `address` may receive datagrams; otherwise `InvalidAddress` (not an
   * IP address) or `DestinationDenied` naming the range that covers it.
   */
  public check(address: string): Failure | undefined {
    if (typeof address !== 'string') return this.evaluate(address);
    const cached = this.verdicts.get(address);
    if (cached !== undefined) return cached === ALLOWED ? undefined : cached;
    const verdict = this.evaluate(address);
    if (this.verdicts.size >= EGRESS_VERDICT_CACHE_SIZE) this.verdicts.clear();
    this.verdicts.set(address, verdict === undefined ? ALLOWED : verdict);
    return verdict;
  }

  private evaluate(address: string): Failure | undefined {
    const version = typeof address === 'string' ? isIP(address) : 0;
    if (version === 0 || address.includes('%')) {
      return { code: 'InvalidAddress', reason: `${describe(address)} is not an IP address (allowed: IPv4 dotted quad or IPv6 without zone)` };
    }
    const family = version === 6 ? 'ipv6' : 'ipv4';
    // One SocketAddress per address, shared by every list (BlockList would build one per check).
    const original = new SocketAddress({ address, family });
    if (this.allowed?.check(original)) return undefined;
    const denied = this.deniedRange(original);
    if (denied) return refusal(address, '', denied);
    if (version !== 6) return undefined;
    for (const embedded of embeddedIpv4Addresses(parseIpAddress(address)!)) {
      const carried = new SocketAddress({ address: embedded.address, family: 'ipv4' });
      if (this.allowed?.check(carried)) continue;
      const range = this.deniedRange(carried);
      if (range) return refusal(address, ` (${embedded.form} for ${embedded.address})`, range);
    }
    return undefined;
  }

  /** The first denied range that covers `target`, unless it is loopback in local mode. */
  private deniedRange(target: SocketAddress): CompiledRange | undefined {
    if (this.allowLoopback && LOOPBACK.check(target)) return undefined;
    for (const range of this.ranges) {
      if (range.list.check(target)) return range;
    }
    return undefined;
  }

  /** True when `address` is covered by the Listener's EgressAllowedNetworks. */
  public isExplicitlyAllowed(address: string): boolean {
    return this.allowed !== undefined && isIP(address) !== 0 && listContains(this.allowed, address);
  }
}

function refusal(address: string, via: string, range: CompiledRange): Failure {
  return {
    code: 'DestinationDenied',
    reason: `${address}${via} is ${range.label} (${range.cidrs.join(', ')}); egress there is denied unless the Listener's EgressAllowedNetworks covers it`,
  };
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
