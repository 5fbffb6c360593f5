/**
 * mac1, mac2 and cookies (whitepaper §5.4.4, §5.4.7).
 *
 * - {@link CookieChecker}: the receiving side. Verifies mac1 (keyed by our public key) on every
 *   handshake message; under load also mac2, which proves the sender can receive at its source
 *   address, and answers without it with a cookie reply. Its secret rotates every two minutes.
 * - {@link CookieJar}: the sending side, one per peer. Writes mac1 (keyed by the peer's public
 *   key) and, while it holds a fresh cookie from that peer, mac2; consumes cookie replies.
 */
import { randomBytes } from 'node:crypto';
import { equalBytes, hash, mac, xaeadOpen, xaeadSeal } from './crypto';
import { encodeCookieReply, CookieReplyMessage } from './messages';
import { parseIpAddress } from '../../lib/private/network';

const LABEL_MAC1 = Buffer.from('mac1----', 'ascii');
const LABEL_COOKIE = Buffer.from('cookie--', 'ascii');
const MAC_LENGTH = 16;
const ZERO_MAC = Buffer.alloc(MAC_LENGTH);

/** Cookie secrets rotate, and cookies stay usable, for this long (ms). */
export const COOKIE_REFRESH_TIME_MS = 120_000;

/** The mac1 key of messages sent to `publicKey`: HASH(LABEL_MAC1 ‖ publicKey). */
export function mac1Key(publicKey: Uint8Array): Buffer {
  return hash(LABEL_MAC1, publicKey);
}

/** The cookie encryption key of cookie replies sent by `publicKey`: HASH(LABEL_COOKIE ‖ publicKey). */
export function cookieKey(publicKey: Uint8Array): Buffer {
  return hash(LABEL_COOKIE, publicKey);
}

/** The source of a handshake message as the cookie binds it: address bytes ‖ port (big-endian). */
export function cookieSource(address: string, port: number): Buffer {
  const ip = parseIpAddress(address) ?? Buffer.from(address, 'utf8');
  const out = Buffer.allocUnsafe(ip.length + 2);
  out.set(ip, 0);
  out.writeUInt16BE(port, ip.length);
  return out;
}

/** Receiving side: checks mac1/mac2 of handshake messages addressed to us and makes cookie replies. */
export class CookieChecker {
  private readonly mac1Key: Buffer;
  private readonly encryptionKey: Buffer;
  private secret = Buffer.alloc(32);
  private secretSetAt = -Infinity;

  /**
   * @param publicKey our static public key
   * @param now monotonic clock in ms (secret rotation)
   */
  constructor(publicKey: Uint8Array, private readonly now: () => number) {
    this.mac1Key = mac1Key(publicKey);
    this.encryptionKey = cookieKey(publicKey);
  }

  /** True when the message's mac1 (at `mac1Offset`) is valid for our key. */
  checkMac1(message: Buffer, mac1Offset: number): boolean {
    const expected = mac(this.mac1Key, message.subarray(0, mac1Offset));
    return equalBytes(expected, message.subarray(mac1Offset, mac1Offset + MAC_LENGTH));
  }

  /** True when the message's mac2 (at `mac2Offset`) was made with the cookie of `source`. */
  checkMac2(message: Buffer, mac2Offset: number, source: Buffer): boolean {
    const expected = mac(this.currentCookie(source), message.subarray(0, mac2Offset));
    return equalBytes(expected, message.subarray(mac2Offset, mac2Offset + MAC_LENGTH));
  }

  /** The cookie reply for a handshake message from `source` whose sender index is `receiver`. */
  createReply(message: Buffer, mac1Offset: number, receiver: number, source: Buffer): Buffer {
    const nonce = randomBytes(24);
    const sealed = xaeadSeal(this.encryptionKey, nonce, this.currentCookie(source), message.subarray(mac1Offset, mac1Offset + MAC_LENGTH));
    return encodeCookieReply(receiver, nonce, sealed);
  }

  private currentCookie(source: Buffer): Buffer {
    const now = this.now();
    if (now - this.secretSetAt >= COOKIE_REFRESH_TIME_MS) {
      this.secret = randomBytes(32);
      this.secretSetAt = now;
    }
    return mac(this.secret, source);
  }
}

/**
 * Sending side, per peer: mac1/mac2 of our handshake messages and the cookie the peer gave us.
 * The mac1 and cookie keys are derived when used (one BLAKE2s per handshake message or cookie
 * reply) rather than held per peer.
 */
export class CookieJar {
  private cookie: Buffer | undefined;
  /** Clock time the cookie was received; meaningful only while `cookie` is set. */
  private cookieSetAt = 0;
  /**
   * mac1 of our last handshake message, as four 32-bit words read signed (small integers held in
   * the object, not a Buffer per peer); meaningful only while `awaitingReply`.
   */
  private mac1Word0 = 0;
  private mac1Word1 = 0;
  private mac1Word2 = 0;
  private mac1Word3 = 0;
  /** True while that message may still be answered by a cookie reply. */
  private awaitingReply = false;

  /** @param peerPublicKey the static public key of the peer our messages go to (kept by reference) */
  constructor(private readonly peerPublicKey: Uint8Array, private readonly now: () => number) {}

  /** Fills mac1 and mac2 of an outgoing handshake message in place. */
  addMacs(message: Buffer, mac1Offset: number, mac2Offset: number): void {
    const mac1 = mac(mac1Key(this.peerPublicKey), message.subarray(0, mac1Offset));
    message.set(mac1, mac1Offset);
    this.mac1Word0 = mac1.readInt32LE(0);
    this.mac1Word1 = mac1.readInt32LE(4);
    this.mac1Word2 = mac1.readInt32LE(8);
    this.mac1Word3 = mac1.readInt32LE(12);
    this.awaitingReply = true;
    const fresh = this.cookie && this.now() - this.cookieSetAt < COOKIE_REFRESH_TIME_MS;
    message.set(fresh ? mac(this.cookie!, message.subarray(0, mac2Offset)) : ZERO_MAC, mac2Offset);
  }

  /**
   * Consumes a cookie reply to our last handshake message; returns a reason string when it does
   * not decrypt (forged, stale or not answering a message of ours).
   */
  consumeReply(reply: CookieReplyMessage): string | undefined {
    if (!this.awaitingReply) return 'cookie reply without a handshake message to answer';
    const lastMac1 = Buffer.allocUnsafe(MAC_LENGTH);
    lastMac1.writeInt32LE(this.mac1Word0, 0);
    lastMac1.writeInt32LE(this.mac1Word1, 4);
    lastMac1.writeInt32LE(this.mac1Word2, 8);
    lastMac1.writeInt32LE(this.mac1Word3, 12);
    const cookie = xaeadOpen(cookieKey(this.peerPublicKey), reply.nonce, reply.encryptedCookie, lastMac1);
    if (!cookie) return 'cookie reply does not decrypt (forged or not answering our last handshake message)';
    this.cookie = cookie;
    this.cookieSetAt = this.now();
    // One reply per message: a replayed reply must not be accepted again.
    this.awaitingReply = false;
    return undefined;
  }

  /** True while a cookie from the peer is fresh enough to be used as mac2 key. */
  hasFreshCookie(): boolean {
    return this.cookie !== undefined && this.now() - this.cookieSetAt < COOKIE_REFRESH_TIME_MS;
  }
}
