/**
 * The relay's wire format between fleet members (docs/FLEET.md "Relay"): one UDP datagram per
 * request or answer, authenticated with HMAC-SHA-256 truncated to 128 bits under a key derived
 * (HKDF-SHA-256) from the fleet's reply-tag secret.
 *
 *   header   version u8 | kind u8 | boot u48 | sequence u32 | sentAt u48 | sender len u8 + utf8
 *   request  requestId u32 | to u8+utf8 | deadline u48 | listener u8+utf8 | address u8+text | port u16
 *            | peerKey u8+text | inner u16+JSON | messageId u8+utf8 | index u32 | payload u16+bytes
 *   answer   requestId u32 | outcome u8 | code u8+text | reason u16+utf8
 *   mac      16 bytes over everything before it
 *
 * `boot` is the sender's start time (epoch ms) and `sequence` counts its datagrams from 0, so
 * (sender, boot, sequence) never repeats; the wire carries the counter's low 32 bits and the
 * receiver restores the rest ({@link extendSequence}). `requestId` stays the same across retries
 * of one entry so the owner answers a retry without sending twice. Pure: no I/O, no clock.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { MAX_UDP_PAYLOAD_BYTES } from '../../lib/private/limits';
import type { Failure, FailureCode, InnerAddressing } from '../contracts';
import { FAILURE_CODES } from '../contracts';

export const RELAY_VERSION = 1;
export const MAC_BYTES = 16;

/** Largest relay datagram: the relay socket is IPv4 (one UDP datagram, 65,507 bytes of payload). */
export const MAX_RELAY_DATAGRAM_BYTES = MAX_UDP_PAYLOAD_BYTES;

/** Bytes of a request besides its variable-length fields: header, fixed fields, length prefixes, MAC. */
export const RELAY_REQUEST_FIXED_BYTES = 19 + 25 + MAC_BYTES;

/** Sequence numbers on the wire are 32 bits: the counter modulo this. */
export const SEQUENCE_MODULUS = 0x1_0000_0000;
const HALF_SEQUENCE = SEQUENCE_MODULUS / 2;

export enum RelayKind {
  Request = 1,
  Answer = 2,
}

/** What the owner did with a request. */
export enum RelayOutcome {
  Sent = 0,
  /** The owner's egress guard or Listener refused it: `failure` says why. */
  Failed = 1,
  /** The member does not own the flow (any more). */
  NotOwner = 2,
  /** The member is too busy to take it now; ask again later. */
  Busy = 3,
}

/** The authenticated header of every relay datagram. */
export interface RelayHeader {
  readonly kind: RelayKind;
  readonly boot: number;
  readonly sequence: number;
  readonly sentAt: number;
  readonly sender: string;
}

/** A sourced entry handed to the member that owns its flow. */
export interface RelayRequest {
  readonly requestId: number;
  /** The member the request is for: another member reached at a reused address answers NotOwner. */
  readonly to: string;
  /** Epoch ms after which the entry must not be sent (its TtlSeconds), 0 for none. */
  readonly deadline: number;
  readonly listener: string;
  readonly address: string;
  readonly port: number;
  readonly peerKey?: string;
  readonly inner?: InnerAddressing;
  /** For the owner's log records. */
  readonly messageId: string;
  readonly index: number;
  readonly data: Buffer;
}

/** The owner's answer to one request. */
export interface RelayAnswer {
  readonly requestId: number;
  readonly outcome: RelayOutcome;
  /** With {@link RelayOutcome.Failed}. */
  readonly failure?: Failure;
}

export type DecodedRelay =
  | { readonly header: RelayHeader; readonly request: RelayRequest; readonly answer?: undefined }
  | { readonly header: RelayHeader; readonly answer: RelayAnswer; readonly request?: undefined };

/** The relay key of a fleet: HKDF-SHA-256 of the reply-tag secret. */
export function deriveRelayKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'packet-gateway', 'packet-gateway fleet relay v1', 32));
}

const FAILURE_CODE_SET: ReadonlySet<string> = new Set(FAILURE_CODES);

/** Size in bytes of the datagram {@link RelayCodec.encodeRequest} makes of `r` sent by `sender` to `to`. */
export function relayRequestBytes(sender: string, to: string, r: Omit<RelayRequest, 'requestId' | 'to'>): number {
  return RELAY_REQUEST_FIXED_BYTES
    + Buffer.byteLength(sender) + Buffer.byteLength(to) + Buffer.byteLength(r.listener) + Buffer.byteLength(r.address)
    + (r.peerKey === undefined ? 0 : Buffer.byteLength(r.peerKey)) + (r.inner ? Buffer.byteLength(JSON.stringify(r.inner)) : 0)
    + Buffer.byteLength(r.messageId.slice(0, 100)) + r.data.length;
}

/**
 * The sender's full sequence counter from the 32 bits on the wire (extended sequence numbers as in
 * IPsec ESP, RFC 4303 §3.3.3): the value of the form `k·2^32 + wire` nearest to `highest`, the
 * highest counter accepted from that sender and boot (-1 before the first). A sender thus passes
 * 2^32 datagrams without a new boot. A datagram 2^31 counters away from the highest is never
 * genuine: the receiver refuses datagrams sent more than its skew limit ago, and no member sends
 * 2^31 relay datagrams within it.
 */
export function extendSequence(highest: number, wire: number): number {
  if (highest < 0) return wire;
  const candidate = highest - (highest % SEQUENCE_MODULUS) + wire;
  if (candidate + HALF_SEQUENCE < highest) return candidate + SEQUENCE_MODULUS;
  if (candidate > highest + HALF_SEQUENCE && candidate >= SEQUENCE_MODULUS) return candidate - SEQUENCE_MODULUS;
  return candidate;
}

/** Encodes and authenticates relay datagrams under one key; decoding verifies before parsing. */
export class RelayCodec {
  constructor(private readonly key: Buffer) {}

  encodeRequest(header: Omit<RelayHeader, 'kind'>, r: RelayRequest): Buffer {
    const w = new Writer(64 + r.data.length + r.listener.length + r.messageId.length);
    writeHeader(w, { ...header, kind: RelayKind.Request });
    w.u32(r.requestId);
    w.text8(r.to);
    w.u48(r.deadline);
    w.text8(r.listener);
    w.text8(r.address);
    w.u16(r.port);
    w.text8(r.peerKey ?? '');
    w.text16(r.inner ? JSON.stringify(r.inner) : '');
    w.text8(r.messageId.slice(0, 100));
    w.u32(r.index);
    w.u16(r.data.length);
    w.bytes(r.data);
    return this.seal(w);
  }

  encodeAnswer(header: Omit<RelayHeader, 'kind'>, a: RelayAnswer): Buffer {
    const w = new Writer(64 + (a.failure?.reason.length ?? 0) * 3);
    writeHeader(w, { ...header, kind: RelayKind.Answer });
    w.u32(a.requestId);
    w.u8(a.outcome);
    w.text8(a.failure?.code ?? '');
    w.text16(a.failure?.reason.slice(0, 1000) ?? '');
    return this.seal(w);
  }

  /** The datagram's content, or a reason it is refused (bad MAC, malformed). */
  decode(datagram: Buffer): DecodedRelay | string {
    if (datagram.length < MAC_BYTES + 20) return 'too short';
    const body = datagram.subarray(0, datagram.length - MAC_BYTES);
    const mac = datagram.subarray(datagram.length - MAC_BYTES);
    if (!timingSafeEqual(mac, this.mac(body))) return 'bad MAC';
    try {
      const r = new Reader(body);
      if (r.u8() !== RELAY_VERSION) return 'unknown version';
      const kind = r.u8();
      const header: RelayHeader = { kind, boot: r.u48(), sequence: r.u32(), sentAt: r.u48(), sender: r.text8() };
      if (kind === RelayKind.Request) {
        const requestId = r.u32();
        const to = r.text8();
        const deadline = r.u48();
        const listener = r.text8();
        const address = r.text8();
        const port = r.u16();
        const peerKey = r.text8();
        const inner = r.text16();
        const messageId = r.text8();
        const index = r.u32();
        const data = r.bytes(r.u16());
        r.end();
        return {
          header,
          request: {
            requestId,
            to,
            deadline,
            listener,
            address,
            port,
            messageId,
            index,
            data,
            ...(peerKey ? { peerKey } : {}),
            ...(inner ? { inner: JSON.parse(inner) as InnerAddressing } : {}),
          },
        };
      }
      if (kind === RelayKind.Answer) {
        const requestId = r.u32();
        const outcome = r.u8() as RelayOutcome;
        const code = r.text8();
        const reason = r.text16();
        r.end();
        if (outcome > RelayOutcome.Busy) return 'unknown outcome';
        if (outcome === RelayOutcome.Failed && !FAILURE_CODE_SET.has(code)) return 'unknown failure code';
        const failure = outcome === RelayOutcome.Failed ? { failure: { code: code as FailureCode, reason } } : {};
        return { header, answer: { requestId, outcome, ...failure } };
      }
      return 'unknown kind';
    } catch {
      return 'malformed';
    }
  }

  private seal(w: Writer): Buffer {
    const body = w.done();
    const out = Buffer.allocUnsafe(body.length + MAC_BYTES);
    body.copy(out);
    this.mac(body).copy(out, body.length);
    return out;
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
  }
}

function writeHeader(w: Writer, h: RelayHeader): void {
  w.u8(RELAY_VERSION);
  w.u8(h.kind);
  w.u48(h.boot);
  w.u32(h.sequence);
  w.u48(h.sentAt);
  w.text8(h.sender);
}

class Writer {
  private buf: Buffer;
  private at = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.at);
    this.at += 1;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.at);
    this.at += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v, this.at);
    this.at += 4;
  }
  u48(v: number): void {
    this.room(6);
    this.buf.writeUIntBE(Math.max(0, Math.floor(v)), this.at, 6);
    this.at += 6;
  }
  text8(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.length > 255) throw new RangeError(`relay field of ${bytes.length} bytes exceeds 255`);
    this.u8(bytes.length);
    this.bytes(bytes);
  }
  text16(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    this.u16(bytes.length);
    this.bytes(bytes);
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.at);
    this.at += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  u8(): number {
    const v = this.buf.readUInt8(this.at);
    this.at += 1;
    return v;
  }
  u16(): number {
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u48(): number {
    const v = this.buf.readUIntBE(this.at, 6);
    this.at += 6;
    return v;
  }
  text8(): string {
    return this.bytes(this.u8()).toString('utf8');
  }
  text16(): string {
    return this.bytes(this.u16()).toString('utf8');
  }
  bytes(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new RangeError('truncated');
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  end(): void {
    if (this.at !== this.buf.length) throw new RangeError('trailing bytes');
  }
}
