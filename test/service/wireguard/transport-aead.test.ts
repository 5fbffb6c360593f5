/**
 * WireGuard's transport AEAD from libsodium (sodium-native) and from node:crypto: the same bytes
 * both ways, tampering refused by both, the fallback when libsodium cannot load, and two devices
 * that seal with different implementations talking to each other.
 */
import { randomBytes } from 'node:crypto';
import { CLIENT_TO_GATEWAY, devicePair, DevicePair } from './helpers';
import { TAG_LENGTH } from '../../../service/wireguard/crypto';
import {
  nativeTransportAead,
  NODE_TRANSPORT_AEAD,
  selectTransportAead,
  SodiumAeadFunctions,
  TransportAead,
} from '../../../service/wireguard/transport-aead';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the native module under test
const NATIVE = nativeTransportAead(require('sodium-native') as SodiumAeadFunctions);
const IMPLEMENTATIONS: ReadonlyArray<[string, TransportAead]> = [['native', NATIVE], ['node', NODE_TRANSPORT_AEAD]];

function seal(aead: TransportAead, key: Buffer, nonce: Buffer, plaintext: Buffer, offset = 0): Buffer {
  const out = Buffer.alloc(offset + plaintext.length + TAG_LENGTH, 0xee);
  aead.sealInto(key, nonce, plaintext, out, offset);
  return out;
}

describe('transport AEAD implementations', () => {
  test('RFC 8439 §2.8.2 test vector without associated data: both match the reference and each other', () => {
    // The RFC's key, nonce and plaintext; with no AAD the ciphertext keystream is the same as the
    // RFC's and only the tag differs, so compare against node:crypto's reference seal.
    const key = Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex');
    const nonce = Buffer.from('070000004041424344454647', 'hex');
    const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const expectedCiphertextStart = Buffer.from('d31a8d34648e60db7b86afbc53ef7ec2', 'hex');
    const native = seal(NATIVE, key, nonce, plaintext);
    const node = seal(NODE_TRANSPORT_AEAD, key, nonce, plaintext);
    expect(native.subarray(0, 16)).toEqual(expectedCiphertextStart);
    expect(native).toEqual(node);
  });

  test.each([0, 1, 15, 16, 17, 64, 1200, 1420])('%i-byte plaintexts: same bytes from both, and each opens the other', (length) => {
    for (let round = 0; round < 20; round++) {
      const key = randomBytes(32);
      const nonce = randomBytes(12);
      const plaintext = randomBytes(length);
      const native = seal(NATIVE, key, nonce, plaintext);
      const node = seal(NODE_TRANSPORT_AEAD, key, nonce, plaintext);
      expect(native).toEqual(node);
      expect(NATIVE.open(key, nonce, node)).toEqual(plaintext);
      expect(NODE_TRANSPORT_AEAD.open(key, nonce, native)).toEqual(plaintext);
    }
  });

  test.each(IMPLEMENTATIONS)('%s seals at an offset without touching the bytes before it', (_name, aead) => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const plaintext = randomBytes(100);
    const out = seal(aead, key, nonce, plaintext, 16);
    expect(out.subarray(0, 16)).toEqual(Buffer.alloc(16, 0xee));
    expect(aead.open(key, nonce, out.subarray(16))).toEqual(plaintext);
  });

  test.each(IMPLEMENTATIONS)('%s refuses a changed byte anywhere, a wrong key, a wrong nonce and a short input', (_name, aead) => {
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const plaintext = randomBytes(48);
    const sealed = seal(aead, key, nonce, plaintext);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i] = tampered[i] === 0 ? 1 : tampered[i] - 1;
      expect(aead.open(key, nonce, tampered)).toBeUndefined();
    }
    expect(aead.open(randomBytes(32), nonce, sealed)).toBeUndefined();
    expect(aead.open(key, randomBytes(12), sealed)).toBeUndefined();
    expect(aead.open(key, nonce, sealed.subarray(0, TAG_LENGTH - 1))).toBeUndefined();
    expect(aead.open(key, nonce, Buffer.alloc(0))).toBeUndefined();
  });
});

describe('choosing the implementation', () => {
  const missing = (): SodiumAeadFunctions => {
    throw new Error("Cannot find module 'sodium-native'");
  };

  test('auto uses libsodium when it loads', () => {
    const selection = selectTransportAead('auto');
    expect(selection.aead.implementation).toBe('native');
    expect(selection.fallbackReason).toBeUndefined();
  });

  test('auto falls back to node:crypto and says why when libsodium cannot load', () => {
    const selection = selectTransportAead('auto', missing);
    expect(selection.aead).toBe(NODE_TRANSPORT_AEAD);
    expect(selection.fallbackReason).toContain("Cannot find module 'sodium-native'");
  });

  test('auto falls back when the loaded module seals differently from node:crypto', () => {
    const broken: SodiumAeadFunctions = {
      crypto_aead_chacha20poly1305_ietf_encrypt: (c) => {
        c.fill(0);
        return c.length;
      },
      crypto_aead_chacha20poly1305_ietf_decrypt: () => 0,
    };
    const selection = selectTransportAead('auto', () => broken);
    expect(selection.aead.implementation).toBe('node');
    expect(selection.fallbackReason).toContain('differs');
  });

  test('native refuses to start without libsodium, naming the reason', () => {
    expect(() => selectTransportAead('native', missing)).toThrow(/native ChaCha20-Poly1305 \(sodium-native\) is not available: Cannot find module/);
  });

  test('node never loads libsodium', () => {
    const load = jest.fn(missing);
    expect(selectTransportAead('node', load).aead).toBe(NODE_TRANSPORT_AEAD);
    expect(load).not.toHaveBeenCalled();
  });
});

describe('devices sealing with different implementations', () => {
  let pair: DevicePair | undefined;
  afterEach(() => {
    pair?.a.close();
    pair?.b.close();
  });

  test.each([
    ['native gateway, node client', NATIVE, NODE_TRANSPORT_AEAD],
    ['node gateway, native client', NODE_TRANSPORT_AEAD, NATIVE],
  ])('%s: data both ways, keepalives and padding', (_name, gateway, client) => {
    pair = devicePair({ aOptions: { transportAead: gateway }, bOptions: { transportAead: client } });
    for (const text of ['hello gateway', 'x'.repeat(1000), '']) {
      pair.b.send(pair.aKey, Buffer.from(text), CLIENT_TO_GATEWAY);
      pair.pump();
    }
    expect(pair.aOut.delivered.map((d) => d.data.toString())).toEqual(['hello gateway', 'x'.repeat(1000), '']);
    pair.a.send(pair.bKey, Buffer.from('hello client'));
    pair.pump();
    expect(pair.bOut.delivered.map((d) => d.data.toString())).toContain('hello client');
    expect(pair.aOut.failures).toEqual([]);
    expect(pair.bOut.failures).toEqual([]);
  });
});
