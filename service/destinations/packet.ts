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
 * Formatter, serialized once (see {@link queueDatagram}), and the text of the last client and
 * receive millisecond it served: datagrams arrive in runs from one client within one millisecond,
 * so most packets reuse both and their JSON is a handful of concatenations.
 */
export class PacketTemplate {
  /** The fixed fields are ASCII (a region or address from the environment might not be). */
  public readonly ascii: boolean;
  /**
   * `Data` may hold characters beyond ASCII (utf8 text; coap, whose Uri-Path is UTF-8): a packet's
   * UTF-8 length is counted rather than taken from its text's length.
   */
  public readonly wideData: boolean;
  /** `Data` is base64 or hex text, written without escaping. */
  private readonly plainData: boolean;
  private remoteAddress = '';
  private remotePort = -1;
  private remotePeerKey?: string;
  private zoned = false;
  /** `","Remote":{…},"Local":{…},"ReceivedAt":"` of the last client. */
  private remoteText = '';
  private receivedAt = Number.NaN;
  /** `<ReceivedAt>","IngressRegion":…,"Formatter":…` of the last receive millisecond. */
  private receivedText = '';
  /** The same followed by `,"Data":"` (base64 and hex Data, no Inner). */
  private receivedDataText = '';

  /**
   * @param afterRemote `},"Local":{…},"ReceivedAt":"`, the text between the client and the receive time
   * @param afterReceivedAt `","IngressRegion":…,"Formatter":…`, the text after the receive time
   */
  public constructor(
    public readonly formatter: FormatterName,
    public readonly afterRemote: string,
    public readonly afterReceivedAt: string,
  ) {
    this.ascii = isAscii(afterRemote) && isAscii(afterReceivedAt);
    this.plainData = formatter === 'base64' || formatter === 'hex';
    this.wideData = formatter === 'utf8' || formatter === 'coap';
  }

  /** The last client's address has a zone (`fe80::1%eth0`): its text is escaped, and the packet's UTF-8 length counted. */
  public get remoteZoned(): boolean {
    return this.zoned;
  }

  /** `","Remote":{…}` (address escaped when it has a zone, see {@link remoteZoned}) up to the opening quote of `ReceivedAt`. */
  public remote(address: string, port: number, peerKey: string | undefined): string {
    if (port !== this.remotePort || address !== this.remoteAddress || peerKey !== this.remotePeerKey) {
      const zoned = address.includes('%');
      this.zoned = zoned;
      let text = '","Remote":{"IpAddress":' + (zoned ? JSON.stringify(address) : '"' + address + '"') + ',"Port":' + port;
      if (peerKey !== undefined) text += ',"PeerKey":"' + peerKey + '"';
      this.remoteText = text + this.afterRemote;
      this.remoteAddress = address;
      this.remotePort = port;
      this.remotePeerKey = peerKey;
    }
    return this.remoteText;
  }

  /** The receive time and the fields after it, up to `Formatter`; with `data`, also `,"Data":"` (base64 and hex only). */
  public received(receivedAt: number, data: boolean): string {
    if (receivedAt !== this.receivedAt) {
      this.receivedText = isoTime(receivedAt) + this.afterReceivedAt;
      this.receivedDataText = this.receivedText + ',"Data":"';
      this.receivedAt = receivedAt;
    }
    return data && this.plainData ? this.receivedDataText : this.receivedText;
  }
}

/** Serializes the fixed fields of a Listener's packets once. */
export function packetTemplate(local: PacketLocal, region: string, formatter: FormatterName): PacketTemplate {
  const afterRemote = '},"Local":' + JSON.stringify(local) + ',"ReceivedAt":"';
  const afterReceivedAt = '","IngressRegion":' + JSON.stringify(region) + ',"Formatter":' + JSON.stringify(formatter);
  return new PacketTemplate(formatter, afterRemote, afterReceivedAt);
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
  const head = '{"Tag":"' + tag + template.remote(datagram.remoteAddress, datagram.remotePort, datagram.peerKey);
  let json: string;
  if (formatter !== 'base64' && formatter !== 'hex') {
    json = head + template.received(datagram.receivedAt, false) + (datagram.inner !== undefined ? ',"Inner":' + JSON.stringify(datagram.inner) : '')
      + ',"Data":' + JSON.stringify(data) + '}';
  } else if (datagram.inner !== undefined) {
    json = head + template.received(datagram.receivedAt, false) + ',"Inner":' + JSON.stringify(datagram.inner) + ',"Data":"' + data + '"}';
  } else {
    json = head + template.received(datagram.receivedAt, true) + data + '"}';
  }
  return {
    json,
    bytes: template.wideData || template.remoteZoned || !template.ascii ? Buffer.byteLength(json) : json.length,
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
 * `messagesPayload(batch)` as UTF-8 bytes. When every packet's JSON is ASCII (base64, hex and ascii
 * Data guarantee it; utf8 and coap Data need not be), short packets are joined and copied at once, longer ones copied into one
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
