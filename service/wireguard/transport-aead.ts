/**
 * ChaCha20-Poly1305 for WireGuard transport data (whitepaper §5.4.6), from libsodium through
 * `sodium-native` when it loads, else from node:crypto. Both produce the same bytes; libsodium
 * seals a packet with several times less CPU than a `createCipheriv` per packet
 * (docs/BENCHMARKS.md). The handshake's AEADs stay on node:crypto (crypto.ts): they run once per
 * session, not per packet.
 *
 * `sodium-native` is a native module: esbuild leaves it out of the service bundle and the
 * Fargate image installs it next to the bundle (service/Dockerfile).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { TAG_LENGTH } from './crypto';
import { ServiceEnvironment } from '../../lib/private/service-environment';

/** Which library seals and opens transport data. */
export type TransportAeadImplementation = 'native' | 'node';

/** What the operator asked for: `auto` uses libsodium when it loads, else node:crypto. */
export const TRANSPORT_AEAD_PREFERENCES = ['auto', 'native', 'node'] as const;
export type TransportAeadPreference = (typeof TRANSPORT_AEAD_PREFERENCES)[number];

/** ChaCha20-Poly1305 with a 12-byte nonce and no associated data, as WireGuard's transport messages use it. */
export interface TransportAead {
  readonly implementation: TransportAeadImplementation;
  /**
   * Seals `plaintext` with `key` and `nonce` into `out` at `offset`: ciphertext (as long as the
   * plaintext) followed by the 16-byte tag. `out` must have room for both.
   */
  sealInto(key: Buffer, nonce: Buffer, plaintext: Buffer, out: Buffer, offset: number): void;
  /** Opens ciphertext ‖ tag; `undefined` when the tag does not verify. */
  open(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined;
}

const EMPTY = Buffer.alloc(0);

/** node:crypto (OpenSSL): one cipher object per packet. */
export const NODE_TRANSPORT_AEAD: TransportAead = Object.freeze({
  implementation: 'node' as const,
  sealInto(key: Buffer, nonce: Buffer, plaintext: Buffer, out: Buffer, offset: number): void {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
    if (plaintext.length > 0) cipher.update(plaintext).copy(out, offset);
    cipher.final();
    cipher.getAuthTag().copy(out, offset + plaintext.length);
  },
  open(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
    if (sealed.length < TAG_LENGTH) return undefined;
    const bodyEnd = sealed.length - TAG_LENGTH;
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(sealed.subarray(bodyEnd));
    const plaintext = bodyEnd > 0 ? decipher.update(sealed.subarray(0, bodyEnd)) : EMPTY;
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return plaintext;
  },
});

/** The two functions of sodium-native this module uses (its full typings are not needed). */
export interface SodiumAeadFunctions {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Buffer, m: Buffer, ad: Buffer | null, nsec: null, npub: Buffer, k: Buffer): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Buffer, nsec: null, c: Buffer, ad: Buffer | null, npub: Buffer, k: Buffer): number;
}

/** libsodium through sodium-native: seals straight into the output buffer, no cipher object. */
export function nativeTransportAead(sodium: SodiumAeadFunctions): TransportAead {
  return Object.freeze({
    implementation: 'native' as const,
    sealInto(key: Buffer, nonce: Buffer, plaintext: Buffer, out: Buffer, offset: number): void {
      const sealed = out.subarray(offset, offset + plaintext.length + TAG_LENGTH);
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(sealed, plaintext, null, null, nonce, key);
    },
    open(key: Buffer, nonce: Buffer, sealed: Buffer): Buffer | undefined {
      if (sealed.length < TAG_LENGTH) return undefined;
      const plaintext = sealed.length === TAG_LENGTH ? EMPTY : Buffer.allocUnsafe(sealed.length - TAG_LENGTH);
      try {
        // Throws when the tag does not verify.
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plaintext, null, sealed, null, nonce, key);
      } catch {
        return undefined;
      }
      return plaintext;
    },
  });
}

/** The implementation chosen for a preference, and why libsodium is not used when it is not. */
export interface TransportAeadSelection {
  readonly aead: TransportAead;
  /** Set when `auto` fell back to node:crypto: the reason libsodium could not load. */
  readonly fallbackReason?: string;
}

/** Loads sodium-native; a function so tests can make it fail. */
export type SodiumLoader = () => SodiumAeadFunctions;

// eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native module, loaded at run time
const loadSodiumNative: SodiumLoader = () => require('sodium-native') as SodiumAeadFunctions;

/**
 * Chooses the implementation for `preference`. `native` throws when libsodium cannot load (the
 * operator asked for it); `auto` falls back to node:crypto and says why. A loaded module is
 * checked with a known-answer seal before it is trusted.
 */
export function selectTransportAead(preference: TransportAeadPreference, load: SodiumLoader = loadSodiumNative): TransportAeadSelection {
  if (preference === 'node') return { aead: NODE_TRANSPORT_AEAD };
  let native: TransportAead;
  try {
    native = nativeTransportAead(load());
    selfTest(native);
  } catch (err) {
    const reason = (err as Error)?.message ?? String(err);
    if (preference === 'native') throw new Error(`native ChaCha20-Poly1305 (sodium-native) is not available: ${reason}`);
    return { aead: NODE_TRANSPORT_AEAD, fallbackReason: reason };
  }
  return { aead: native };
}

/** Seals and opens one packet with both implementations and requires the same bytes. */
function selfTest(native: TransportAead): void {
  const key = Buffer.alloc(32, 7);
  const nonce = Buffer.alloc(12, 1);
  const plaintext = Buffer.from('packet gateway transport aead self test');
  const expected = Buffer.alloc(plaintext.length + TAG_LENGTH);
  NODE_TRANSPORT_AEAD.sealInto(key, nonce, plaintext, expected, 0);
  const actual = Buffer.alloc(plaintext.length + TAG_LENGTH);
  native.sealInto(key, nonce, plaintext, actual, 0);
  if (!actual.equals(expected)) throw new Error('its ChaCha20-Poly1305 output differs from node:crypto\'s');
  const opened = native.open(key, nonce, actual);
  if (!opened || !opened.equals(plaintext)) throw new Error('it cannot open its own ChaCha20-Poly1305 output');
}

let processDefault: TransportAeadSelection | undefined;

/**
 * The process-wide choice that devices created without an explicit implementation use: the one
 * {@link useTransportAead} set, else the environment's preference
 * (ServiceEnvironment.WireGuardCrypto), else `auto`.
 */
export function defaultTransportAead(): TransportAeadSelection {
  processDefault ??= selectTransportAead(parseTransportAeadPreference(process.env[ServiceEnvironment.WireGuardCrypto]) ?? 'auto');
  return processDefault;
}

/** The preference a text names; `undefined` for no text; throws naming the value and what is allowed otherwise. */
export function parseTransportAeadPreference(text: string | undefined): TransportAeadPreference | undefined {
  if (text === undefined || text === '') return undefined;
  const preference = TRANSPORT_AEAD_PREFERENCES.find((p) => p === text);
  if (!preference) throw new Error(`${ServiceEnvironment.WireGuardCrypto} ${JSON.stringify(text)} is not valid (allowed: ${TRANSPORT_AEAD_PREFERENCES.join(', ')})`);
  return preference;
}

/** Sets the process-wide choice (the service does, from its configuration, before any Listener starts). */
export function useTransportAead(selection: TransportAeadSelection): void {
  processDefault = selection;
}
