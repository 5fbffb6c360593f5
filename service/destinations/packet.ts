/**
 * The inbound packet (DESIGN.md "Inbound packet"): the JSON a destination receives for each
 * datagram, typed by `Packet` of lib/handler.ts. Field names and order are the wire contract.
 */
import type { PacketLocal } from '../../lib/handler';
import type { FormatterName } from '../../lib/private/records';
import type { Failure, InboundDatagram } from '../contracts';
import { encodeData } from '../formatter';

export type { Packet as InboundPacket, PacketLocal, PacketRemote } from '../../lib/handler';

/** A packet serialized once for a destination Formatter, as it waits in a batch. */
export interface QueuedPacket {
  /** The packet's JSON text. */
  readonly json: string;
  /** UTF-8 length of `json`. */
  readonly bytes: number;
  /** Length of the datagram's payload before encoding (a destination's `BytesIn`). @default - unknown, counted as 0 */
  readonly dataBytes?: number;
  readonly tag: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The packet's `Data`: the payload in the destination's Formatter (sent alone by raw deliveries). */
  readonly data: string;
  /** When the datagram arrived, epoch milliseconds (`ReceivedAt`). */
  readonly receivedAt: number;
  /** The destination's key of this packet ({@link Destination.packetKey}), set when it is queued for a destination that has one. */
  readonly key?: string;
}

let isoAt = Number.NaN;
let isoText = '';

/** `new Date(ms).toISOString()`, computed once per distinct millisecond (datagrams arrive in runs). */
export function isoTime(ms: number): string {
  if (ms !== isoAt) {
    isoText = new Date(ms).toISOString();
    isoAt = ms;
  }
  return isoText;
}

/**
 * The parts of a packet's JSON that are the same for every packet of a Listener and destination
 * Formatter, serialized once (see {@link queueDatagram}).
 */
export interface PacketTemplate {
  readonly formatter: FormatterName;
  /** The fixed fields are ASCII (a region or address from the environment might not be). */
  readonly ascii: boolean;
  /** `","Local":{…},"ReceivedAt":"` is split around the receive time; these are the pieces. */
  readonly afterRemote: string;
  readonly afterReceivedAt: string;
}

/** Serializes the fixed fields of a Listener's packets once. */
export function packetTemplate(local: PacketLocal, region: string, formatter: FormatterName): PacketTemplate {
  const afterRemote = '},"Local":' + JSON.stringify(local) + ',"ReceivedAt":"';
  const afterReceivedAt = '","IngressRegion":' + JSON.stringify(region) + ',"Formatter":' + JSON.stringify(formatter);
  return { formatter, ascii: isAscii(afterRemote) && isAscii(afterReceivedAt), afterRemote, afterReceivedAt };
}

function isAscii(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') === text.length;
}

/**
 * Serializes the packet of one datagram for batching: the same text as `JSON.stringify` of the
 * `Packet` object (fields in contract order), built from the template and the datagram's own fields. The
 * tag (base64url), remote address (IP text from the socket), peer key (base64), receive time and
 * base64/hex Data need no escaping; utf8/ascii Data, Inner and an IPv6 address with a zone
 * (`fe80::1%<interface>`, whose interface name may hold any character) go through JSON.stringify.
 * A payload the Formatter cannot represent exactly (see {@link encodeData}) gives its
 * `InvalidData` failure instead.
 */
export function queueDatagram(datagram: InboundDatagram, tag: string, template: PacketTemplate): QueuedPacket | Failure {
  const formatter = template.formatter;
  const data = encodeData(datagram.data, formatter);
  if (typeof data !== 'string') return data;
  const zoned = datagram.remoteAddress.includes('%');
  const address = zoned ? JSON.stringify(datagram.remoteAddress) : '"' + datagram.remoteAddress + '"';
  let json = '{"Tag":"' + tag + '","Remote":{"IpAddress":' + address + ',"Port":' + datagram.remotePort;
  if (datagram.peerKey !== undefined) json += ',"PeerKey":"' + datagram.peerKey + '"';
  json += template.afterRemote + isoTime(datagram.receivedAt) + template.afterReceivedAt;
  if (datagram.inner !== undefined) json += ',"Inner":' + JSON.stringify(datagram.inner);
  json += formatter === 'base64' || formatter === 'hex' ? ',"Data":"' + data + '"}' : ',"Data":' + JSON.stringify(data) + '}';
  return {
    json,
    bytes: formatter === 'utf8' || zoned || !template.ascii ? Buffer.byteLength(json) : json.length,
    dataBytes: datagram.data.length,
    tag,
    remoteAddress: datagram.remoteAddress,
    remotePort: datagram.remotePort,
    data,
    receivedAt: datagram.receivedAt,
  };
}

/** True when {@link queueDatagram} gave a packet rather than a failure. */
export function isQueuedPacket(value: QueuedPacket | Failure): value is QueuedPacket {
  return (value as QueuedPacket).json !== undefined;
}

/** `{"Messages":[…]}` for a batch, built from the packets' JSON without re-serializing them. */
export function messagesPayload(batch: readonly QueuedPacket[]): string {
  let out = '{"Messages":[';
  for (let i = 0; i < batch.length; i++) {
    if (i > 0) out += ',';
    out += batch[i].json;
  }
  return out + ']}';
}

/**
 * Average packet JSON length (bytes) up to which a batch is joined into one text and copied once:
 * for short packets one copy beats a `write` call per packet (≈ 0.15 µs per 64 B packet); for
 * longer ones writing each packet is cheaper than copying the joined text (bench/OPTIMIZATIONS.md).
 */
const JOIN_UP_TO_AVERAGE_BYTES = 512;

/**
 * `messagesPayload(batch)` as UTF-8 bytes. When every packet's JSON is ASCII (every Formatter but
 * utf8 guarantees it), short packets are joined and copied at once, longer ones copied into one
 * buffer one by one, without building and re-encoding the joined text.
 */
export function messagesPayloadBuffer(batch: readonly QueuedPacket[]): Buffer {
  let total = messagesOverheadBytes(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const packet = batch[i];
    if (packet.bytes !== packet.json.length) return Buffer.from(messagesPayload(batch), 'utf8');
    total += packet.bytes;
  }
  if (total <= batch.length * JOIN_UP_TO_AVERAGE_BYTES) return Buffer.from(messagesPayload(batch), 'latin1');
  const buf = Buffer.allocUnsafe(total);
  let o = buf.write('{"Messages":[', 0, 'latin1');
  for (let i = 0; i < batch.length; i++) {
    if (i > 0) buf[o++] = COMMA;
    o += buf.write(batch[i].json, o, 'latin1');
  }
  o += buf.write(']}', o, 'latin1');
  return o === total ? buf : buf.subarray(0, o);
}

const COMMA = 0x2c;

/** Bytes `messagesPayload` adds around the packets of a batch of `count` packets. */
export function messagesOverheadBytes(count: number): number {
  return 15 + Math.max(0, count - 1);
}
