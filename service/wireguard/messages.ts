/**
 * The four WireGuard message types on the wire (whitepaper §5.4), with strict length and type
 * checks. Decoders return views into the datagram (no copies) or a reason string when the bytes
 * are not a well-formed message of that type.
 *
 * Every message starts with a 4-byte little-endian type word: the type in the first byte and
 * three reserved zero bytes.
 */
/* eslint-disable no-bitwise -- little-endian words from bytes */
import { MAX_UDP_PAYLOAD_BYTES } from '../../lib/private/limits';

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

export const INITIATION_LENGTH = 148;
export const RESPONSE_LENGTH = 92;
export const COOKIE_REPLY_LENGTH = 64;
/** Transport header: type word, receiver index, 64-bit counter. */
export const TRANSPORT_HEADER_LENGTH = 16;
/** Smallest transport message: header plus the tag of an empty (keepalive) payload. */
export const TRANSPORT_MIN_LENGTH = 32;
/** Largest datagram accepted or produced (a UDP payload over IPv4). */
export const MAX_DATAGRAM_LENGTH = MAX_UDP_PAYLOAD_BYTES;

/** Offsets of mac1/mac2 in the two handshake messages. */
export const INITIATION_MAC1_OFFSET = 116;
export const INITIATION_MAC2_OFFSET = 132;
export const RESPONSE_MAC1_OFFSET = 60;
export const RESPONSE_MAC2_OFFSET = 76;

/** Type 1: handshake initiation. */
export interface InitiationMessage {
  readonly sender: number;
  readonly ephemeral: Buffer;
  /** AEAD of the initiator's static public key (32 + 16 bytes). */
  readonly encryptedStatic: Buffer;
  /** AEAD of the TAI64N timestamp (12 + 16 bytes). */
  readonly encryptedTimestamp: Buffer;
  readonly mac1: Buffer;
  readonly mac2: Buffer;
}

/** Type 2: handshake response. */
export interface ResponseMessage {
  readonly sender: number;
  readonly receiver: number;
  readonly ephemeral: Buffer;
  /** AEAD of the empty string (16 bytes). */
  readonly encryptedNothing: Buffer;
  readonly mac1: Buffer;
  readonly mac2: Buffer;
}

/** Type 3: cookie reply. */
export interface CookieReplyMessage {
  readonly receiver: number;
  readonly nonce: Buffer;
  /** XAEAD of the 16-byte cookie (16 + 16 bytes). */
  readonly encryptedCookie: Buffer;
}

/** Type 4: transport data header; `encrypted` is the sealed (padded) packet with its tag. */
export interface TransportMessage {
  readonly receiver: number;
  /** Counter, exact when below 2^53 (see {@link readCounter}). */
  readonly counter: number;
  readonly encrypted: Buffer;
}

/**
 * The message type of a datagram (1–4), or 0 when its type word is not one of them (including a
 * non-zero reserved byte) or it is shorter than a type word.
 */
export function messageType(datagram: Uint8Array): number {
  if (datagram.length < 4 || datagram[1] !== 0 || datagram[2] !== 0 || datagram[3] !== 0) return 0;
  const type = datagram[0];
  return type >= MESSAGE_INITIATION && type <= MESSAGE_TRANSPORT ? type : 0;
}

function checkFixed(datagram: Buffer, type: number, length: number, name: string): string | undefined {
  if (messageType(datagram) !== type) return `not a ${name} (type word ${describeTypeWord(datagram)}, expected ${type} with zero reserved bytes)`;
  if (datagram.length !== length) return `${name} must be ${length} bytes, got ${datagram.length}`;
  return undefined;
}

function describeTypeWord(datagram: Uint8Array): string {
  if (datagram.length < 4) return `truncated at ${datagram.length} bytes`;
  return `0x${Buffer.from(datagram.subarray(0, 4)).toString('hex')}`;
}

/** Decodes a handshake initiation, or returns why the bytes are not one. */
export function decodeInitiation(datagram: Buffer): InitiationMessage | string {
  const bad = checkFixed(datagram, MESSAGE_INITIATION, INITIATION_LENGTH, 'handshake initiation');
  if (bad) return bad;
  return {
    sender: datagram.readUInt32LE(4),
    ephemeral: datagram.subarray(8, 40),
    encryptedStatic: datagram.subarray(40, 88),
    encryptedTimestamp: datagram.subarray(88, 116),
    mac1: datagram.subarray(116, 132),
    mac2: datagram.subarray(132, 148),
  };
}

/** Encodes a handshake initiation with zero MACs (fill them with the cookie module). */
export function encodeInitiation(sender: number, ephemeral: Uint8Array, encryptedStatic: Uint8Array, encryptedTimestamp: Uint8Array): Buffer {
  const out = Buffer.alloc(INITIATION_LENGTH);
  out[0] = MESSAGE_INITIATION;
  out.writeUInt32LE(sender, 4);
  out.set(ephemeral, 8);
  out.set(encryptedStatic, 40);
  out.set(encryptedTimestamp, 88);
  return out;
}

/** Decodes a handshake response, or returns why the bytes are not one. */
export function decodeResponse(datagram: Buffer): ResponseMessage | string {
  const bad = checkFixed(datagram, MESSAGE_RESPONSE, RESPONSE_LENGTH, 'handshake response');
  if (bad) return bad;
  return {
    sender: datagram.readUInt32LE(4),
    receiver: datagram.readUInt32LE(8),
    ephemeral: datagram.subarray(12, 44),
    encryptedNothing: datagram.subarray(44, 60),
    mac1: datagram.subarray(60, 76),
    mac2: datagram.subarray(76, 92),
  };
}

/** Encodes a handshake response with zero MACs. */
export function encodeResponse(sender: number, receiver: number, ephemeral: Uint8Array, encryptedNothing: Uint8Array): Buffer {
  const out = Buffer.alloc(RESPONSE_LENGTH);
  out[0] = MESSAGE_RESPONSE;
  out.writeUInt32LE(sender, 4);
  out.writeUInt32LE(receiver, 8);
  out.set(ephemeral, 12);
  out.set(encryptedNothing, 44);
  return out;
}

/** Decodes a cookie reply, or returns why the bytes are not one. */
export function decodeCookieReply(datagram: Buffer): CookieReplyMessage | string {
  const bad = checkFixed(datagram, MESSAGE_COOKIE_REPLY, COOKIE_REPLY_LENGTH, 'cookie reply');
  if (bad) return bad;
  return {
    receiver: datagram.readUInt32LE(4),
    nonce: datagram.subarray(8, 32),
    encryptedCookie: datagram.subarray(32, 64),
  };
}

/** Encodes a cookie reply. */
export function encodeCookieReply(receiver: number, nonce: Uint8Array, encryptedCookie: Uint8Array): Buffer {
  const out = Buffer.alloc(COOKIE_REPLY_LENGTH);
  out[0] = MESSAGE_COOKIE_REPLY;
  out.writeUInt32LE(receiver, 4);
  out.set(nonce, 8);
  out.set(encryptedCookie, 32);
  return out;
}

/**
 * Reads the 64-bit little-endian counter at `offset` as a number. Counters at or above 2^53 are
 * returned as `Infinity`: no sender can reach them within Reject-After-Time (it would take more
 * than 5·10^13 packets per second), so they are never valid in practice and the replay filter
 * rejects them.
 */
export function readCounter(datagram: Uint8Array, offset: number): number {
  const low = (datagram[offset] | (datagram[offset + 1] << 8) | (datagram[offset + 2] << 16) | (datagram[offset + 3] << 24)) >>> 0;
  const high = (datagram[offset + 4] | (datagram[offset + 5] << 8) | (datagram[offset + 6] << 16) | (datagram[offset + 7] << 24)) >>> 0;
  if (high >= 0x200000) return Infinity;
  return high * 0x1_0000_0000 + low;
}

/** Decodes a transport message header, or returns why the bytes are not one. */
export function decodeTransport(datagram: Buffer): TransportMessage | string {
  if (messageType(datagram) !== MESSAGE_TRANSPORT) return `not a transport message (type word ${describeTypeWord(datagram)}, expected 4 with zero reserved bytes)`;
  if (datagram.length < TRANSPORT_MIN_LENGTH) return `transport message must be at least ${TRANSPORT_MIN_LENGTH} bytes, got ${datagram.length}`;
  if (datagram.length > MAX_DATAGRAM_LENGTH) {
    return `transport message of ${datagram.length} bytes exceeds ${MAX_DATAGRAM_LENGTH}`;
  }
  return {
    receiver: datagram.readUInt32LE(4),
    counter: readCounter(datagram, 8),
    encrypted: datagram.subarray(TRANSPORT_HEADER_LENGTH),
  };
}

/** Writes a transport header (type, receiver, counter) into the first 16 bytes of `out`. */
export function writeTransportHeader(out: Buffer, receiver: number, counter: number): void {
  out.writeUInt32LE(MESSAGE_TRANSPORT, 0);
  out.writeUInt32LE(receiver, 4);
  out.writeUInt32LE(counter % 0x1_0000_0000, 8);
  out.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 12);
}
