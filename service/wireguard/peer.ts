/**
 * Per-peer state of the WireGuard device: identity, endpoint, the three keypair slots, the
 * handshake in progress, timer deadlines and the packets waiting for a session.
 */
import type { InnerAddressing, SendCallback } from '../contracts';
import type { AllowedIps } from './allowed-ips';
import type { CookieJar } from './cookie';
import type { HandshakeState, RemoteIdentity } from './noise';
import { ReplayWindow } from './replay-window';
import { sessionBlock } from './session-arena';

/** Transport keys of one session, with its counters. */
export class Keypair {
  /** Next counter to send with. */
  sendCounter = 0;
  /** Accepted receive counters. */
  readonly replay = new ReplayWindow();
  readonly sendKey: Buffer;
  readonly receiveKey: Buffer;

  /** Copies both keys into one block of the session arena and zeroes the given ones. */
  constructor(
    sendKey: Buffer,
    receiveKey: Buffer,
    /** Our index: the receiver index the peer puts on packets for this session. */
    readonly localIndex: number,
    /** The peer's index: the receiver index we put on our packets. */
    readonly remoteIndex: number,
    /** Clock time (ms) the keys were derived. */
    readonly createdAt: number,
    /** True when we initiated the handshake that made these keys. */
    readonly isInitiator: boolean,
  ) {
    const keys = sessionBlock(sendKey.length + receiveKey.length);
    keys.set(sendKey, 0);
    keys.set(receiveKey, sendKey.length);
    sendKey.fill(0);
    receiveKey.fill(0);
    this.sendKey = keys.subarray(0, sendKey.length);
    this.receiveKey = keys.subarray(sendKey.length);
  }

  /** Overwrites the key material. */
  wipe(): void {
    this.sendKey.fill(0);
    this.receiveKey.fill(0);
  }
}

/** A handshake this side started (initiator) and is waiting to be answered. */
export interface PendingInitiation {
  readonly localIndex: number;
  readonly state: HandshakeState;
}

/** A packet waiting for a session: the plaintext (already an inner packet or raw) and who to tell. */
export interface QueuedPacket {
  readonly plaintext: Buffer;
  readonly done: SendCallback | undefined;
  /** Clock time (ms) after which it fails with NoSession. */
  readonly expiresAt: number;
}

/**
 * A peer's entry in the deadline heap: the typed timer handle a {@link Peer} holds (set by
 * PeerTimers). The heap holds at most one entry per peer; an entry taken out as due is stale
 * (skipped) once the peer's `timer` is another entry.
 */
export interface PeerDeadline {
  /** Clock time (ms) it falls due; only ever moved earlier, in place, while in the heap. */
  at: number;
  readonly peer: Peer;
  /** Position in the heap; -1 once out of it (taken out as due, removed, or the heap cleared). */
  heapIndex: number;
}

/** Everything the device knows about one peer. */
export class Peer {
  /** Where the peer was last seen (authenticated), or its configured endpoint. */
  endpointAddress: string | undefined;
  endpointPort = 0;
  /**
   * The endpoint the latest configuration gives the peer (`address:port`, as `formatEndpoint`
   * writes it); undefined without one. A reconfiguration moves the peer only when it changes.
   */
  configuredEndpoint: string | undefined;

  previous: Keypair | undefined;
  current: Keypair | undefined;
  /** Responder side: keys derived but not yet confirmed by a packet from the initiator. */
  next: Keypair | undefined;

  initiation: PendingInitiation | undefined;
  /**
   * TAI64N of the newest initiation accepted from the peer (replayed initiations are older or
   * equal), as its three big-endian 32-bit words read signed, so they are small integers held in
   * the object rather than a Buffer of 12 bytes; undefined before the first.
   */
  private timestampHigh: number | undefined;
  private timestampLow = 0;
  private timestampNanos = 0;
  lastInitiationConsumedAt = -Infinity;
  lastInitiationSentAt = -Infinity;
  /** Start of the current round of handshake attempts (give-up after Rekey-Attempt-Time). */
  attemptsStartedAt = -Infinity;
  /** Clock time of the last completed handshake; -Infinity before the first one. */
  lastHandshakeAt = -Infinity;
  /** True once a rekey was started for the current keypair because it was about to expire (receive side). */
  rekeyRequestedForCurrent = false;

  // Timer deadlines (clock ms, set through PeerTimers); 0 = not pending.
  retransmitAt = 0;
  keepaliveAt = 0;
  newHandshakeAt = 0;
  zeroKeysAt = 0;
  needAnotherKeepalive = false;
  /** Source key (handshake-limits) of a peer accepted through AllowUnknownPeers while it is half-open: no transport data received yet. */
  halfOpenSource: string | undefined;
  /** This peer's entry in the deadline heap of PeerTimers (one clock timer serves all peers). */
  timer: PeerDeadline | undefined;
  timerAt = Infinity;

  readonly queue: QueuedPacket[] = [];
  /**
   * Addressing of the newest inbound UDP packet: the default for packets sent back. `null` once the
   * peer sent raw (non-IP) data; `undefined` before anything arrived.
   */
  lastInner: InnerAddressing | null | undefined;

  constructor(
    readonly publicKey: string,
    public identity: RemoteIdentity,
    public allowedIps: AllowedIps,
    readonly cookies: CookieJar,
    /** Accepted through AllowUnknownPeers rather than configured; forgotten once its keys expire. */
    readonly dynamic: boolean,
  ) {}

  /** True when `timestamp` (12-byte TAI64N) is later than that of every initiation accepted so far. */
  isNewerTimestamp(timestamp: Buffer): boolean {
    if (this.timestampHigh === undefined) return true;
    /* eslint-disable no-bitwise -- the words compare as unsigned */
    const high = timestamp.readInt32BE(0) >>> 0;
    if (high !== this.timestampHigh >>> 0) return high > this.timestampHigh >>> 0;
    const low = timestamp.readInt32BE(4) >>> 0;
    if (low !== this.timestampLow >>> 0) return low > this.timestampLow >>> 0;
    return timestamp.readInt32BE(8) >>> 0 > this.timestampNanos >>> 0;
    /* eslint-enable no-bitwise */
  }

  /** Records the TAI64N of an accepted initiation as the newest. */
  recordTimestamp(timestamp: Buffer): void {
    this.timestampHigh = timestamp.readInt32BE(0);
    this.timestampLow = timestamp.readInt32BE(4);
    this.timestampNanos = timestamp.readInt32BE(8);
  }

  /** Follows the peer to the address its latest authenticated message came from (roaming). */
  roamTo(address: string, port: number): void {
    if (this.endpointAddress !== address || this.endpointPort !== port) {
      this.endpointAddress = address;
      this.endpointPort = port;
    }
  }

  /** All keypairs currently held. */
  keypairs(): Keypair[] {
    const out: Keypair[] = [];
    if (this.previous) out.push(this.previous);
    if (this.current) out.push(this.current);
    if (this.next) out.push(this.next);
    return out;
  }
}
