/**
 * WireGuard key material for `Custom::PacketGatewayWireGuardKey`: X25519 keys in the format of
 * `wg genkey` / `wg pubkey` (32 bytes, standard base64, 44 characters), and the secret version id
 * of each key generation.
 */
import { createHash } from 'node:crypto';
import { isBase64Key } from '../../service/wireguard/keys';

// The data plane's key code serves the registration function too (esbuild bundles it).
export { generatePrivateKey, publicKeyOf } from '../../service/wireguard/keys';

/** True when `value` is a WireGuard key: 32 bytes in base64 (44 characters). */
export function isWireGuardKey(value: unknown): boolean {
  return isBase64Key(value);
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
