/**
 * A minimal WireGuard client for the memory scenario, built from the service's own primitives
 * (crypto.ts, cookie.ts, messages.ts, noise.ts): it initiates one handshake with a Listener's key,
 * consumes the response and answers with the keepalive that confirms the session. It keeps no
 * timers and no state beyond one handshake, so a process can play many thousands of clients.
 *
 * Its key pairs come from `generateKeyPairSync` with the public key encoded inside the generation
 * job (DER), never from exporting a freshly generated key: on Node.js 20.20 that export can
 * deadlock the process (see docs/BENCHMARKS.md). So the initiation is written out here, step by
 * step as in the whitepaper, rather than through the service's createInitiation.
 */
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { CookieJar } from '../../service/wireguard/cookie';
import { aeadSeal, dh, hash, kdf1, kdf2, tai64n } from '../../service/wireguard/crypto';
import {
  decodeResponse,
  encodeInitiation,
  INITIATION_MAC1_OFFSET,
  INITIATION_MAC2_OFFSET,
  TRANSPORT_HEADER_LENGTH,
  writeTransportHeader,
} from '../../service/wireguard/messages';
import {
  consumeResponse,
  HandshakeState,
  INITIAL_CHAIN_KEY,
  INITIAL_HASH,
  LocalIdentity,
  remoteIdentity,
  RemoteIdentity,
} from '../../service/wireguard/noise';

/** An X25519 key pair, the raw public key taken from its DER encoding (the last 32 bytes). */
function generateIdentity(): LocalIdentity {
  // (the typings only know this form with both encodings; with the public one alone the private key stays a KeyObject)
  const generate = generateKeyPairSync as unknown as (type: 'x25519', options: object) => { privateKey: KeyObject; publicKey: Buffer };
  const { privateKey, publicKey } = generate('x25519', { publicKeyEncoding: { type: 'spki', format: 'der' } });
  return { privateKey, publicKey: Buffer.from(publicKey.subarray(publicKey.length - 32)) };
}

const EMPTY = Buffer.alloc(0);

/** One client's handshake in progress. */
export class WgHandshakeClient {
  private readonly local: LocalIdentity;
  private readonly remote: RemoteIdentity;
  private state?: HandshakeState;

  constructor(private readonly listenerPublicKey: Buffer, private readonly index: number) {
    this.local = generateIdentity();
    const remote = remoteIdentity(this.local, listenerPublicKey);
    if (!remote) throw new Error('the Listener public key is not a usable X25519 key');
    this.remote = remote;
  }

  /** The handshake initiation (148 bytes, mac1 set): Noise IKpsk2, message 1. */
  initiation(): Buffer {
    const ephemeral = generateIdentity();
    let chainKey = kdf1(INITIAL_CHAIN_KEY, ephemeral.publicKey);
    let h = hash(hash(INITIAL_HASH, this.remote.publicKey), ephemeral.publicKey);
    const es = dh(ephemeral.privateKey, this.remote.publicKeyObject);
    if (!es) throw new Error('the Listener public key is a low-order point');
    let key: Buffer;
    [chainKey, key] = kdf2(chainKey, es);
    const encryptedStatic = aeadSeal(key, 0, this.local.publicKey, h);
    h = hash(h, encryptedStatic);
    [chainKey, key] = kdf2(chainKey, this.remote.staticShared);
    const encryptedTimestamp = aeadSeal(key, 0, tai64n(Date.now()), h);
    h = hash(h, encryptedTimestamp);
    const message = encodeInitiation(this.index, ephemeral.publicKey, encryptedStatic, encryptedTimestamp);
    this.state = { chainKey, hash: h, localEphemeral: ephemeral.privateKey };
    new CookieJar(this.listenerPublicKey, () => 0).addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    return message;
  }

  /** Consumes the handshake response; returns the keepalive (transport message, counter 0) that confirms the session. */
  confirm(response: Buffer): Buffer {
    const message = decodeResponse(response);
    if (typeof message === 'string') throw new Error(`not a handshake response: ${message}`);
    if (!this.state) throw new Error('no handshake in progress');
    const keys = consumeResponse(this.state, this.local, this.remote, message);
    if (typeof keys === 'string') throw new Error(`handshake response rejected: ${keys}`);
    const sealed = aeadSeal(keys.sendKey, 0, EMPTY, EMPTY);
    const out = Buffer.allocUnsafe(TRANSPORT_HEADER_LENGTH + sealed.length);
    writeTransportHeader(out, message.sender, 0);
    sealed.copy(out, TRANSPORT_HEADER_LENGTH);
    return out;
  }
}
