/**
 * Network addresses for every part of the gateway: IP address parsing (text ↔ wire bytes), the
 * canonical spelling of an address, IPv4-mapped IPv6, CIDR blocks (parsing, validation messages,
 * matching through `net.BlockList`) and peer endpoints. The record validator, the constructs and
 * the data plane all use these, so an address or a CIDR means the same thing everywhere. Pure: no
 * CDK import.
 *
 * A CIDR always has a prefix (`203.0.113.7/32`, not `203.0.113.7`).
 */
/* eslint-disable no-bitwise -- address bytes and 16-bit groups */
import { BlockList, isIP, isIPv4, isIPv6, SocketAddress } from 'node:net';
import { DOMAIN, PORT } from './limits';

/** Address family names as node:net spells them. */
export type AddressFamily = 'ipv4' | 'ipv6';

/** The family of an IP address text (IPv6 with a zone counts as not an address); undefined when it is none. */
export function addressFamily(address: string): AddressFamily | undefined {
  const version = isIP(address);
  if (version === 4) return 'ipv4';
  if (version === 6 && !address.includes('%')) return 'ipv6';
  return undefined;
}

// ---- canonical text ------------------------------------------------------------------------------

/**
 * Canonical form of `address`, or undefined when it is not an IP address (zones are rejected):
 * IPv4 as dotted quad, IPv4-mapped IPv6 as the IPv4 address, other IPv6 in the canonical
 * compressed lower-case form. One spelling per address, so flow lookups, tags and egress checks
 * agree however a client or a publisher wrote it.
 */
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

// ---- text ↔ bytes ------------------------------------------------------------------------------

/** Parses an IPv4 or IPv6 address into its 4 or 16 bytes; `undefined` when it is neither. */
export function parseIpAddress(text: string): Buffer | undefined {
  if (isIPv4(text)) return parseIPv4(text);
  if (isIPv6(text)) return parseIPv6(text);
  return undefined;
}

function parseIPv4(text: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function parseIPv6(text: string): Buffer | undefined {
  const zone = text.indexOf('%');
  const address = zone >= 0 ? text.slice(0, zone) : text;
  const words: number[] = [];
  const halves = address.split('::');
  const parseHalf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const result: number[] = [];
    const groups = half.split(':');
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i];
      if (group.includes('.')) {
        if (i !== groups.length - 1 || !isIPv4(group)) return undefined;
        const v4 = parseIPv4(group);
        result.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        result.push(parseInt(group, 16));
      }
    }
    return result;
  };
  const head = parseHalf(halves[0]);
  const tail = halves.length > 1 ? parseHalf(halves[1]) : [];
  if (!head || !tail) return undefined;
  words.push(...head);
  if (halves.length > 1) for (let i = head.length + tail.length; i < 8; i++) words.push(0);
  words.push(...tail);
  if (words.length !== 8) return undefined;
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i], i * 2);
  return out;
}

/** Text of the IPv4 address at `offset`. */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Canonical text (RFC 5952) of the IPv6 address at `offset`; IPv4-mapped addresses keep the dotted tail, as node:net prints them. */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (bytes[offset + i * 2] << 8) | bytes[offset + i * 2 + 1];
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return words.map((w) => w.toString(16)).join(':');
  const head = words.slice(0, bestStart).map((w) => w.toString(16)).join(':');
  const tail = words.slice(bestStart + bestLength).map((w) => w.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** Text of a 4- or 16-byte address. */
export function formatIpAddress(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

/** The IPv4 address carried in the last 32 bits of an IPv6 address (any valid notation), e.g. the target of a NAT64 address. */
export function embeddedIpv4(address: string): string {
  const bytes = parseIpAddress(address);
  if (bytes === undefined || bytes.length !== 16) throw new Error(`${JSON.stringify(address)} is not an IPv6 address (allowed: IPv6 text)`);
  return formatIPv4(bytes, 12);
}

/** An IPv4 address carried inside an IPv6 address, and the form that carries it. */
export interface EmbeddedIpv4 {
  /** Dotted-quad text. */
  readonly address: string;
  /** The embedding form, e.g. `NAT64`, `6to4`, `Teredo client`. */
  readonly form: string;
}

/**
 * The IPv4 addresses a 16-byte IPv6 address carries, by the forms that route to (or translate
 * into) an IPv4 host: IPv4-mapped `::ffff:0:0/96`, IPv4-translated `::ffff:0:0:0/96`, NAT64
 * `64:ff9b::/96`, local-use NAT64 `64:ff9b:1::/48` (every RFC 6052 prefix length /48–/96, since
 * the operator's choice is not visible in the address; readings in 0.0.0.0/8 are left out as the
 * zero padding of another length), 6to4 `2002::/16`, and Teredo `2001::/32`
 * (server and de-obfuscated client). Empty for any other address.
 */
export function embeddedIpv4Addresses(bytes: Uint8Array): EmbeddedIpv4[] {
  if (bytes.length !== 16) return [];
  const zeros = (from: number, to: number): boolean => {
    for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
    return true;
  };
  const at = (a: number, b: number, c: number, d: number, mask = 0): string =>
    `${bytes[a] ^ mask}.${bytes[b] ^ mask}.${bytes[c] ^ mask}.${bytes[d] ^ mask}`;
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return [{ address: at(12, 13, 14, 15), form: 'IPv4-mapped' }];
  if (zeros(0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && bytes[10] === 0 && bytes[11] === 0) {
    return [{ address: at(12, 13, 14, 15), form: 'IPv4-translated' }];
  }
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b) {
    if (zeros(4, 12)) return [{ address: at(12, 13, 14, 15), form: 'NAT64' }];
    if (bytes[4] === 0x00 && bytes[5] === 0x01) {
      // RFC 6052 §2.2: bits 64–71 (byte 8) are skipped; the IPv4 address follows the prefix. A
      // reading that starts with 0 is the zero padding of another prefix length, not an address.
      const readings = [[6, 7, 9, 10], [7, 9, 10, 11], [9, 10, 11, 12], [12, 13, 14, 15]].filter(([first]) => bytes[first] !== 0);
      return [...new Set(readings.map(([a, b, c, d]) => at(a, b, c, d)))].map((address) => ({ address, form: 'local-use NAT64' }));
    }
    return [];
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return [{ address: at(2, 3, 4, 5), form: '6to4' }];
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0x00 && bytes[3] === 0x00) {
    return [{ address: at(12, 13, 14, 15, 0xff), form: 'Teredo client' }, { address: at(4, 5, 6, 7), form: 'Teredo server' }];
  }
  return [];
}

// ---- CIDR blocks -----------------------------------------------------------------------------------

/** A parsed CIDR block: network address, prefix length and family. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: AddressFamily;
}

/** What a CIDR may look like, for messages. */
export const CIDR_ALLOWED = 'CIDR a.b.c.d/0–32 or IPv6/0–128';

/**
 * Parses `a.b.c.d/n` or `x::y/n`. Returns the CIDR, or the problem as a phrase to follow the
 * value in a message (`is not a CIDR (prefix must be 0–32)`); see {@link CIDR_ALLOWED}.
 */
export function parseCidr(value: unknown): Cidr | string {
  if (typeof value !== 'string') return 'is not a CIDR';
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = addressFamily(address);
  if (family === undefined) return 'is not a CIDR (the address part is not an IP address)';
  const max = family === 'ipv4' ? 32 : 128;
  if (slash < 0) return `is not a CIDR (the prefix is missing: write ${address}/${max} for one address)`;
  const prefixText = value.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `is not a CIDR (prefix must be 0–${max})`;
  return { address, prefix, family };
}

/** Why `value` is not a CIDR (a phrase such as `is not a CIDR (prefix must be 0–32)`), or undefined when it is one. */
export function cidrProblem(value: unknown): string | undefined {
  const cidr = parseCidr(value);
  return typeof cidr === 'string' ? cidr : undefined;
}

/** True when `value` is an IPv4 or IPv6 CIDR block, such as `203.0.113.0/24` or `2001:db8::/32`. */
export function isCidr(value: unknown): value is string {
  return typeof parseCidr(value) !== 'string';
}

/** Parses a CIDR; throws an Error naming `what`, the value and what is allowed when it is not one. */
export function parseCidrOrThrow(value: string, what: string): Cidr {
  const cidr = parseCidr(value);
  if (typeof cidr === 'string') throw new Error(`${what}: ${JSON.stringify(value)} ${cidr} (allowed: ${CIDR_ALLOWED})`);
  return cidr;
}

/**
 * Builds a BlockList from CIDRs. IPv4 rules also match IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`) and the other way round, so one list covers both notations.
 * @throws Error naming `what` and the first invalid entry.
 */
export function blockListOf(cidrs: readonly string[], what = 'network'): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidrOrThrow(text, what);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

/** Checks `address` (any notation, validated by the caller) against a BlockList. */
export function listContains(list: BlockList, address: string): boolean {
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

// ---- endpoints ---------------------------------------------------------------------------------------

/** What an endpoint may look like, for messages. */
export const ENDPOINT_ALLOWED = `host:port or [IPv6]:port with port ${PORT.min}–${PORT.max}`;

/** True for a peer endpoint: `a.b.c.d:port`, `[IPv6]:port` or `host.name:port`, port 1–65535. */
export function isEndpoint(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (!m) return false;
  const port = Number(m[3]);
  if (port < PORT.min || port > PORT.max) return false;
  if (m[1] !== undefined) return isIP(m[1]) === 6;
  return isIP(m[2]) === 4 || DOMAIN.pattern.test(m[2]);
}

/**
 * A canonical dotted-quad IPv4 address (`a.b.c.d`, each 0–255 without leading zeros) as the
 * number a × 2^24 + b × 2^16 + c × 2^8 + d; -1 for anything else (IPv6, IPv4-mapped, leading
 * zeros). Distinct canonical addresses give distinct numbers. No allocation: made for per-datagram
 * lookups.
 */
export function ipv4Number(address: string): number {
  const length = address.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}
