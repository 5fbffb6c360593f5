/**
 * Inner addressing of one device: what is inside the tunnel. Received plaintext is checked against
 * the peer's AllowedIPs and, with decapsulated delivery, opened down to its UDP payload and `Inner`
 * addressing; payloads to send are framed as inner IPv4/IPv6 UDP packets whose addresses come
 * from `Inner`, the peer's newest inbound UDP packet, or the tunnel defaults.
 *
 * No I/O and no per-packet allocation besides the `Inner` object of a delivered packet: framed
 * packets are written into the caller's buffer, parsed inner addresses are cached.
 */
import type { Failure, FailureCode, InnerAddressing } from '../contracts';
import { parseInnerPacket, PROTOCOL_UDP, UdpPacketAddressing, udpPacketLength, writeUdpPacket } from './inner-packet';
import { MAX_DATAGRAM_LENGTH, TRANSPORT_MIN_LENGTH } from './messages';
import type { Peer } from './peer';
import { inIntegerRange, PORT } from '../../lib/private/limits';
import { formatIpAddress, parseIpAddress } from '../../lib/private/network';

/** Largest inner packet (plaintext) that still fits one outer datagram. */
export const MAX_INNER_PACKET_LENGTH = MAX_DATAGRAM_LENGTH - TRANSPORT_MIN_LENGTH;

/** Parsed inner addresses kept per device (emptied when full). */
const INNER_ADDRESS_CACHE_SIZE = 1024;

/** An inner address as bytes and as canonical text. */
interface InnerAddress {
  readonly bytes: Buffer;
  readonly text: string;
}

/** Settings of an {@link InnerPacketFramer}. */
export interface InnerPacketFramerOptions {
  /** Deliver the inner UDP payload with its `Inner` addressing (true), or the whole inner IP packet (false). */
  readonly decapsulated: boolean;
  /** The gateway's own inner addresses (at most one IPv4 and one IPv6). */
  readonly tunnelAddresses: readonly string[];
  /** Inner UDP port used on both ends when neither `Inner` nor an earlier packet says otherwise. */
  readonly tunnelPort: number;
}

/** Frames payloads to send as inner packets and opens received inner packets for delivery. */
export class InnerPacketFramer {
  /** After {@link open} accepted a packet: the data to deliver. */
  payload: Buffer = Buffer.alloc(0);
  /** After {@link open} accepted a packet: its addressing, or undefined when delivered as it is. */
  inner: InnerAddressing | undefined;

  private readonly decapsulated: boolean;
  private readonly tunnelPort: number;
  private tunnelAddress4: Buffer | undefined;
  private tunnelAddress6: Buffer | undefined;
  /** Inner addresses of sends, parsed once: senders repeat the same few addresses packet after packet. */
  private readonly innerAddresses = new Map<string, InnerAddress | undefined>();

  constructor(options: InnerPacketFramerOptions) {
    this.decapsulated = options.decapsulated;
    this.tunnelPort = options.tunnelPort;
    this.setTunnelAddresses(options.tunnelAddresses);
  }

  /** Sets the gateway's own inner addresses (one IPv4 and/or one IPv6). Throws on a bad address. */
  setTunnelAddresses(addresses: readonly string[]): void {
    let v4: Buffer | undefined;
    let v6: Buffer | undefined;
    for (const address of addresses) {
      const bytes = typeof address === 'string' ? parseIpAddress(address) : undefined;
      if (!bytes) throw new Error(`TunnelAddresses: '${String(address)}' is not an IPv4 or IPv6 address`);
      if (bytes.length === 4) v4 = v4 ?? bytes;
      else v6 = v6 ?? bytes;
    }
    this.tunnelAddress4 = v4;
    this.tunnelAddress6 = v6;
  }

  // ---------------------------------------------------------------- receive

  /**
   * Checks and opens the authenticated plaintext `peer` sent. Undefined when it is to be
   * delivered ({@link payload} and {@link inner} say what), or why it is dropped. Remembers the
   * addressing of the peer's newest UDP packet (or that it sent raw data) for replies.
   */
  open(peer: Peer, plaintext: Buffer): Failure | undefined {
    const packet = parseInnerPacket(plaintext);
    if (typeof packet === 'string') return failure('InvalidData', packet);
    if (!packet) {
      peer.lastInner = null;
      return this.accept(plaintext, undefined);
    }
    if (!peer.allowedIps.contains(packet.sourceAddress, packet.version)) {
      return failure('AllowedIpsViolation', `inner source ${packet.sourceAddress} is not in the AllowedIPs of peer ${peer.publicKey}`);
    }
    if (!this.decapsulated) return this.accept(packet.packet, undefined);
    if (packet.fragment) {
      return failure('InvalidData', `inner IPv${packet.version} packet from ${packet.sourceAddress} is a fragment; fragments are not reassembled`);
    }
    const inner: InnerAddressing = {
      SourceAddress: packet.sourceAddress,
      SourcePort: packet.sourcePort,
      DestinationAddress: packet.destinationAddress,
      DestinationPort: packet.destinationPort,
      Version: packet.version,
      Protocol: packet.protocol,
    };
    if (packet.protocol === PROTOCOL_UDP) peer.lastInner = inner;
    return this.accept(packet.payload, inner);
  }

  private accept(payload: Buffer, inner: InnerAddressing | undefined): undefined {
    this.payload = payload;
    this.inner = inner;
    return undefined;
  }

  // ---------------------------------------------------------------- send

  /**
   * Writes the plaintext to send to `peer` into `into` (which holds {@link MAX_INNER_PACKET_LENGTH}
   * bytes at least): an inner UDP packet carrying `payload`, or `payload` as it is without
   * decapsulated delivery or for a peer that last sent raw data (unless `inner` is given). Returns
   * its length, or why it cannot be built.
   */
  frame(peer: Peer, payload: Buffer, inner: Partial<InnerAddressing> | undefined, into: Buffer): number | Failure {
    const raw = !this.decapsulated || (inner === undefined && peer.lastInner === null);
    if (raw) {
      if (payload.length > MAX_INNER_PACKET_LENGTH) return failure('PayloadTooLarge', `payload of ${payload.length} bytes exceeds ${MAX_INNER_PACKET_LENGTH} (one WireGuard datagram)`);
      const packet = parseInnerPacket(payload);
      if (typeof packet === 'string') return failure('InvalidData', `payload starts like an IP packet but is not one: ${packet}`);
      if (packet && !peer.allowedIps.contains(packet.destinationAddress, packet.version)) {
        return failure('AllowedIpsViolation', `inner destination ${packet.destinationAddress} is not in the AllowedIPs of peer ${peer.publicKey}`);
      }
      payload.copy(into, 0);
      return payload.length;
    }
    const addressing = this.resolve(peer, inner ?? {});
    if ('code' in addressing) return addressing;
    const length = udpPacketLength(addressing.source.length === 4 ? 4 : 6, payload.length);
    if (length > MAX_INNER_PACKET_LENGTH) {
      return failure('PayloadTooLarge', `payload of ${payload.length} bytes makes an inner packet of ${length} bytes, above ${MAX_INNER_PACKET_LENGTH}`);
    }
    return writeUdpPacket(into, 0, addressing, payload);
  }

  /**
   * Addresses of an inner UDP packet to `peer`, field by field from `inner`, else answering the
   * peer's newest inbound UDP packet (its destination becomes the source and vice versa), else the
   * tunnel defaults (tunnel addresses and port, the peer's single-host AllowedIPs entry).
   */
  private resolve(peer: Peer, inner: Partial<InnerAddressing>): UdpPacketAddressing | Failure {
    const last = peer.lastInner ?? undefined;
    if (inner.Protocol !== undefined && inner.Protocol !== PROTOCOL_UDP) {
      return failure('InvalidMessage', `Inner.Protocol ${String(inner.Protocol)} cannot be built (allowed: 17, UDP)`);
    }
    const destinationText = inner.DestinationAddress ?? last?.SourceAddress ?? peer.allowedIps.hostAddress(inner.Version);
    if (destinationText === undefined) {
      return failure('InvalidAddress', `no inner destination for peer ${peer.publicKey}: give Inner.DestinationAddress (the peer has sent no UDP packet yet and its AllowedIPs name no single host)`);
    }
    const parsed = typeof destinationText === 'string' ? this.innerAddress(destinationText) : undefined;
    const destination = parsed?.bytes;
    if (!parsed || !destination) return failure('InvalidAddress', `Inner.DestinationAddress '${String(destinationText)}' is not an IPv4 or IPv6 address`);
    const version = destination.length === 4 ? 4 : 6;
    if (inner.Version !== undefined && inner.Version !== version) {
      return failure('InvalidAddress', `Inner.Version ${String(inner.Version)} does not match the IPv${version} destination ${destinationText}`);
    }
    const sourceText = inner.SourceAddress ?? (last && last.Version === version ? last.DestinationAddress : undefined);
    let source: Buffer | undefined;
    if (sourceText !== undefined) {
      source = typeof sourceText === 'string' ? this.innerAddress(sourceText)?.bytes : undefined;
      if (!source || source.length !== destination.length) {
        return failure('InvalidAddress', `Inner.SourceAddress '${String(sourceText)}' is not an IPv${version} address like the destination`);
      }
    } else {
      source = version === 4 ? this.tunnelAddress4 : this.tunnelAddress6;
      if (!source) return failure('InvalidAddress', `no inner IPv${version} source address: give Inner.SourceAddress or configure an IPv${version} TunnelAddress`);
    }
    if (!peer.allowedIps.contains(parsed.text, version)) {
      return failure('AllowedIpsViolation', `inner destination ${parsed.text} is not in the AllowedIPs of peer ${peer.publicKey}`);
    }
    const destinationPort = inner.DestinationPort ?? last?.SourcePort ?? this.tunnelPort;
    const sourcePort = inner.SourcePort ?? last?.DestinationPort ?? this.tunnelPort;
    if (!isPort(destinationPort)) return failure('InvalidPort', `Inner.DestinationPort ${String(destinationPort)} is not a port (allowed: ${PORT.allowed})`);
    if (!isPort(sourcePort)) return failure('InvalidPort', `Inner.SourcePort ${String(sourcePort)} is not a port (allowed: ${PORT.allowed})`);
    return { source, destination, sourcePort, destinationPort };
  }

  /** `text` parsed as an IP address, with its canonical text (cached, bounded; the bytes are only ever copied from). */
  private innerAddress(text: string): InnerAddress | undefined {
    let address = this.innerAddresses.get(text);
    if (address === undefined && !this.innerAddresses.has(text)) {
      const bytes = parseIpAddress(text);
      address = bytes === undefined ? undefined : { bytes, text: formatIpAddress(bytes) };
      if (this.innerAddresses.size >= INNER_ADDRESS_CACHE_SIZE) this.innerAddresses.clear();
      this.innerAddresses.set(text, address);
    }
    return address;
  }
}

function failure(code: FailureCode, reason: string): Failure {
  return { code, reason };
}

/** True for an integer port number (limits.ts `PORT`). */
export function isPort(value: unknown): value is number {
  return inIntegerRange(value, PORT);
}
