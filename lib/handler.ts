/**
 * Types of the JSON a handler exchanges with the gateway (docs/DESIGN.md "Wire contracts"):
 * the inbound packet and its batch, the replies a request/response destination returns, and the
 * sourced message published to a PacketSource topic. The data plane builds and reads these same
 * types.
 *
 * Import them as `import type { Packet, Replies } from 'cdk-packet-gateway/handler'`. This module
 * holds types only (no runtime code, no aws-cdk-lib) and is not part of the jsii API: its field
 * names are the wire contract's PascalCase names, which jsii does not allow on structs.
 */
import type { FormatterName, ListenerProtocolName } from './private/records';

export type { FormatterName, ListenerProtocolName };

/** Addressing of the IP/UDP packet inside a WireGuard tunnel (`Inner`). */
export interface InnerAddressing {
  readonly SourceAddress: string;
  readonly SourcePort: number;
  readonly DestinationAddress: string;
  readonly DestinationPort: number;
  readonly Version: 4 | 6;
  /** IP protocol number (17: UDP). */
  readonly Protocol: number;
}

/** The client that sent a datagram. */
export interface PacketRemote {
  readonly IpAddress: string;
  readonly Port: number;
  /** WireGuard peer public key, base64 (WireGuard Listeners only). */
  readonly PeerKey?: string;
}

/** The Listener that received a datagram. */
export interface PacketLocal {
  /** The Listener's host label. */
  readonly Domain: string;
  readonly Port: number;
  readonly IpAddress: string;
  readonly Protocol: ListenerProtocolName;
}

/**
 * One received datagram, as a destination receives it (`Inbound packet`). Write-only destinations
 * (SQS) get one Packet per message; request/response destinations get a {@link PacketBatch}.
 */
export interface Packet {
  /** Opaque, unforgeable and expiring: a {@link Reply} with this Tag goes back to `Remote`. */
  readonly Tag: string;
  readonly Remote: PacketRemote;
  readonly Local: PacketLocal;
  /** ISO 8601 with milliseconds, UTC. */
  readonly ReceivedAt: string;
  readonly IngressRegion: string;
  /** How `Data` is encoded (the destination's Formatter). */
  readonly Formatter: FormatterName;
  /** Inner addressing (WireGuard Listeners with DecapsulatedDelivery only). */
  readonly Inner?: InnerAddressing;
  /** The payload, encoded by `Formatter`. */
  readonly Data: string;
}

/** One CoAP option in a `coap` Formatter object. */
export interface CoapOption {
  readonly Number: number;
  /** The option's bytes, base64 (empty for a zero-length value). Outbound, a missing Value is empty. */
  readonly Value?: string;
}

/**
 * A CoAP message (RFC 7252) as the `coap` Formatter delivers it: `JSON.parse(packet.Data)` for a
 * Packet whose Formatter is `coap`.
 */
export interface CoapMessage {
  /** Always 1. */
  readonly Version: number;
  /** 0 Confirmable, 1 Non-confirmable, 2 Acknowledgement, 3 Reset. */
  readonly Type: 0 | 1 | 2 | 3;
  /** The code byte: class × 32 + detail (1 = 0.01 GET, 69 = 2.05 Content). */
  readonly Code: number;
  readonly MessageId: number;
  /** The token (0–8 bytes), base64. */
  readonly Token: string;
  /** GET, POST, PUT, DELETE, FETCH, PATCH or iPATCH (`0.dd` for other request codes); requests only. */
  readonly Method?: string;
  /** `/` and the Uri-Path segments joined with `/`; requests only. */
  readonly Path?: string;
  /** In wire order, Uri-Path included. */
  readonly Options: readonly CoapOption[];
  /** The payload, base64; absent when there is none. */
  readonly Payload?: string;
}

/**
 * A CoAP message to send with the `coap` Formatter: `JSON.stringify` it into a Reply's or sourced
 * entry's `Data`. Options are sent in ascending `Number` order.
 */
export interface CoapMessageToSend {
  /** Only 1. @default 1 */
  readonly Version?: 1;
  readonly Type: 0 | 1 | 2 | 3;
  /** The code byte or `"c.dd"` text such as `"2.05"`. @default - from Method */
  readonly Code?: number | string;
  readonly MessageId: number;
  /** base64, 0–8 bytes. @default - no token */
  readonly Token?: string;
  /** A request method, in place of Code. */
  readonly Method?: string;
  /** Uri-Path options, when Options holds none. */
  readonly Path?: string;
  readonly Options?: readonly CoapOption[];
  /** base64. @default - no payload */
  readonly Payload?: string;
}

/** The event of a request/response destination (Lambda, local handler): `{"Messages":[…]}`. */
export interface PacketBatch {
  readonly Messages: readonly Packet[];
}

/** One reply to a received Packet. */
export interface Reply {
  /** The `Tag` of the Packet being answered. */
  readonly Tag: string;
  /** The payload, encoded by the destination's Formatter (the Packet's `Formatter`). */
  readonly Data: string;
  /** ISO 8601; informational. */
  readonly GeneratedAt?: string;
}

/**
 * The response of a request/response destination. A null entry, an empty array, a missing
 * `Replies` or no response at all mean "no reply".
 */
export interface Replies {
  readonly Replies?: ReadonlyArray<Reply | null>;
}

/** A handler of a request/response destination: Lambda function or local handler. */
export type PacketHandler = (event: PacketBatch) => Replies | void | Promise<Replies | void>;

/** Fields of a sourced packet's `Remote` other than its address. */
interface SourcedRemoteEndpoint {
  readonly Port: number;
  /** WireGuard Listeners: the peer to encrypt for, base64. */
  readonly PeerKey?: string;
}

/**
 * Where a sourced packet goes: `Address` (IPv4 or IPv6), or its synonym `IP` (Proxylity's first
 * published format). When both are given, `Address` is used.
 */
export type SourcedRemote = SourcedRemoteEndpoint & (
  | { readonly Address: string; readonly IP?: string }
  | { readonly IP: string; readonly Address?: undefined }
);

/**
 * Inner addressing of a sourced packet for a WireGuard Listener with DecapsulatedDelivery: the
 * gateway builds the inner IPv4/IPv6 UDP packet from it. `Version` follows from the addresses.
 */
export interface SourcedInner {
  readonly SourceAddress: string;
  readonly SourcePort: number;
  readonly DestinationAddress: string;
  readonly DestinationPort: number;
  /** Must match the addresses when given. @default - the addresses' IP version */
  readonly Version?: 4 | 6;
  /** Only UDP is built. @default 17 */
  readonly Protocol?: 17;
}

/** One datagram to send from the PacketSource's Listener. */
export interface SourcedEntry {
  /** The payload, encoded by `Formatter`. */
  readonly Data: string;
  readonly Remote: SourcedRemote;
  /** How `Data` is encoded. @default base64 */
  readonly Formatter?: FormatterName;
  /** WireGuard Listeners with DecapsulatedDelivery: inner addressing of the packet to build. */
  readonly Inner?: SourcedInner;
  /** Dropped as `Expired` when not sent within this many seconds of publishing. @default - no limit */
  readonly TtlSeconds?: number;
}

/** The body of a message published to a PacketSource topic: several entries. */
export interface SourcedBatch {
  readonly Messages: readonly SourcedEntry[];
}

/**
 * The body of a message published to a PacketSource topic (`Sourced packet`): a batch, or a
 * single entry without the array (Proxylity's first published format).
 */
export type SourcedMessage = SourcedBatch | SourcedEntry;
