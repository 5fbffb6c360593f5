/**
 * Parsing of a message published to a PacketSource topic (DESIGN.md "Sourced packet"): the
 * message body into its entries, each entry into the datagram to send or the failure that stops
 * it. Pure: no I/O, no clock (the caller passes the times); the only state is a memo of the last
 * few texts found valid (addresses, a peer key, field names), which a sender repeats entry after
 * entry, so a repeated one is compared rather than validated again.
 *
 * Validation codes: a missing field, or a container of the wrong shape, is `InvalidMessage`
 * naming the field; a present but unacceptable remote address, port or Data is `InvalidAddress`,
 * `InvalidPort` or `InvalidData`.
 */
import { isIP } from 'node:net';
import { inIntegerRange, PORT, WIREGUARD_KEY } from '../../lib/private/limits';
import { formatEndpoint } from '../../lib/private/network';
import type { FormatterName } from '../../lib/private/records';
import type { EgressDatagram, Failure, FailureCode, InnerAddressing } from '../contracts';
import { decodeData, isFailure, parseFormatter } from '../formatter';

/** Limits an entry is judged against. */
export interface SourcedEntryLimits {
  /** Largest decoded payload in bytes. */
  readonly maxPayloadBytes: number;
}

/** A failure together with the remote it concerns, when known. */
export type SourcedEntryFailure = Failure & { readonly remote?: string };

/** The entries of a published message and how reasons name each one's fields. */
export interface SourcedEntries {
  readonly entries: readonly unknown[];
  /** `Messages[i].` for entries of a `Messages` array; empty for a single packet. */
  fieldOf(index: number): string;
}

/**
 * The entries of a published message body: `{"Messages":[…]}` (at most `maxEntries`), or a single
 * packet object (Proxylity's first format). A body that is not JSON is `InvalidJson`; any other
 * shape is `InvalidMessage`. Reasons never echo the message.
 */
export function parseSourcedMessage(message: string, maxEntries: number): SourcedEntries | Failure {
  let body: unknown;
  try {
    body = JSON.parse(message);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    const where = at ? ` (syntax error at position ${at[1]})` : '';
    return { code: 'InvalidJson', reason: `Message is not valid JSON${where}; expected {"Messages":[{"Data":…,"Remote":{"Address":…,"Port":…}}]}` };
  }
  if (!isObject(body)) {
    return { code: 'InvalidMessage', reason: `Message must be a JSON object ({"Messages":[…]} or a single packet), got ${typeName(body)}` };
  }
  if (body.Messages === undefined) return { entries: [body], fieldOf: singleField };
  const messages = body.Messages;
  if (!Array.isArray(messages)) {
    return { code: 'InvalidMessage', reason: `Messages must be an array of packets, got ${typeName(messages)}` };
  }
  if (messages.length > maxEntries) {
    return { code: 'InvalidMessage', reason: `Messages has ${messages.length} entries; at most ${maxEntries} are allowed in one message` };
  }
  return { entries: messages, fieldOf: arrayField };
}

/**
 * The datagram of one entry of a published message, or its failure (with whatever remote could be
 * identified). `field` prefixes the field names in reasons (`Messages[3].`, or empty for a single
 * packet); `publishedAt` and `now` (epoch milliseconds) decide `TtlSeconds`.
 */
export function parseSourcedEntry(
  entry: unknown,
  field: string,
  publishedAt: number,
  now: number,
  limits: SourcedEntryLimits,
): EgressDatagram | SourcedEntryFailure {
  if (!isObject(entry)) {
    return fail('InvalidMessage', `${field || 'message'} must be a packet object with Data and Remote, got ${typeName(entry)}`);
  }
  const remote = entry.Remote;
  if (!isObject(remote)) {
    return fail('InvalidMessage', `${field}Remote ${remote === undefined ? 'is missing' : `must be an object, got ${typeName(remote)}`} (expected {"Address": "<IPv4 or IPv6>", "Port": ${PORT.allowed}})`);
  }
  const addressField = remote.Address !== undefined ? 'Address' : 'IP';
  const address = remote[addressField];
  if (address === undefined) {
    return fail('InvalidMessage', `${field}Remote.Address is missing (Remote.IP is accepted as a synonym); expected an IPv4 or IPv6 address`);
  }
  if (typeof address !== 'string' || ipVersionOf(address) === 0) {
    return fail('InvalidAddress', `${field}Remote.${addressField}: ${describe(address)} is not an IP address (allowed: IPv4 or IPv6, without zone)`);
  }
  const port = remote.Port;
  if (port === undefined) {
    return fail('InvalidMessage', `${field}Remote.Port is missing; expected an ${PORT.allowed}`, address);
  }
  if (!inIntegerRange(port, PORT)) {
    return fail('InvalidPort', `${field}Remote.Port: ${describe(port)} is not a port (allowed: ${PORT.allowed})`, address);
  }
  const formatter = parseFormatter(entry.Formatter, 'base64', `${field}Formatter`);
  if (typeof formatter !== 'string') return { ...formatter, remote: formatEndpoint(address, port) };

  let peerKey: string | undefined;
  const peer = remote.PeerKey;
  // "" names no peer (Proxylity's plain Listeners ignore it): a plain Listener sends the packet, a
  // WireGuard Listener refuses it as UnknownPeer (it needs the peer to encrypt for)
  if (peer !== undefined && peer !== null && peer !== '') {
    if (typeof peer !== 'string' || !isWireGuardKey(peer)) {
      return fail('InvalidMessage', `${field}Remote.PeerKey: ${describe(peer)} is not a WireGuard public key (allowed: ${WIREGUARD_KEY.allowed})`, formatEndpoint(address, port));
    }
    peerKey = peer;
  }
  let inner: InnerAddressing | undefined;
  if (entry.Inner !== undefined && entry.Inner !== null) {
    const parsed = parseInner(entry.Inner, `${field}Inner`);
    if ('code' in parsed) return { ...parsed, remote: formatEndpoint(address, port) };
    inner = parsed;
  }
  if (hasTimeToLive(entry)) {
    const ttl = entry.TtlSeconds;
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
      return fail('InvalidMessage', `${field}TtlSeconds: ${describe(ttl)} is not a time to live (allowed: a number of seconds greater than 0)`, formatEndpoint(address, port));
    }
    if (Number.isNaN(publishedAt)) {
      return fail('InvalidMessage', `${field}TtlSeconds cannot be applied: the notification has no valid publish Timestamp`, formatEndpoint(address, port));
    }
    const expiresAt = publishedAt + ttl * 1000;
    if (now > expiresAt) {
      return fail('Expired', `${field}TtlSeconds ${ttl} elapsed at ${new Date(expiresAt).toISOString()} (published ${new Date(publishedAt).toISOString()}); not sent`, formatEndpoint(address, port));
    }
  }
  if (entry.Data === undefined) {
    return fail('InvalidMessage', `${field}Data is missing; expected the payload as ${formatter} text`, formatEndpoint(address, port));
  }
  const data = decodeData(entry.Data, formatter as FormatterName, `${field}Data`);
  if (isFailure(data)) return { ...data, remote: formatEndpoint(address, port) };
  if (data.length > limits.maxPayloadBytes) {
    return fail('PayloadTooLarge', `${field}Data decodes to ${data.length} bytes; at most ${limits.maxPayloadBytes} are allowed`, formatEndpoint(address, port));
  }
  return { data, address, port, peerKey, inner };
}

/** Field prefixes of the first entries, built once (one string per entry and message otherwise). */
const ARRAY_FIELDS: string[] = [];
const CACHED_ARRAY_FIELDS = 1024;

/**
 * True when `entry` is an object whose TtlSeconds is set (not undefined or null): the entries for
 * which {@link parseSourcedEntry} reads the publish time and the clock.
 */
export function hasTimeToLive(entry: unknown): boolean {
  if (!isObject(entry)) return false;
  const ttl = entry.TtlSeconds;
  return ttl !== undefined && ttl !== null;
}

function arrayField(index: number): string {
  if (index >= CACHED_ARRAY_FIELDS) return `Messages[${index}].`;
  return (ARRAY_FIELDS[index] ??= `Messages[${index}].`);
}

function singleField(): string {
  return '';
}

function fail(code: FailureCode, reason: string, remote?: string): SourcedEntryFailure {
  return { code, reason, remote };
}

function parseInner(value: unknown, field: string): InnerAddressing | Failure {
  if (!isObject(value)) {
    return { code: 'InvalidMessage', reason: `${field} must be an object with SourceAddress, SourcePort, DestinationAddress, DestinationPort, got ${typeName(value)}` };
  }
  const src = value.SourceAddress;
  const dst = value.DestinationAddress;
  const family = innerAddressVersion(src, field, 'SourceAddress');
  if (typeof family !== 'number') return family;
  const dstFamily = innerAddressVersion(dst, field, 'DestinationAddress');
  if (typeof dstFamily !== 'number') return dstFamily;
  if (dstFamily !== family) {
    return { code: 'InvalidAddress', reason: `${field}: SourceAddress and DestinationAddress must be of the same IP version` };
  }
  const badPort = innerPortFailure(value.SourcePort, field, 'SourcePort') ?? innerPortFailure(value.DestinationPort, field, 'DestinationPort');
  if (badPort) return badPort;
  if (value.Version !== undefined && value.Version !== family) {
    return { code: 'InvalidMessage', reason: `${field}.Version: ${describe(value.Version)} does not match the addresses (IPv${family}); allowed: ${family} or absent` };
  }
  if (value.Protocol !== undefined && value.Protocol !== 17) {
    return { code: 'InvalidMessage', reason: `${field}.Protocol: ${describe(value.Protocol)} is not supported (allowed: 17, UDP)` };
  }
  return {
    SourceAddress: src as string,
    SourcePort: value.SourcePort as number,
    DestinationAddress: dst as string,
    DestinationPort: value.DestinationPort as number,
    Version: family,
    Protocol: 17,
  };
}

/** The IP version of `Inner.<name>`, or why it is not an address. */
function innerAddressVersion(value: unknown, field: string, name: string): 4 | 6 | Failure {
  if (value === undefined) return { code: 'InvalidMessage', reason: `${field}.${name} is missing; expected an IPv4 or IPv6 address` };
  const version = typeof value === 'string' ? ipVersionOf(value) : 0;
  if (version === 0) return { code: 'InvalidAddress', reason: `${field}.${name}: ${describe(value)} is not an IP address (allowed: IPv4 or IPv6)` };
  return version;
}

/** Why `Inner.<name>` is not a port, or undefined when it is one. */
function innerPortFailure(value: unknown, field: string, name: string): Failure | undefined {
  if (value === undefined) return { code: 'InvalidMessage', reason: `${field}.${name} is missing; expected an ${PORT.allowed}` };
  if (!inIntegerRange(value, PORT)) return { code: 'InvalidPort', reason: `${field}.${name}: ${describe(value)} is not a port (allowed: ${PORT.allowed})` };
  return undefined;
}

/** Texts recently found to be IP addresses, with their versions (a few slots, reused in turn). */
const RECENT_ADDRESS_SLOTS = 4;
const recentAddresses: string[] = [];
const recentVersions: Array<4 | 6> = [];
let nextAddressSlot = 0;

/**
 * 4 or 6 for an IPv4 or IPv6 address without a zone index (`fe80::1%eth0` names a local
 * interface, never a remote), else 0. A text equal to one of the last few valid ones is not
 * parsed again.
 */
function ipVersionOf(value: string): 0 | 4 | 6 {
  for (let i = 0; i < recentAddresses.length; i++) {
    if (recentAddresses[i] === value) return recentVersions[i];
  }
  const version = isIP(value);
  if (version === 0 || value.includes('%')) return 0;
  recentAddresses[nextAddressSlot] = value;
  recentVersions[nextAddressSlot] = version as 4 | 6;
  nextAddressSlot = (nextAddressSlot + 1) % RECENT_ADDRESS_SLOTS;
  return version as 4 | 6;
}

/** The last text found to be a WireGuard public key. */
let lastValidKey = '';

/** True for a WireGuard public key (limits.ts `WIREGUARD_KEY`); the last valid one is compared, not matched again. */
function isWireGuardKey(value: string): boolean {
  if (value === lastValidKey) return true;
  if (!WIREGUARD_KEY.pattern.test(value)) return false;
  lastValidKey = value;
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A short rendering of a (non-payload) value for a failure reason. */
export function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
  }
  return typeName(value);
}
