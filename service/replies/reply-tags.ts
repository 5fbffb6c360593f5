/**
 * Reply tags: the `Tag` of each inbound packet. A tag is stateless and self-verifying, so the
 * gateway stores nothing per packet:
 *
 *   base64url( version | flags | expiry | port | address | listener | peer key? | inner? | pad | MAC | counter )
 *
 * A WireGuard packet delivered decapsulated also carries its inner UDP flow (IP version, both
 * ports, both addresses: 13 bytes for IPv4), so the reply returns to the exact inner address and
 * port the packet came from, even when the peer has several inner flows.
 *
 * The MAC is HMAC-SHA256 over the routing part (everything before it), truncated to 16 bytes,
 * keyed with a secret that is random per process unless configured (several tasks sharing one
 * secret accept each other's tags). The expiry (epoch seconds) bounds how long a reply may come
 * back. The 48-bit counter after the MAC, started at a random value, makes every tag unique; it
 * routes nothing, so it is not authenticated: changing it yields the same reply target. Because
 * the routing part is the same for every datagram of a flow within one second, its MAC and text
 * are computed once per flow per second (a bounded cache); each further datagram only appends the
 * counter. Zero to two pad bytes keep the routing part and MAC a multiple of 3 bytes, so the
 * base64url text of the whole tag is the routing part's text followed by the counter's 8
 * characters. Anything that fails to parse, verify or is past its expiry is `ReplyUnknownTag`.
 */
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { formatIpAddress, parseIpAddress } from '../../lib/private/network';
import type { Failure, InnerAddressing } from '../contracts';

const VERSION = 2;
const FLAG_PEER_KEY = 1;
const FLAG_INNER = 2;
const UDP = 17;
/** Signed routing parts remembered per codec, in each direction (emptied when full). */
const SIGNED_CACHE_SIZE = 4096;
const MAC_BYTES = 16;
/** Characters of the counter's base64url text. */
const COUNTER_CHARS = 8;
const PEER_KEY_BYTES = 32;
/** version, flags, expiry (4), port (2), address length, listener length. */
const FIXED_BYTES = 1 + 1 + 4 + 2 + 1 + 1;
/** Longest tag string accepted for decoding (IPv6 text, a 64-character name and a peer key fit well within). */
const MAX_TAG_CHARS = 400;
const COUNTER_LIMIT = 2 ** 48;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64URL_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Where a reply carrying a tag goes. */
export interface ReplyTarget {
  readonly listener: string;
  readonly address: string;
  readonly port: number;
  /** WireGuard peer public key, base64. */
  readonly peerKey?: string;
  /** The inner UDP flow of the packet the tag was minted for (WireGuard, decapsulated delivery), as received. */
  readonly inner?: InnerAddressing;
  /** Epoch milliseconds after which the tag is refused. */
  readonly expiresAt: number;
}

export interface ReplyTagCodecOptions {
  /** HMAC key, at least 16 bytes; share it between tasks that must accept each other's tags. @default - 32 random bytes */
  readonly secret?: Buffer;
  readonly now?: () => number;
}

/** A signed routing part: its base64url text (MAC included) and its expiry, epoch seconds. */
interface SignedPart {
  readonly expiry: number;
  readonly text: string;
}

/** Mints and verifies reply tags. */
export class ReplyTagCodec {
  private readonly secret: Buffer;
  private readonly now: () => number;
  private counter: number;
  /** `counter % 64`, kept beside it: the counter passes 2^31, where `%` is a floating-point call. */
  private counterLow: number;
  /** The routing part signed for each flow, reused while its expiry second is current. */
  private readonly signed = new Map<string, SignedPart>();
  /** Routing part texts that verified, with the target they route to. */
  private readonly verified = new Map<string, ReplyTarget>();
  /** The last flow minted for and its part: a run of datagrams from one client skips the lookup. */
  private lastListener = '';
  private lastAddress = '';
  private lastPort = -1;
  private lastPeerKey?: string;
  private lastInner?: InnerAddressing;
  private lastPart?: SignedPart;
  /**
   * The tag text before its last character: a signed part and the counter's first 7 characters,
   * the same for 64 counter values in a row (the last character is one of 64 interned strings).
   */
  private prefixText = '';
  private prefixPart?: SignedPart;
  private prefixBlock = -1;

  public constructor(options: ReplyTagCodecOptions = {}) {
    if (options.secret !== undefined && options.secret.length < 16) {
      throw new Error(`reply tag secret of ${options.secret.length} bytes is too short (allowed: at least 16 bytes)`);
    }
    this.secret = options.secret ?? randomBytes(32);
    this.now = options.now ?? Date.now;
    this.counter = randomInt(0, 2 ** 47);
    this.counterLow = this.counter % 64;
  }

  /**
   * A new tag routing a reply to `address:port` through `listener` for `ttlSeconds`.
   * `peerKey` (base64 of 32 bytes) selects the WireGuard peer to encrypt the reply for; `inner`,
   * the packet's inner UDP flow, is carried so the reply goes back to that flow. `atMs`, the
   * datagram's receive time (epoch ms), is when the tag's lifetime starts (the ingress path has
   * read the clock already).
   */
  public mint(
    listener: string, address: string, port: number, ttlSeconds: number, peerKey?: string, inner?: InnerAddressing, atMs: number = this.now(),
  ): string {
    const expiry = Math.floor(atMs / 1000) + Math.max(1, Math.ceil(ttlSeconds));
    const last = this.lastPart;
    if (last !== undefined && last.expiry === expiry && port === this.lastPort && address === this.lastAddress
      && listener === this.lastListener && peerKey === this.lastPeerKey && inner === this.lastInner) {
      return this.tagOf(last);
    }
    let flow = listener + '|' + address + '|' + port;
    if (peerKey !== undefined) flow += '|' + peerKey;
    if (inner !== undefined) {
      flow += '|' + inner.SourceAddress + '|' + inner.SourcePort + '|' + inner.DestinationAddress + '|' + inner.DestinationPort + '|' + inner.Protocol;
    }
    let part = this.signed.get(flow);
    if (part === undefined || part.expiry !== expiry) {
      part = { expiry, text: this.sign(listener, address, port, expiry, peerKey, inner) };
      if (this.signed.size >= SIGNED_CACHE_SIZE) this.signed.clear();
      this.signed.set(flow, part);
    }
    this.lastPart = part;
    this.lastListener = listener;
    this.lastAddress = address;
    this.lastPort = port;
    this.lastPeerKey = peerKey;
    this.lastInner = inner;
    return this.tagOf(part);
  }

  /** The signed part followed by the next counter value's text. */
  private tagOf(part: SignedPart): string {
    const counter = this.counter;
    const last = this.counterLow;
    // COUNTER_LIMIT is a multiple of 64: the low part wraps with the counter
    this.counter = counter + 1 >= COUNTER_LIMIT ? 0 : counter + 1;
    this.counterLow = last === 63 ? 0 : last + 1;
    const block = counter - last;
    if (block !== this.prefixBlock || part !== this.prefixPart) {
      this.prefixText = part.text + counterText(counter).slice(0, COUNTER_CHARS - 1);
      this.prefixBlock = block;
      this.prefixPart = part;
    }
    return this.prefixText + BASE64URL_DIGITS[last];
  }

  /** The base64url text of the routing part, its pad and its MAC. */
  private sign(listener: string, address: string, port: number, expiry: number, peerKey?: string, inner?: InnerAddressing): string {
    const key = peerKey === undefined ? undefined : Buffer.from(peerKey, 'base64');
    if (key !== undefined && key.length !== PEER_KEY_BYTES) {
      throw new Error(`peer key must be ${PEER_KEY_BYTES} bytes of base64 (got ${key.length} bytes)`);
    }
    const addressLength = Buffer.byteLength(address, 'latin1');
    const listenerLength = Buffer.byteLength(listener, 'utf8');
    if (addressLength > 255 || listenerLength > 255) throw new Error('address or listener name too long for a reply tag');
    let innerSource: Buffer | undefined;
    let innerDestination: Buffer | undefined;
    if (inner !== undefined && inner.Protocol === UDP) {
      innerSource = parseIpAddress(inner.SourceAddress);
      innerDestination = parseIpAddress(inner.DestinationAddress);
      if (innerSource === undefined || innerDestination === undefined || innerSource.length !== innerDestination.length) {
        innerSource = innerDestination = undefined;
      }
    }
    const innerLength = innerSource ? 5 + 2 * innerSource.length : 0;
    const fieldsLength = FIXED_BYTES + addressLength + listenerLength + (key ? PEER_KEY_BYTES : 0) + innerLength;
    const bodyLength = fieldsLength + padFor(fieldsLength);
    const buf = Buffer.alloc(bodyLength + MAC_BYTES);
    let o = 0;
    buf[o++] = VERSION;
    buf[o++] = (key ? FLAG_PEER_KEY : 0) + (innerSource ? FLAG_INNER : 0);
    buf.writeUInt32BE(expiry, o);
    o += 4;
    buf.writeUInt16BE(port, o);
    o += 2;
    buf[o++] = addressLength;
    o += buf.write(address, o, 'latin1');
    buf[o++] = listenerLength;
    o += buf.write(listener, o, 'utf8');
    if (key) o += key.copy(buf, o);
    if (innerSource && innerDestination) {
      buf[o++] = innerSource.length === 4 ? 4 : 6;
      buf.writeUInt16BE(inner!.SourcePort, o);
      buf.writeUInt16BE(inner!.DestinationPort, o + 2);
      o += 4;
      o += innerSource.copy(buf, o);
      o += innerDestination.copy(buf, o);
    }
    this.mac(buf.subarray(0, bodyLength)).copy(buf, bodyLength, 0, MAC_BYTES);
    return buf.toString('base64url');
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest();
  }

  /**
   * Verifies a tag and returns where its reply goes, or a `ReplyUnknownTag` failure saying why
   * (malformed, not signed by this gateway, expired).
   */
  public decode(tag: unknown): ReplyTarget | Failure {
    if (typeof tag !== 'string' || tag.length === 0) return unknown(`Tag must be a non-empty string, got ${typeName(tag)}`);
    if (tag.length > MAX_TAG_CHARS || tag.length <= COUNTER_CHARS || (tag.length - COUNTER_CHARS) % 4 !== 0 || !BASE64URL.test(tag)) {
      return malformed();
    }
    const partText = tag.slice(0, tag.length - COUNTER_CHARS);
    let target = this.verified.get(partText);
    if (target === undefined) {
      const verified = this.verify(partText);
      if (isTagFailure(verified)) return verified;
      if (this.verified.size >= SIGNED_CACHE_SIZE) this.verified.clear();
      this.verified.set(partText, verified);
      target = verified;
    }
    if (this.now() >= target.expiresAt) return unknown(`Tag expired at ${new Date(target.expiresAt).toISOString()}`);
    return target;
  }

  /** Checks the MAC of a routing part and parses it. */
  private verify(partText: string): ReplyTarget | Failure {
    const buf = Buffer.from(partText, 'base64url');
    if (buf.length < FIXED_BYTES + MAC_BYTES || buf[0] !== VERSION) return malformed();
    const body = buf.subarray(0, buf.length - MAC_BYTES);
    const mac = this.mac(body).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, buf.subarray(buf.length - MAC_BYTES))) {
      return unknown('Tag signature does not match (forged, altered, or issued by another gateway)');
    }
    let o = 1;
    const flags = buf[o++];
    if (flags > FLAG_PEER_KEY + FLAG_INNER) return malformed();
    const expiry = buf.readUInt32BE(o);
    o += 4;
    const port = buf.readUInt16BE(o);
    o += 2;
    const addressLength = buf[o++];
    const address = buf.toString('latin1', o, o + addressLength);
    o += addressLength;
    const listenerLength = buf[o++];
    const listener = buf.toString('utf8', o, o + listenerLength);
    o += listenerLength;
    let peerKey: string | undefined;
    if (flags % 2 === FLAG_PEER_KEY) {
      peerKey = buf.toString('base64', o, o + PEER_KEY_BYTES);
      o += PEER_KEY_BYTES;
    }
    let inner: InnerAddressing | undefined;
    if (flags >= FLAG_INNER) {
      const version = buf[o];
      const size = version === 4 ? 4 : version === 6 ? 16 : 0;
      if (size === 0 || o + 5 + 2 * size > body.length) return malformed();
      inner = Object.freeze({
        SourceAddress: formatIpAddress(buf.subarray(o + 5, o + 5 + size)),
        SourcePort: buf.readUInt16BE(o + 1),
        DestinationAddress: formatIpAddress(buf.subarray(o + 5 + size, o + 5 + 2 * size)),
        DestinationPort: buf.readUInt16BE(o + 3),
        Version: version as 4 | 6,
        Protocol: UDP,
      });
      o += 5 + 2 * size;
    }
    if (o > body.length || body.length - o !== padFor(o)) return malformed();
    const target: { -readonly [K in keyof ReplyTarget]: ReplyTarget[K] } = { listener, address, port, expiresAt: expiry * 1000 };
    if (peerKey !== undefined) target.peerKey = peerKey;
    if (inner !== undefined) target.inner = inner;
    return Object.freeze(target);
  }
}

/** Pad bytes after `fieldsLength` bytes of fields so that fields, pad and MAC fill whole base64 groups. */
function padFor(fieldsLength: number): number {
  return (3 - ((fieldsLength + MAC_BYTES) % 3)) % 3;
}

/** base64url of the counter as 6 big-endian bytes (8 characters). */
/* eslint-disable no-bitwise -- six-bit groups of two 24-bit halves */
function counterText(counter: number): string {
  const high = Math.floor(counter / 0x1000000);
  const low = counter % 0x1000000;
  const d = BASE64URL_DIGITS;
  return d[(high >>> 18) & 63] + d[(high >>> 12) & 63] + d[(high >>> 6) & 63] + d[high & 63]
    + d[(low >>> 18) & 63] + d[(low >>> 12) & 63] + d[(low >>> 6) & 63] + d[low & 63];
}
/* eslint-enable no-bitwise */

function malformed(): Failure {
  return unknown('Tag is not a tag issued by this gateway (malformed)');
}

/** True when a decode result is a failure. */
export function isTagFailure(value: ReplyTarget | Failure): value is Failure {
  return (value as Failure).code !== undefined;
}

function unknown(reason: string): Failure {
  return { code: 'ReplyUnknownTag', reason };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'string' ? 'an empty string' : typeof value;
}
