/**
 * WireGuard key material for `Custom::PacketGatewayWireGuardKey`: X25519 keys in the format of
 * `wg genkey` / `wg pubkey` (32 bytes, standard base64, 44 characters), with node:crypto only.
 */
/* eslint-disable no-bitwise -- key clamping sets and clears bits */
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { WG_KEY_PATTERN } from '../../lib/private/validate-records';

/** DER prefix of a PKCS#8 X25519 private key; the 32 raw key bytes follow it. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** True when `value` is a WireGuard key: 32 bytes in base64 (44 characters). */
export function isWireGuardKey(value: unknown): boolean {
  return typeof value === 'string' && WG_KEY_PATTERN.test(value);
}

/** A new private key, clamped like `wg genkey`, in base64. */
export function generatePrivateKey(): string {
  const raw = randomBytes(32);
  raw[0] &= 248;
  raw[31] = (raw[31] & 127) | 64;
  return raw.toString('base64');
}

/** The base64 public key of a base64 private key (`wg pubkey`). Throws without echoing the key when it is malformed. */
export function publicKeyOf(privateKey: string): string {
  if (!isWireGuardKey(privateKey)) throw new Error('not a WireGuard private key (32 bytes in base64, 44 characters)');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(privateKey, 'base64')]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

/**
 * The secret version id of key generation `generation` of the secret `secretArn`: a UUID-shaped
 * digest, so the same generation always names the same version (idempotent writes, rollbacks
 * that find the earlier key) and a new generation names a new one.
 */
export function generationVersionId(secretArn: string, generation: number): string {
  const h = createHash('sha256').update(`packet-gateway/wireguard-key\n${secretArn}\n${generation}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
