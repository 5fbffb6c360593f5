/**
 * The IP packets inside a WireGuard tunnel: parse IPv4/IPv6 (with UDP) on the way in, build
 * IPv4/IPv6 + UDP with correct checksums on the way out.
 *
 * A decrypted payload whose version nibble is 4 or 6 is an IP packet: its header and length
 * fields must be consistent with the bytes received (trailing bytes are WireGuard padding), or it
 * is refused — never passed on as raw data, which would skip the AllowedIPs check. Payloads with
 * any other first nibble are not IP packets: clients that tunnel bare datagrams get them passed
 * through as raw data.
 */
/* eslint-disable no-bitwise -- header bit fields and checksums */
import { formatIPv4, formatIPv6 } from '../../lib/private/network';

export const IPV4_HEADER_LENGTH = 20;
export const IPV6_HEADER_LENGTH = 40;
export const UDP_HEADER_LENGTH = 8;
export const PROTOCOL_UDP = 17;
/** Hop limit / TTL of packets the gateway builds. */
export const DEFAULT_HOP_LIMIT = 64;

/** An IP packet found in a decrypted transport payload. */
export interface InnerPacket {
  readonly version: 4 | 6;
  /** IP protocol (IPv6: the upper-layer header after extension headers). */
  readonly protocol: number;
  readonly sourceAddress: string;
  readonly destinationAddress: string;
  /** UDP ports; 0 for other protocols and fragments. */
  readonly sourcePort: number;
  readonly destinationPort: number;
  /**
   * True for a fragment (IPv4 MF/offset, IPv6 fragment header with an offset or M set): ports and
   * payload are not complete. An IPv6 atomic fragment (offset 0, M 0; RFC 6946) is a whole packet.
   */
  readonly fragment: boolean;
  /** The whole IP packet without WireGuard padding. */
  readonly packet: Buffer;
  /** The UDP payload (UDP), or the upper-layer bytes (other protocols, fragments). */
  readonly payload: Buffer;
}

/**
 * Parses an IP packet. Returns `undefined` when `data` is not an IP packet (raw data: empty, or a
 * first nibble other than 4 and 6), or a reason string when its version nibble says IP but its
 * IP or UDP header is inconsistent.
 */
export function parseInnerPacket(data: Buffer): InnerPacket | string | undefined {
  if (data.length === 0) return undefined;
  const version = data[0] >> 4;
  if (version === 4) return parseIPv4(data);
  if (version === 6) return parseIPv6(data);
  return undefined;
}

function parseIPv4(data: Buffer): InnerPacket | string {
  if (data.length < IPV4_HEADER_LENGTH) return `inner IPv4 header is truncated (${data.length} bytes, at least ${IPV4_HEADER_LENGTH} needed)`;
  const headerLength = (data[0] & 0x0f) * 4;
  const totalLength = data.readUInt16BE(2);
  if (headerLength < IPV4_HEADER_LENGTH) return `inner IPv4 header length ${headerLength} is below ${IPV4_HEADER_LENGTH} (IHL < 5)`;
  if (totalLength < headerLength || totalLength > data.length) {
    return `inner IPv4 total length ${totalLength} is outside ${headerLength}..${data.length} (header length..bytes received)`;
  }
  const protocol = data[9];
  const fragment = (data.readUInt16BE(6) & 0x3fff) !== 0;
  const packet = data.subarray(0, totalLength);
  const sourceAddress = formatIPv4(data, 12);
  const destinationAddress = formatIPv4(data, 16);
  return upperLayer(4, protocol, fragment, packet, headerLength, sourceAddress, destinationAddress);
}

// IPv6 extension headers that are skipped to reach the upper-layer protocol.
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const DESTINATION_OPTIONS = 60;
/** Fragment offset (13 bits) and M flag in the third and fourth bytes of a fragment header. */
const FRAGMENT_OFFSET_AND_MORE = 0xfff9;

function parseIPv6(data: Buffer): InnerPacket | string {
  if (data.length < IPV6_HEADER_LENGTH) return `inner IPv6 header is truncated (${data.length} bytes, at least ${IPV6_HEADER_LENGTH} needed)`;
  const totalLength = IPV6_HEADER_LENGTH + data.readUInt16BE(4);
  if (totalLength > data.length) return `inner IPv6 payload length ${totalLength - IPV6_HEADER_LENGTH} exceeds the ${data.length - IPV6_HEADER_LENGTH} bytes received after the header`;
  const packet = data.subarray(0, totalLength);
  let next = data[6];
  let offset = IPV6_HEADER_LENGTH;
  let fragment = false;
  while (next === HOP_BY_HOP || next === ROUTING || next === DESTINATION_OPTIONS || next === FRAGMENT) {
    if (offset + 8 > totalLength) return `inner IPv6 extension header ${next} is truncated`;
    if (next === FRAGMENT) {
      // Offset 0 and no More Fragments: an atomic fragment (RFC 6946), a whole packet whose
      // headers go on after this one; any other fragment ends the walk.
      const atomic = (packet.readUInt16BE(offset + 2) & FRAGMENT_OFFSET_AND_MORE) === 0;
      next = packet[offset];
      offset += 8;
      if (atomic) continue;
      fragment = true;
      break;
    }
    const length = (packet[offset + 1] + 1) * 8;
    next = packet[offset];
    offset += length;
  }
  if (offset > totalLength) return 'inner IPv6 extension headers exceed the packet';
  return upperLayer(6, next, fragment, packet, offset, formatIPv6(data, 8), formatIPv6(data, 24));
}

function upperLayer(
  version: 4 | 6,
  protocol: number,
  fragment: boolean,
  packet: Buffer,
  offset: number,
  sourceAddress: string,
  destinationAddress: string,
): InnerPacket | string {
  if (protocol !== PROTOCOL_UDP || fragment) {
    const payload = packet.subarray(offset);
    return { version, protocol, sourceAddress, destinationAddress, sourcePort: 0, destinationPort: 0, fragment, packet, payload };
  }
  const available = packet.length - offset;
  if (available < UDP_HEADER_LENGTH) return `inner UDP header is truncated (${available} bytes after the IP header)`;
  const udpLength = packet.readUInt16BE(offset + 4);
  if (udpLength < UDP_HEADER_LENGTH || udpLength > available) {
    return `inner UDP length ${udpLength} does not fit the ${available} bytes after the IP header`;
  }
  return {
    version,
    protocol,
    sourceAddress,
    destinationAddress,
    sourcePort: packet.readUInt16BE(offset),
    destinationPort: packet.readUInt16BE(offset + 2),
    fragment,
    packet,
    payload: packet.subarray(offset + UDP_HEADER_LENGTH, offset + udpLength),
  };
}

/** Bytes from which {@link addWords} sums 32-bit words rather than bytes. */
const WORD_SUM_MIN_BYTES = 64;
/** Byte order of typed-array words on this machine. */
const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * 32-bit word views of the memory summed, per ArrayBuffer: the device builds every inner packet in
 * the same scratch buffer and receives into a few pooled ones, so a view is made once per buffer,
 * not per packet. Weakly held: a buffer that is gone takes its view with it.
 */
const wordViews = new WeakMap<ArrayBufferLike, Uint32Array>();

function wordsOf(buffer: ArrayBufferLike): Uint32Array {
  let view = wordViews.get(buffer);
  if (view === undefined) {
    view = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    wordViews.set(buffer, view);
  }
  return view;
}

/** Adds the big-endian 16-bit words of `data[start, end)` to `sum` (odd tail padded with zero). */
function addWords(data: Uint8Array, start: number, end: number, sum: number): number {
  if (end - start >= WORD_SUM_MIN_BYTES && (data.byteOffset + start) % 4 === 0) return addAlignedWords(data, start, end, sum);
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < end) sum += data[i] << 8;
  return sum;
}

/**
 * {@link addWords} for a long run from a 4-byte-aligned start (the inner packets the device
 * builds start at offset 0 of its scratch buffer): the bulk is summed as native 32-bit words, two
 * 16-bit words per load. The one's complement sum does not depend on byte order (RFC 1071
 * §2(B)), so a little-endian sum, folded to 16 bits and byte-swapped, adds the same as the
 * big-endian words one by one.
 */
function addAlignedWords(data: Uint8Array, start: number, end: number, sum: number): number {
  const count = (end - start) >>> 2;
  const words = wordsOf(data.buffer);
  const first = (data.byteOffset + start) >>> 2;
  const stop = first + count;
  // at most 2^14 words below 2^32 each: exact in a double
  let native = 0;
  for (let k = first; k < stop; k++) native += words[k];
  while (native > 0xffff) native = (native & 0xffff) + Math.floor(native / 0x10000);
  sum += NATIVE_LITTLE_ENDIAN ? ((native & 0xff) << 8) | (native >>> 8) : native;
  let i = start + count * 4;
  for (; i + 1 < end; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < end) sum += data[i] << 8;
  return sum;
}

function foldComplement(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The Internet checksum (RFC 1071) of `data[start, end)`. */
export function internetChecksum(data: Uint8Array, start = 0, end = data.length): number {
  return foldComplement(addWords(data, start, end, 0));
}

function udpSum(source: Uint8Array, destination: Uint8Array, udp: Uint8Array, start: number, end: number): number {
  const length = end - start;
  let sum = addWords(source, 0, source.length, 0);
  sum = addWords(destination, 0, destination.length, sum);
  sum += PROTOCOL_UDP + (length & 0xffff) + Math.floor(length / 0x10000);
  return addWords(udp, start, end, sum);
}

/**
 * The UDP checksum of the UDP datagram at `udp[start, end)` (its checksum field zero) with the
 * pseudo-header of `source` and `destination` (4 or 16 bytes each). A computed 0 is returned as
 * 0xffff (RFC 768).
 */
export function udpChecksum(source: Uint8Array, destination: Uint8Array, udp: Uint8Array, start: number, end: number): number {
  const checksum = foldComplement(udpSum(source, destination, udp, start, end));
  return checksum === 0 ? 0xffff : checksum;
}

/**
 * True when the UDP datagram at `udp[start, end)`, checksum field included, verifies against the
 * pseudo-header. A zero checksum field means "none" over IPv4 and is accepted there only.
 */
export function udpChecksumValid(source: Uint8Array, destination: Uint8Array, udp: Uint8Array, start: number, end: number): boolean {
  if (udp[start + 6] === 0 && udp[start + 7] === 0) return source.length === 4;
  return foldComplement(udpSum(source, destination, udp, start, end)) === 0;
}

/** Addressing of an IP/UDP packet to build; addresses as 4 or 16 bytes of the same family. */
export interface UdpPacketAddressing {
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

/** Bytes an IP/UDP packet of `payloadLength` takes. */
export function udpPacketLength(version: 4 | 6, payloadLength: number): number {
  return (version === 4 ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH) + UDP_HEADER_LENGTH + payloadLength;
}

/**
 * Writes an IPv4 or IPv6 packet carrying a UDP datagram into `out` at `offset` and returns its
 * length. The family follows the address length (4 or 16). IPv4 packets carry DF and id 0
 * (RFC 6864: atomic datagrams); TTL / hop limit 64; both checksums are computed.
 */
export function writeUdpPacket(out: Buffer, offset: number, addressing: UdpPacketAddressing, payload: Uint8Array): number {
  const { source, destination } = addressing;
  const udpLength = UDP_HEADER_LENGTH + payload.length;
  let udpStart: number;
  if (source.length === 4) {
    const totalLength = IPV4_HEADER_LENGTH + udpLength;
    out[offset] = 0x45;
    out[offset + 1] = 0;
    out.writeUInt16BE(totalLength, offset + 2);
    out.writeUInt16BE(0, offset + 4);
    out.writeUInt16BE(0x4000, offset + 6);
    out[offset + 8] = DEFAULT_HOP_LIMIT;
    out[offset + 9] = PROTOCOL_UDP;
    out.writeUInt16BE(0, offset + 10);
    out.set(source, offset + 12);
    out.set(destination, offset + 16);
    out.writeUInt16BE(internetChecksum(out, offset, offset + IPV4_HEADER_LENGTH), offset + 10);
    udpStart = offset + IPV4_HEADER_LENGTH;
  } else {
    out.writeUInt32BE(0x60000000, offset);
    out.writeUInt16BE(udpLength, offset + 4);
    out[offset + 6] = PROTOCOL_UDP;
    out[offset + 7] = DEFAULT_HOP_LIMIT;
    out.set(source, offset + 8);
    out.set(destination, offset + 24);
    udpStart = offset + IPV6_HEADER_LENGTH;
  }
  out.writeUInt16BE(addressing.sourcePort, udpStart);
  out.writeUInt16BE(addressing.destinationPort, udpStart + 2);
  out.writeUInt16BE(udpLength, udpStart + 4);
  out.writeUInt16BE(0, udpStart + 6);
  out.set(payload, udpStart + UDP_HEADER_LENGTH);
  out.writeUInt16BE(udpChecksum(source, destination, out, udpStart, udpStart + udpLength), udpStart + 6);
  return udpStart + udpLength - offset;
}
