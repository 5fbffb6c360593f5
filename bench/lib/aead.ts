/**
 * Which ChaCha20-Poly1305 each agent's WireGuard code seals and opens with (service/wireguard/
 * transport-aead.ts: `native` is libsodium through sodium-native, `node` is node:crypto), so a
 * scenario can say what its gateway, its floor loop and its receiver used.
 */
import { Agent } from './agent';
import { defaultTransportAead } from '../../service/wireguard/transport-aead';

/** One process's AEAD, with why libsodium is not used when it is not. */
export interface AeadUsed {
  readonly implementation: 'native' | 'node';
  readonly fallbackReason?: string;
}

/** Asks each agent (every agent answers `aead`). */
export async function aeadsOf(agents: Readonly<Record<string, Agent>>): Promise<Record<string, AeadUsed>> {
  const entries = await Promise.all(Object.entries(agents).map(async ([role, agent]) => [role, await agent.request<AeadUsed>('aead')] as const));
  return Object.fromEntries(entries);
}

/** `native (libsodium)` or `node (node:crypto; <why>)`. */
export function describeAead(used: AeadUsed): string {
  return used.implementation === 'native'
    ? 'native (libsodium, sodium-native)'
    : `node (node:crypto${used.fallbackReason ? `; libsodium did not load: ${used.fallbackReason}` : ''})`;
}

/** A note line naming each role's AEAD. */
export function aeadNote(used: Readonly<Record<string, AeadUsed>>): string {
  return `ChaCha20-Poly1305 used: ${Object.entries(used).map(([role, u]) => `${role} ${describeAead(u)}`).join(', ')}.`;
}

/** The bench process's own choice: what agents on the same Node.js and environment choose. */
export function benchAead(): string {
  const selection = defaultTransportAead();
  return describeAead({ implementation: selection.aead.implementation, fallbackReason: selection.fallbackReason });
}
