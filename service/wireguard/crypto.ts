/**
 * The cryptographic primitives of WireGuard (whitepaper §5.4): BLAKE2s-256 `HASH`, `HMAC`,
 * `KDF1/2/3`, keyed BLAKE2s-128 `MAC`, ChaCha20-Poly1305 `AEAD`, XChaCha20-Poly1305 `XAEAD`
 * and X25519 `DH`, plus TAI64N timestamps.
 *
 * Everything except the keyed BLAKE2s-128 comes from node:crypto (OpenSSL).
 */
/* eslint-disable no-bitwise -- bit-level cryptographic code */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  KeyObject,
} from 'node:crypto';
import { blake2s } from '@noble/hashes/blake2';

/** Length of keys, hashes and DH outputs. */
export const KEY_LENGTH = 32;
/** Length of a Poly1305 tag. */
export const TAG_LENGTH = 16;
/** Length of a TAI64N timestamp. */
export const TIMESTAMP_LENGTH = 12;

const EMPTY = Buffer.alloc(0);
const ONE = Buffer.from([1]);
const TWO = Buffer.from([2]);
const THREE = Buffer.from([3]);

/** BLAKE2s-256 of the concatenation of `parts`. */
export function hash(...parts: Uint8Array[]): Buffer {
  const h = createHash('blake2s256');
  for (const part of parts) h.update(part);
  return h.digest();
}

/** HMAC-BLAKE2s-256. */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('blake2s256', key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** KDF1: one 32-byte output keyed by `key` over `input` (HKDF with HMAC-BLAKE2s). */
export function kdf1(key: Uint8Array, input: Uint8Array): Buffer {
  const prk = hmac(key, input);
  return hmac(prk, ONE);
}

/** KDF2: two 32-byte outputs. */
export function kdf2(key: Uint8Array, input: Uint8Array): [Buffer, Buffer] {
  const prk = hmac(key, input);
  const t1 = hmac(prk, ONE);
  const t2 = hmac(prk, t1, TWO);
  return [t1, t2];
}

/** KDF3: three 32-byte outputs. */
export function kdf3(key: Uint8Array, input: Uint8Array): [Buffer, Buffer, Buffer] {
  const prk = hmac(key, input);
  const t1 = hmac(prk, ONE);
  const t2 = hmac(prk, t1, TWO);
  const t3 = hmac(prk, t2, THREE);
  return [t1, t2, t3];
}

/** Keyed BLAKE2s with a 16-byte output: the `MAC` used for mac1, mac2 and cookies. */
export function mac(key: Uint8Array, message: Uint8Array): Buffer {
  const out = blake2s(message, { key, dkLen: 16 });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Writes the 12-byte ChaCha20-Poly1305 nonce for a 64-bit counter: 4 zero bytes, counter little-endian. */
export function writeCounterNonce(nonce: Buffer, counter: number): Buffer {
  nonce.writeUInt32LE(0, 0);
  nonce.writeUInt32LE(counter % 0x1_0000_0000, 4);
  nonce.writeUInt32LE(Math.floor(counter / 0x1_0000_0000), 8);
  return nonce;
}

/** AEAD(key, counter, plaintext, ad): ChaCha20-Poly1305 with a counter nonce; ciphertext ‖ tag. */
export function aeadSeal(key: Uint8Array, counter: number, plaintext: Uint8Array, ad: Uint8Array): Buffer {
  return sealWithNonce(key, writeCounterNonce(Buffer.allocUnsafe(12), counter), plaintext, ad);
}

/** Opens {@link aeadSeal}'s output; `undefined` when the tag does not verify. */
export function aeadOpen(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array): Buffer | undefined {
  return openWithNonce(key, writeCounterNonce(Buffer.allocUnsafe(12), counter), sealed, ad);
}

/** ChaCha20-Poly1305 seal with an explicit 12-byte nonce; returns ciphertext ‖ tag. */
export function sealWithNonce(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
  if (ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length });
  const body = plaintext.length > 0 ? cipher.update(plaintext) : EMPTY;
  cipher.final();
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** ChaCha20-Poly1305 open with an explicit 12-byte nonce; `undefined` when the tag does not verify. */
export function openWithNonce(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_LENGTH) return undefined;
  const bodyLength = sealed.length - TAG_LENGTH;
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(sealed.subarray(bodyLength));
  if (ad.length > 0) decipher.setAAD(ad, { plaintextLength: bodyLength });
  const body = bodyLength > 0 ? decipher.update(sealed.subarray(0, bodyLength)) : EMPTY;
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return body;
}

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

/**
 * HChaCha20(key, nonce16): the 20-round ChaCha core without the final addition, words 0–3 and
 * 12–15. Computed from one ChaCha20 keystream block (whose 16-byte IV is exactly state words
 * 12–15) by subtracting the input words the block function adds back.
 */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Buffer {
  const nonce = Buffer.from(nonce16.buffer, nonce16.byteOffset, 16);
  const block = createCipheriv('chacha20', key, nonce).update(Buffer.alloc(64));
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE((block.readUInt32LE(i * 4) - SIGMA[i]) >>> 0, i * 4);
    out.writeUInt32LE((block.readUInt32LE(48 + i * 4) - nonce.readUInt32LE(i * 4)) >>> 0, 16 + i * 4);
  }
  return out;
}

function xNonce(nonce24: Uint8Array): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.set(nonce24.subarray(16, 24), 4);
  return nonce;
}

/** XAEAD: XChaCha20-Poly1305 with a 24-byte nonce; returns ciphertext ‖ tag. */
export function xaeadSeal(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Buffer {
  return sealWithNonce(hchacha20(key, nonce24.subarray(0, 16)), xNonce(nonce24), plaintext, ad);
}

/** Opens {@link xaeadSeal}'s output; `undefined` when the tag does not verify. */
export function xaeadOpen(key: Uint8Array, nonce24: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Buffer | undefined {
  return openWithNonce(hchacha20(key, nonce24.subarray(0, 16)), xNonce(nonce24), sealed, ad);
}

// PKCS#8 DER prefix of an X25519 private key (the 32 raw bytes follow). Used once per key at start.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** An X25519 key pair with the raw public key at hand. */
export interface X25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Buffer;
}

/** Imports a raw 32-byte X25519 private key and derives its public key. */
export function x25519FromPrivate(raw: Uint8Array): X25519KeyPair {
  if (raw.length !== KEY_LENGTH) throw new Error(`an X25519 private key is ${KEY_LENGTH} bytes, got ${raw.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicKey: Buffer.from(jwk.x as string, 'base64url') };
}

/**
 * A fresh X25519 key pair (ephemeral keys, generated private keys).
 *
 * The public key comes back already encoded (SPKI DER, raw key in the last 32 bytes) rather than
 * by exporting the generated KeyObject: on Node 20 exporting a freshly generated key can deadlock
 * with a garbage collection that runs during the export, freezing the process under handshake load.
 */
export function x25519Generate(): X25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519', { publicKeyEncoding: { type: 'spki', format: 'der' } });
  // @types/node has no overload for "public key encoded, private key as KeyObject"; at run time it is a Buffer.
  const spki = publicKey as unknown as Buffer;
  return { privateKey, publicKey: Buffer.from(spki.subarray(spki.length - KEY_LENGTH)) };
}

/** The raw 32 bytes of an X25519 private KeyObject. */
export function x25519PrivateBytes(privateKey: KeyObject): Buffer {
  const jwk = privateKey.export({ format: 'jwk' });
  return Buffer.from(jwk.d as string, 'base64url');
}

/** Imports a raw 32-byte X25519 public key (JWK import: the cheapest path in node:crypto). */
export function x25519PublicKey(raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

/**
 * DH(private, public): X25519 shared secret. `undefined` when the peer's point yields the
 * all-zero secret (a low-order point) or cannot be used at all.
 */
export function dh(privateKey: KeyObject, publicKey: KeyObject): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    return undefined;
  }
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i];
  return acc === 0 ? undefined : shared;
}

// TAI64 label of 1970-01-01T00:00:00Z (2^62 + 10 leap-second offset), as the reference implementations use.
const TAI64_EPOCH_HIGH = 0x40000000;
const TAI64_EPOCH_LOW = 10;
// Nanoseconds are rounded down to this granularity so timestamps leak less about the sender's clock.
const TIMESTAMP_NANOS_GRANULARITY = 0x1000000;

/** TAI64N timestamp (12 bytes, big-endian) of an epoch time in milliseconds. */
export function tai64n(epochMs: number): Buffer {
  const out = Buffer.allocUnsafe(TIMESTAMP_LENGTH);
  const seconds = Math.floor(epochMs / 1000);
  const low = TAI64_EPOCH_LOW + seconds;
  out.writeUInt32BE(TAI64_EPOCH_HIGH + Math.floor(low / 0x1_0000_0000), 0);
  out.writeUInt32BE(low % 0x1_0000_0000, 4);
  const nanos = Math.round((epochMs - seconds * 1000) * 1_000_000);
  out.writeUInt32BE(nanos - (nanos % TIMESTAMP_NANOS_GRANULARITY), 8);
  return out;
}

/** Constant-time equality of two equally long byte strings (false when lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i] ^ b[i];
  return acc === 0;
}
