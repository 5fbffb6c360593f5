/**
 * The handshakes of one device (whitepaper §5.4): sending initiations, answering initiations with
 * responses, consuming responses and cookie replies, and completing sessions. Before any
 * public-key work, every handshake message passes mac1 and, while the device is under load, mac2
 * (else it is answered with a cookie reply) and the per-source rate limit.
 *
 * It installs the keypairs a handshake derives into the peer's slots and the index table, and
 * reports to {@link PeerTimers}; sending queued data on a new session is the device's.
 */
import type { Failure, FailureCode } from '../contracts';
import type { Clock } from './clock';
import { CookieChecker, cookieSource } from './cookie';
import { tai64n } from './crypto';
import { HandshakeLoadMeter, SourceRateLimiter } from './handshake-limits';
import type { IndexTable } from './index-table';
import { encodeKey } from './keys';
import {
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  INITIATION_MAC1_OFFSET,
  INITIATION_MAC2_OFFSET,
  RESPONSE_MAC1_OFFSET,
  RESPONSE_MAC2_OFFSET,
} from './messages';
import { consumeResponse, createInitiation, createResponse, finishInitiation, LocalIdentity, openInitiation, remoteIdentity, RemoteIdentity } from './noise';
import { Keypair, Peer } from './peer';
import type { PeerTimers } from './peer-timers';
import type { WireGuardTimers } from './timers';

/** The peers a handshake may be for. */
export interface HandshakePeers {
  get(peerKey: string): Peer | undefined;
  /** Why a handshake from the unknown key `peerKey`, sent from `address`, is refused; undefined when it may become a peer. */
  refuseUnknown(peerKey: string, address: string): Failure | undefined;
  /** Adds a peer accepted through AllowUnknownPeers, half-open until it sends transport data. */
  addUnknown(peerKey: string, identity: RemoteIdentity, address: string): Peer;
}

/** Counters of handshake activity (fields of the device's counters). */
export interface HandshakeCounters {
  handshakesCompleted: number;
  initiationsSent: number;
  responsesSent: number;
  cookieRepliesSent: number;
}

/** Counts and reports a dropped datagram; returns 'dropped'. */
export type DropDatagram = (code: FailureCode, reason: string, address: string, port: number, peerKey?: string) => 'dropped';

/** Everything the handshakes of one device work with. */
export interface HandshakeSettings {
  readonly local: LocalIdentity;
  readonly limits: WireGuardTimers;
  readonly clock: Clock;
  readonly peers: HandshakePeers;
  readonly indices: IndexTable;
  readonly timers: PeerTimers;
  readonly counters: HandshakeCounters;
  /** Handshake messages per second above which cookies are demanded. */
  readonly loadThreshold: number;
  /** Handshakes per second one source may complete while under load. */
  readonly sourceHandshakesPerSecond: number;
  /** Burst of handshakes one source may send while under load. */
  readonly sourceHandshakeBurst: number;
  readonly drop: DropDatagram;
  /** Puts a handshake message or cookie reply on the wire. */
  transmit(datagram: Buffer, address: string, port: number): void;
  /** A handshake completed and a new session is ready (observability). */
  completed?(peerKey: string, initiator: boolean): void;
  /**
   * A response of `peer` to our initiation authenticated (proof the peer holds its key now; an
   * initiation is no such proof: it can be replayed).
   */
  authenticated?(peer: Peer): void;
  /** The initiator has a new current session: send what waited for it, or a keepalive confirming it. */
  sendOnNewSession(peer: Peer, now: number): void;
}

/** Initiates, answers and completes the handshakes of one device. */
export class Handshakes {
  private readonly cookieChecker: CookieChecker;
  private readonly loadMeter: HandshakeLoadMeter;
  private readonly sourceLimiter: SourceRateLimiter;
  private closed = false;

  constructor(private readonly settings: HandshakeSettings) {
    const clock = settings.clock;
    this.cookieChecker = new CookieChecker(settings.local.publicKey, () => clock.now());
    this.loadMeter = new HandshakeLoadMeter(settings.loadThreshold);
    this.sourceLimiter = new SourceRateLimiter(settings.sourceHandshakesPerSecond, settings.sourceHandshakeBurst);
  }

  /** No initiation goes out any more. */
  close(): void {
    this.closed = true;
  }

  // ---------------------------------------------------------------- initiator

  /** Sends a handshake initiation unless one went out less than Rekey-Timeout ago; true when sent. */
  initiate(peer: Peer, isRetry: boolean): boolean {
    if (peer.endpointAddress === undefined || this.closed) return false;
    const { clock, indices } = this.settings;
    const now = clock.now();
    if (now - peer.lastInitiationSentAt < this.settings.limits.rekeyTimeoutMs) return false;
    const localIndex = indices.allocate();
    const created = createInitiation(this.settings.local, peer.identity, localIndex, tai64n(clock.epochMs()));
    if (!created) return false;
    peer.cookies.addMacs(created.message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    this.abandonInitiation(peer);
    peer.initiation = { localIndex, state: created.state };
    indices.setHandshake(localIndex, peer);
    peer.lastInitiationSentAt = now;
    this.settings.counters.initiationsSent++;
    this.settings.timers.handshakeInitiated(peer, now, isRetry);
    this.transmitTo(peer, created.message);
    return true;
  }

  /** Forgets the peer's initiation in progress, if any (its index with it). */
  abandonInitiation(peer: Peer): void {
    if (peer.initiation) {
      this.settings.indices.delete(peer.initiation.localIndex);
      peer.initiation = undefined;
    }
  }

  /** Processes a handshake response to one of our initiations. */
  receiveResponse(datagram: Buffer, address: string, port: number): 'handshake' | 'dropped' {
    const { drop, indices, timers } = this.settings;
    const message = decodeResponse(datagram);
    if (typeof message === 'string') return drop('HandshakeInvalid', message, address, port);
    if (!this.admit(datagram, RESPONSE_MAC1_OFFSET, RESPONSE_MAC2_OFFSET, message.sender, address, port)) return 'dropped';
    const entry = indices.get(message.receiver);
    const peer = entry?.peer;
    if (!entry || entry.keypair || !peer?.initiation || peer.initiation.localIndex !== message.receiver) {
      return drop('HandshakeInvalid', `handshake response for receiver index ${message.receiver}, which has no initiation in progress`, address, port);
    }
    const keys = consumeResponse(peer.initiation.state, this.settings.local, peer.identity, message);
    if (typeof keys === 'string') return drop('HandshakeInvalid', keys, address, port, peer.publicKey);
    const now = this.settings.clock.now();
    const keypair = new Keypair(keys.sendKey, keys.receiveKey, message.receiver, message.sender, now, true);
    peer.initiation = undefined;
    this.settings.authenticated?.(peer);
    // Initiator: the new keys are current at once; the old current (or an unconfirmed next) becomes previous.
    if (peer.next) {
      if (peer.current) indices.retire(peer.current);
      if (peer.previous) indices.retire(peer.previous);
      peer.previous = peer.next;
      peer.next = undefined;
    } else {
      if (peer.previous) indices.retire(peer.previous);
      peer.previous = peer.current;
    }
    peer.current = keypair;
    indices.setSession(message.receiver, peer, keypair);
    peer.roamTo(address, port);
    this.complete(peer, now, true);
    timers.anyAuthenticatedPacketReceived(peer);
    timers.sessionDerived(peer, now);
    this.settings.sendOnNewSession(peer, now);
    return 'handshake';
  }

  /** Processes a cookie reply to one of our handshake messages. */
  receiveCookieReply(datagram: Buffer, address: string, port: number): 'cookie' | 'dropped' {
    const drop = this.settings.drop;
    const message = decodeCookieReply(datagram);
    if (typeof message === 'string') return drop('HandshakeInvalid', message, address, port);
    const entry = this.settings.indices.get(message.receiver);
    if (!entry) return drop('HandshakeInvalid', `cookie reply for unknown receiver index ${message.receiver}`, address, port);
    const problem = entry.peer.cookies.consumeReply(message);
    if (problem) return drop('HandshakeInvalid', problem, address, port, entry.peer.publicKey);
    return 'cookie';
  }

  // ---------------------------------------------------------------- responder

  /** Processes a handshake initiation: answers it and keeps the new keys in `next` until confirmed. */
  receiveInitiation(datagram: Buffer, address: string, port: number): 'handshake' | 'dropped' {
    const { drop, indices, timers, local, peers } = this.settings;
    const message = decodeInitiation(datagram);
    if (typeof message === 'string') return drop('HandshakeInvalid', message, address, port);
    if (!this.admit(datagram, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET, message.sender, address, port)) return 'dropped';
    const opened = openInitiation(local, message);
    if (typeof opened === 'string') return drop('HandshakeInvalid', opened, address, port);
    const peerKey = encodeKey(opened.initiatorPublicKey);
    let peer = peers.get(peerKey);
    let identity = peer?.identity;
    if (!peer) {
      const refused = peers.refuseUnknown(peerKey, address);
      if (refused) return drop(refused.code, refused.reason, address, port, peerKey);
      identity = remoteIdentity(local, opened.initiatorPublicKey);
      if (!identity) return drop('HandshakeInvalid', `peer key ${peerKey} is not a usable X25519 public key`, address, port, peerKey);
    }
    const finished = finishInitiation(opened, identity!, message);
    if (typeof finished === 'string') return drop('HandshakeInvalid', finished, address, port, peerKey);
    const now = this.settings.clock.now();
    if (peer) {
      if (!peer.isNewerTimestamp(finished.timestamp)) {
        return drop('Replay', `handshake initiation from ${peerKey} is not newer than the last one (replayed)`, address, port, peerKey);
      }
      const minInterval = this.settings.limits.initiationMinIntervalMs;
      if (now - peer.lastInitiationConsumedAt < minInterval) {
        return drop('RateLimited', `handshake initiations from ${peerKey} arrive faster than one per ${minInterval} ms`, address, port, peerKey);
      }
    } else {
      peer = peers.addUnknown(peerKey, identity!, address);
    }
    // One slot per peer, overwritten by each accepted initiation.
    peer.recordTimestamp(finished.timestamp);
    peer.lastInitiationConsumedAt = now;

    const localIndex = indices.allocate();
    const response = createResponse(finished.state, peer.identity, localIndex, message.sender);
    if (!response) return drop('HandshakeInvalid', 'initiation ephemeral key is unusable', address, port, peerKey);
    peer.cookies.addMacs(response.message, RESPONSE_MAC1_OFFSET, RESPONSE_MAC2_OFFSET);

    // Responder: the new keys wait in `next` until the initiator's first packet confirms them.
    this.abandonInitiation(peer);
    const keypair = new Keypair(response.keys.sendKey, response.keys.receiveKey, localIndex, message.sender, now, false);
    if (peer.next) indices.retire(peer.next);
    if (peer.previous) indices.retire(peer.previous);
    peer.previous = undefined;
    peer.next = keypair;
    indices.setSession(localIndex, peer, keypair);
    // The response goes where the initiation came from, but a known endpoint stays until
    // transport data under the new keys proves the initiator holds them: an initiation can be
    // replayed (after a restart no earlier timestamp is known to refuse it), a transport message
    // cannot. A peer without an endpoint learns this one.
    if (peer.endpointAddress === undefined) peer.roamTo(address, port);
    timers.anyAuthenticatedPacketReceived(peer);
    timers.sessionDerived(peer, now);
    this.settings.counters.responsesSent++;
    this.settings.timers.anyAuthenticatedPacketSent(peer);
    this.settings.transmit(response.message, address, port);
    return 'handshake';
  }

  /** The initiator used the keys in `next`: they become current and the handshake is complete. */
  confirmNext(peer: Peer, now: number): void {
    if (peer.previous) this.settings.indices.retire(peer.previous);
    peer.previous = peer.current;
    peer.current = peer.next;
    peer.next = undefined;
    this.complete(peer, now, false);
  }

  // ---------------------------------------------------------------- shared

  private complete(peer: Peer, now: number, initiator: boolean): void {
    this.settings.timers.handshakeComplete(peer);
    peer.lastHandshakeAt = now;
    peer.rekeyRequestedForCurrent = false;
    this.settings.counters.handshakesCompleted++;
    this.settings.completed?.(peer.publicKey, initiator);
  }

  /** Handshake messages go to the peer's current endpoint. */
  private transmitTo(peer: Peer, message: Buffer): void {
    this.settings.timers.anyAuthenticatedPacketSent(peer);
    this.settings.transmit(message, peer.endpointAddress!, peer.endpointPort);
  }

  /**
   * Checks mac1, counts the message towards the load, and while under load demands a valid mac2
   * (answering with a cookie reply) and applies the per-source rate limit. True when the message
   * may be processed.
   */
  private admit(datagram: Buffer, mac1Offset: number, mac2Offset: number, sender: number, address: string, port: number): boolean {
    const drop = this.settings.drop;
    if (!this.cookieChecker.checkMac1(datagram, mac1Offset)) {
      drop('HandshakeInvalid', 'handshake message has an invalid mac1 (not addressed to this Listener\'s public key)', address, port);
      return false;
    }
    const now = this.settings.clock.now();
    if (!this.loadMeter.record(now)) return true;
    const source = cookieSource(address, port);
    if (!this.cookieChecker.checkMac2(datagram, mac2Offset, source)) {
      this.settings.transmit(this.cookieChecker.createReply(datagram, mac1Offset, sender, source), address, port);
      this.settings.counters.cookieRepliesSent++;
      drop('RateLimited', 'under handshake load: message without a valid cookie answered with a cookie reply', address, port);
      return false;
    }
    if (!this.sourceLimiter.allow(address, now)) {
      drop('RateLimited', `under handshake load: source ${address} exceeds its handshake rate`, address, port);
      return false;
    }
    return true;
  }
}
