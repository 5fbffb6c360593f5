/**
 * A peer's precomputed identity: what it holds, and where it is kept (an allocation of its own that
 * lives as long as the peer, apart from the short-lived session data of the session arena).
 */
import { dh, x25519FromPrivate, x25519PublicKey } from '../../../service/wireguard/crypto';
import { decodeKey, generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { NO_PRESHARED_KEY, remoteIdentity } from '../../../service/wireguard/noise';
import { sessionBlock } from '../../../service/wireguard/session-arena';

const local = x25519FromPrivate(decodeKey(generatePrivateKey(), 'local key'));
const remotePrivate = generatePrivateKey();
const remotePublic = decodeKey(publicKeyOf(remotePrivate), 'remote key');

describe('remoteIdentity', () => {
  test('holds the public key, the static shared secret and the preshared key', () => {
    const psk = decodeKey(generatePrivateKey(), 'preshared key');
    const identity = remoteIdentity(local, remotePublic, psk)!;
    expect(identity.publicKey.equals(remotePublic)).toBe(true);
    const remote = x25519FromPrivate(decodeKey(remotePrivate, 'remote key'));
    expect(identity.staticShared.equals(dh(remote.privateKey, x25519PublicKey(local.publicKey))!)).toBe(true);
    expect(identity.presharedKey.equals(psk)).toBe(true);
    expect(remoteIdentity(local, remotePublic)!.presharedKey).toBe(NO_PRESHARED_KEY);
  });

  test('is kept in a buffer of its own, not in a slab of the session arena nor in the caller\'s buffers', () => {
    const psk = decodeKey(generatePrivateKey(), 'preshared key');
    const identity = remoteIdentity(local, remotePublic, psk)!;
    // one allocation for the three keys, just their size
    expect(identity.publicKey.buffer.byteLength).toBe(96);
    expect(identity.presharedKey.buffer).toBe(identity.publicKey.buffer);
    expect(identity.staticShared.buffer).toBe(identity.publicKey.buffer);
    expect(sessionBlock(1).buffer).not.toBe(identity.publicKey.buffer);
    // the preshared key is a copy: the caller's buffer (a slice of Node's shared pool) is not held
    expect(identity.presharedKey.buffer).not.toBe(psk.buffer);
    psk.fill(0);
    expect(identity.presharedKey.equals(psk)).toBe(false);
    expect(remoteIdentity(local, remotePublic)!.publicKey.buffer.byteLength).toBe(64);
  });
});
