/**
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake of WireGuard (whitepaper §5.4.2–5.4.5),
 * for both roles, as pure functions over explicit state. MACs are not handled here (see
 * cookie.ts); neither are indices, timers or peers (see index-table.ts, peer-timers.ts, handshake.ts
 * and device.ts).
 */
import type { KeyObject } from 'node:crypto';
import {
  aeadOpen,
  aeadSeal,
  dh,
  hash,
  kdf1,
  kdf2,
  kdf3,
  KEY_LENGTH,
  TIMESTAMP_LENGTH,
  x25519Generate,
  x25519PublicKey,
} from './crypto';
import { encodeInitiation, encodeResponse, InitiationMessage, ResponseMessage } from './messages';

const CONSTRUCTION = Buffer.from('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s', 'ascii');
const IDENTIFIER = Buffer.from('WireGuard v1 zx2c4 Jason@zx2c4.com', 'ascii');
const EMPTY = Buffer.alloc(0);

/** C0 = HASH(CONSTRUCTION). */
export const INITIAL_CHAIN_KEY = hash(CONSTRUCTION);
/** H0 = HASH(C0 ‖ IDENTIFIER). */
export const INITIAL_HASH = hash(INITIAL_CHAIN_KEY, IDENTIFIER);

/** All-zero preshared key, used when a peer has none. */
export const NO_PRESHARED_KEY: Buffer = Buffer.alloc(KEY_LENGTH);

/** This side's static key pair. */
export interface LocalIdentity {
  readonly privateKey: KeyObject;
  readonly publicKey: Buffer;
}

/** What the handshake needs to know about the other side. */
export interface RemoteIdentity {
  readonly publicKey: Buffer;
  /**
   * The public key as a KeyObject, imported on each access: only handshakes need it, so no
   * KeyObject is held per peer between them.
   */
  readonly publicKeyObject: KeyObject;
  /** 32 bytes; {@link NO_PRESHARED_KEY} when none is configured. */
  readonly presharedKey: Buffer;
  /** DH(local static private, remote static public), computed once per peer (a view of where it is kept). */
  readonly staticShared: Buffer;
}

/** Symmetric state of a handshake in progress. */
export interface HandshakeState {
  readonly chainKey: Buffer;
  readonly hash: Buffer;
  /** Initiator: our ephemeral private key, needed to consume the response. */
  readonly localEphemeral?: KeyObject;
  /** Responder: the initiator's ephemeral public key. */
  readonly remoteEphemeral?: Buffer;
}

/** The transport keys a completed handshake yields. */
export interface SessionKeys {
  readonly sendKey: Buffer;
  readonly receiveKey: Buffer;
}

/** The first state of a handshake towards (initiator) or at (responder) `responderPublicKey`. */
function startState(responderPublicKey: Buffer): { chainKey: Buffer; hash: Buffer } {
  return { chainKey: INITIAL_CHAIN_KEY, hash: hash(INITIAL_HASH, responderPublicKey) };
}

/**
 * Initiator: builds a handshake initiation (MAC fields zero) and the state to consume the
 * response with. `timestamp` is the TAI64N of now.
 */
export function createInitiation(
  local: LocalIdentity,
  remote: RemoteIdentity,
  senderIndex: number,
  timestamp: Buffer,
): { message: Buffer; state: HandshakeState } | undefined {
  let { chainKey, hash: h } = startState(remote.publicKey);
  const ephemeral = x25519Generate();
  chainKey = kdf1(chainKey, ephemeral.publicKey);
  h = hash(h, ephemeral.publicKey);
  const es = dh(ephemeral.privateKey, remote.publicKeyObject);
  if (!es) return undefined;
  let key: Buffer;
  [chainKey, key] = kdf2(chainKey, es);
  const encryptedStatic = aeadSeal(key, 0, local.publicKey, h);
  h = hash(h, encryptedStatic);
  [chainKey, key] = kdf2(chainKey, remote.staticShared);
  const encryptedTimestamp = aeadSeal(key, 0, timestamp, h);
  h = hash(h, encryptedTimestamp);
  const message = encodeInitiation(senderIndex, ephemeral.publicKey, encryptedStatic, encryptedTimestamp);
  return { message, state: { chainKey, hash: h, localEphemeral: ephemeral.privateKey } };
}

/** Result of the first half of consuming an initiation: the initiator's claimed identity. */
export interface OpenedInitiation {
  readonly initiatorPublicKey: Buffer;
  /** Continues {@link finishInitiation} once the initiator's peer entry is known. */
  readonly chainKey: Buffer;
  readonly hash: Buffer;
  readonly remoteEphemeral: Buffer;
}

/**
 * Responder, step 1: decrypts the initiator's static public key. Returns a reason string when the
 * message does not decrypt under our key.
 */
export function openInitiation(local: LocalIdentity, message: InitiationMessage): OpenedInitiation | string {
  let { chainKey, hash: h } = startState(local.publicKey);
  chainKey = kdf1(chainKey, message.ephemeral);
  h = hash(h, message.ephemeral);
  let remoteEphemeralKey: KeyObject;
  try {
    remoteEphemeralKey = x25519PublicKey(message.ephemeral);
  } catch {
    return 'initiation ephemeral key is not a valid X25519 point';
  }
  const es = dh(local.privateKey, remoteEphemeralKey);
  if (!es) return 'initiation ephemeral key is a low-order point';
  let key: Buffer;
  [chainKey, key] = kdf2(chainKey, es);
  const initiatorPublicKey = aeadOpen(key, 0, message.encryptedStatic, h);
  if (!initiatorPublicKey) return 'initiation static key does not decrypt under this Listener\'s key';
  h = hash(h, message.encryptedStatic);
  return { initiatorPublicKey, chainKey, hash: h, remoteEphemeral: Buffer.from(message.ephemeral) };
}

/**
 * Responder, step 2: checks the initiation against the initiator's peer entry and decrypts its
 * TAI64N timestamp. Returns the state to build the response from, or a reason string.
 */
export function finishInitiation(
  opened: OpenedInitiation,
  remote: RemoteIdentity,
  message: InitiationMessage,
): { state: HandshakeState; timestamp: Buffer } | string {
  const [chainKey, key] = kdf2(opened.chainKey, remote.staticShared);
  const timestamp = aeadOpen(key, 0, message.encryptedTimestamp, opened.hash);
  if (!timestamp || timestamp.length !== TIMESTAMP_LENGTH) return 'initiation timestamp does not decrypt (static-static key mismatch)';
  const h = hash(opened.hash, message.encryptedTimestamp);
  return { state: { chainKey, hash: h, remoteEphemeral: opened.remoteEphemeral }, timestamp };
}

/**
 * Responder, step 3: builds the handshake response (MAC fields zero) and the session keys.
 * `undefined` when the initiator's ephemeral key is unusable.
 */
export function createResponse(
  state: HandshakeState,
  remote: RemoteIdentity,
  senderIndex: number,
  receiverIndex: number,
): { message: Buffer; keys: SessionKeys } | undefined {
  if (!state.remoteEphemeral) return undefined;
  const ephemeral = x25519Generate();
  let chainKey = kdf1(state.chainKey, ephemeral.publicKey);
  let h = hash(state.hash, ephemeral.publicKey);
  let remoteEphemeralKey: KeyObject;
  try {
    remoteEphemeralKey = x25519PublicKey(state.remoteEphemeral);
  } catch {
    return undefined;
  }
  const ee = dh(ephemeral.privateKey, remoteEphemeralKey);
  const se = dh(ephemeral.privateKey, remote.publicKeyObject);
  if (!ee || !se) return undefined;
  chainKey = kdf1(chainKey, ee);
  chainKey = kdf1(chainKey, se);
  let tau: Buffer;
  let key: Buffer;
  [chainKey, tau, key] = kdf3(chainKey, remote.presharedKey);
  h = hash(h, tau);
  const encryptedNothing = aeadSeal(key, 0, EMPTY, h);
  const message = encodeResponse(senderIndex, receiverIndex, ephemeral.publicKey, encryptedNothing);
  const [initiatorSend, responderSend] = kdf2(chainKey, EMPTY);
  return { message, keys: { sendKey: responderSend, receiveKey: initiatorSend } };
}

/** Initiator: consumes the handshake response; the session keys, or a reason string. */
export function consumeResponse(
  state: HandshakeState,
  local: LocalIdentity,
  remote: RemoteIdentity,
  message: ResponseMessage,
): SessionKeys | string {
  if (!state.localEphemeral) return 'no initiation in progress';
  let chainKey = kdf1(state.chainKey, message.ephemeral);
  let h = hash(state.hash, message.ephemeral);
  let responderEphemeral: KeyObject;
  try {
    responderEphemeral = x25519PublicKey(message.ephemeral);
  } catch {
    return 'response ephemeral key is not a valid X25519 point';
  }
  const ee = dh(state.localEphemeral, responderEphemeral);
  const se = dh(local.privateKey, responderEphemeral);
  if (!ee || !se) return 'response ephemeral key is a low-order point';
  chainKey = kdf1(chainKey, ee);
  chainKey = kdf1(chainKey, se);
  let tau: Buffer;
  let key: Buffer;
  [chainKey, tau, key] = kdf3(chainKey, remote.presharedKey);
  h = hash(h, tau);
  if (!aeadOpen(key, 0, message.encryptedNothing, h)) return 'response does not authenticate (wrong key or preshared key)';
  const [initiatorSend, responderSend] = kdf2(chainKey, EMPTY);
  return { sendKey: initiatorSend, receiveKey: responderSend };
}

/** A {@link RemoteIdentity} whose KeyObject is imported on demand (its key was validated once). */
class StoredRemoteIdentity implements RemoteIdentity {
  /** @param publicKey the first 32 bytes of the identity's buffer, whose next 32 are the static shared secret */
  constructor(
    readonly publicKey: Buffer,
    readonly presharedKey: Buffer,
  ) {}

  get publicKeyObject(): KeyObject {
    return x25519PublicKey(this.publicKey);
  }

  /** A view made on each access (only handshakes use it), so a peer holds one Buffer object for both keys. */
  get staticShared(): Buffer {
    return Buffer.from(this.publicKey.buffer, this.publicKey.byteOffset + KEY_LENGTH, KEY_LENGTH);
  }
}

/** Precomputes a peer's {@link RemoteIdentity}; `undefined` when its public key is unusable. */
export function remoteIdentity(local: LocalIdentity, publicKey: Buffer, presharedKey?: Buffer): RemoteIdentity | undefined {
  let publicKeyObject: KeyObject;
  try {
    publicKeyObject = x25519PublicKey(publicKey);
  } catch {
    return undefined;
  }
  const staticShared = dh(local.privateKey, publicKeyObject);
  if (!staticShared) return undefined;
  // Copied, with the preshared key, into one buffer of the identity's own, which lives as long as
  // the peer: not a slice of Node's shared pool (it would keep the whole pool chunk, full of the
  // handshake's short-lived buffers, alive) nor a block of the session arena (whose slabs hold only
  // short-lived session data, so that one long-lived block cannot keep a whole slab alive).
  const block = Buffer.alloc((presharedKey === undefined ? 2 : 3) * KEY_LENGTH);
  block.set(publicKey, 0);
  block.set(staticShared, KEY_LENGTH);
  staticShared.fill(0);
  let psk = NO_PRESHARED_KEY;
  if (presharedKey !== undefined) {
    block.set(presharedKey, 2 * KEY_LENGTH);
    psk = block.subarray(2 * KEY_LENGTH);
  }
  return new StoredRemoteIdentity(block.subarray(0, KEY_LENGTH), psk);
}
