/* eslint-disable no-bitwise -- tests flip and inspect bits */
import fixture from './fixtures/handshake-initiation.json';
import {
  aeadOpen,
  aeadSeal,
  dh,
  hash,
  hchacha20,
  hmac,
  kdf1,
  kdf2,
  kdf3,
  mac,
  tai64n,
  x25519FromPrivate,
  x25519Generate,
  x25519PublicKey,
  xaeadOpen,
  xaeadSeal,
} from '../../../service/wireguard/crypto';
import { decodeKey, generatePrivateKey, isBase64Key, publicKeyOf } from '../../../service/wireguard/keys';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('BLAKE2s', () => {
  test('HASH is BLAKE2s-256 (RFC 7693 appendix B: "abc")', () => {
    expect(hash(Buffer.from('abc')).toString('hex')).toBe('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982');
  });

  test('HASH of parts equals HASH of their concatenation', () => {
    expect(hash(Buffer.from('ab'), Buffer.from('c'))).toEqual(hash(Buffer.from('abc')));
  });

  test('MAC is keyed BLAKE2s with a 16-byte output, and depends on the key', () => {
    const m1 = mac(Buffer.alloc(32, 1), Buffer.from('message'));
    const m2 = mac(Buffer.alloc(32, 2), Buffer.from('message'));
    expect(m1).toHaveLength(16);
    expect(m1.equals(m2)).toBe(false);
  });

  test('KDF outputs chain: KDF2 starts with KDF1, KDF3 with KDF2', () => {
    const key = Buffer.alloc(32, 7);
    const input = Buffer.from('input');
    const [a1, a2] = kdf2(key, input);
    const [b1, b2, b3] = kdf3(key, input);
    expect(kdf1(key, input)).toEqual(a1);
    expect(b1).toEqual(a1);
    expect(b2).toEqual(a2);
    // τ2 = HMAC(τ0, τ1 ‖ 0x2), τ3 = HMAC(τ0, τ2 ‖ 0x3), τ0 = HMAC(key, input)
    const t0 = hmac(key, input);
    expect(a2).toEqual(hmac(t0, a1, Buffer.from([2])));
    expect(b3).toEqual(hmac(t0, b2, Buffer.from([3])));
  });
});

describe('ChaCha20-Poly1305', () => {
  test('AEAD round-trips with a counter nonce and rejects a wrong counter, key, AD or tag', () => {
    const key = Buffer.alloc(32, 9);
    const sealed = aeadSeal(key, 5, Buffer.from('hello'), Buffer.from('ad'));
    expect(sealed).toHaveLength(5 + 16);
    expect(aeadOpen(key, 5, sealed, Buffer.from('ad'))?.toString()).toBe('hello');
    expect(aeadOpen(key, 6, sealed, Buffer.from('ad'))).toBeUndefined();
    expect(aeadOpen(Buffer.alloc(32, 8), 5, sealed, Buffer.from('ad'))).toBeUndefined();
    expect(aeadOpen(key, 5, sealed, Buffer.from('AD'))).toBeUndefined();
    const forged = Buffer.from(sealed);
    forged[forged.length - 1] ^= 1;
    expect(aeadOpen(key, 5, forged, Buffer.from('ad'))).toBeUndefined();
    expect(aeadOpen(key, 5, sealed.subarray(0, 10), Buffer.from('ad'))).toBeUndefined();
  });

  test('AEAD of the empty string is just a tag', () => {
    const key = Buffer.alloc(32, 3);
    const sealed = aeadSeal(key, 0, Buffer.alloc(0), Buffer.from('h'));
    expect(sealed).toHaveLength(16);
    expect(aeadOpen(key, 0, sealed, Buffer.from('h'))).toEqual(Buffer.alloc(0));
  });
});

describe('XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03)', () => {
  test('HChaCha20 test vector (§2.2.1)', () => {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(hchacha20(key, hex('000000090000004a0000000031415927')).toString('hex')).toBe(
      '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc',
    );
  });

  test('AEAD test vector (A.3.1)', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const ad = hex('50515253c0c1c2c3c4c5c6c7');
    const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const expected =
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e'
      + 'c0875924c1c7987947deafd8780acf49';
    const sealed = xaeadSeal(key, nonce, plaintext, ad);
    expect(sealed.toString('hex')).toBe(expected);
    expect(xaeadOpen(key, nonce, sealed, ad)).toEqual(plaintext);
    const wrongNonce = Buffer.from(nonce);
    wrongNonce[23] ^= 1;
    expect(xaeadOpen(key, wrongNonce, sealed, ad)).toBeUndefined();
  });
});

describe('X25519', () => {
  test('public keys derived from the fixture private keys match the fixture', () => {
    expect(x25519FromPrivate(decodeKey(fixture.initiatorPrivateKey, 'k')).publicKey.toString('base64')).toBe(fixture.initiatorPublicKey);
    expect(publicKeyOf(fixture.responderPrivateKey)).toBe(fixture.responderPublicKey);
  });

  test('DH agrees on both sides', () => {
    const a = x25519Generate();
    const b = x25519Generate();
    expect(dh(a.privateKey, x25519PublicKey(b.publicKey))).toEqual(dh(b.privateKey, x25519PublicKey(a.publicKey)));
  });

  test('DH with a low-order point yields no secret instead of all zeros', () => {
    const a = x25519Generate();
    expect(dh(a.privateKey, x25519PublicKey(Buffer.alloc(32)))).toBeUndefined();
  });

  test('generated private keys are clamped, valid base64 keys', () => {
    const key = generatePrivateKey();
    expect(isBase64Key(key)).toBe(true);
    const raw = decodeKey(key, 'k');
    expect(raw[0] & 7).toBe(0);
    expect(raw[31] & 0xc0).toBe(0x40);
  });

  test('key decoding rejects anything but 44-character base64 of 32 bytes, without echoing the value', () => {
    for (const bad of ['', 'abc', 'A'.repeat(44), `${'A'.repeat(43)}=`.replace(/A=$/, 'B='), 42, undefined]) {
      expect(() => decodeKey(bad, 'PrivateKey')).toThrow(/PrivateKey must be a WireGuard key/);
    }
    try {
      decodeKey('secret-value-not-a-key', 'PrivateKey');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-value');
    }
  });
});

describe('TAI64N', () => {
  test('the epoch is 2^62 + 10 seconds', () => {
    expect(tai64n(0).toString('hex')).toBe('400000000000000a00000000');
  });

  test('big-endian seconds and nanoseconds rounded down to 2^24 ns', () => {
    const t = tai64n(Date.UTC(2026, 0, 1) + 500);
    const seconds = Date.UTC(2026, 0, 1) / 1000 + 10;
    expect(t.readUInt32BE(0)).toBe(0x40000000);
    expect(t.readUInt32BE(4)).toBe(seconds);
    expect(t.readUInt32BE(8)).toBe(500_000_000 - (500_000_000 % 0x1000000));
  });

  test('later times give larger timestamps (byte order)', () => {
    expect(Buffer.compare(tai64n(1_000_000), tai64n(1_100_000))).toBe(-1);
  });
});
