/**
 * WireGuard keys as people write them: 32 bytes in standard base64 (44 characters), the format
 * of `wg genkey` / `wg pubkey`.
 */
/* eslint-disable no-bitwise -- key clamping sets and clears bits */
import { randomBytes } from 'node:crypto';
import { KEY_LENGTH, x25519FromPrivate } from './crypto';
import { WIREGUARD_KEY } from '../../lib/private/limits';

/** True when `value` is a base64 WireGuard key (44 characters, 32 bytes). */
export function isBase64Key(value: unknown): value is string {
  return typeof value === 'string' && WIREGUARD_KEY.pattern.test(value);
}

/**
 * Decodes a base64 key. Throws an Error naming `what` and the allowed format — never the value
 * itself, which may be a secret.
 */
export function decodeKey(value: unknown, what: string): Buffer {
  if (!isBase64Key(value)) {
    throw new Error(`${what} must be a WireGuard key: 32 bytes in base64 (44 characters, as printed by 'wg genkey')`);
  }
  return Buffer.from(value, 'base64');
}

/** Base64 of a raw key. */
export function encodeKey(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
}

/** A new private key, clamped like `wg genkey`, base64. */
export function generatePrivateKey(): string {
  const raw = randomBytes(KEY_LENGTH);
  raw[0] &= 248;
  raw[31] = (raw[31] & 127) | 64;
  return encodeKey(raw);
}

/** The base64 public key of a base64 private key (`wg pubkey`). */
export function publicKeyOf(privateKey: string): string {
  return encodeKey(x25519FromPrivate(decodeKey(privateKey, 'private key')).publicKey);
}
