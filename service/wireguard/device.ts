/**
 * A userspace WireGuard endpoint without a TUN device: it owns the peers and their sessions,
 * turns received datagrams into decrypted inner payloads (or structured failures) and payloads to
 * send into encrypted datagrams. It performs no I/O itself: datagrams to put on the wire go to
 * {@link DeviceOutput.transmit}, and time comes from an injectable {@link Clock}.
 *
 * Hot path (transport data): no promises, no per-packet timers; a handful of small allocations
 * (the cipher object, the plaintext and ciphertext buffers, the `Inner` object when delivered).
 */
import { createCipheriv, createDecipheriv, randomInt } from 'node:crypto';
import type { Failure, FailureCode, InnerAddressing, SendCallback } from '../contracts';
import { AllowedIps } from './allowed-ips';
import { Clock, SYSTEM_CLOCK, TimerHandle } from './clock';
import { CookieChecker, CookieJar, cookieSource } from './cookie';
import { tai64n, TAG_LENGTH, writeCounterNonce, x25519FromPrivate } from './crypto';
import { HandshakeLoadMeter, SourceRateLimiter } from './handshake-limits';
import { parseInnerPacket, PROTOCOL_UDP, UdpPacketAddressing, udpPacketLength, writeUdpPacket } from './inner-packet';
import { decodeKey, encodeKey } from './keys';
import {
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  INITIATION_MAC1_OFFSET,
  INITIATION_MAC2_OFFSET,
  MAX_DATAGRAM_LENGTH,
  messageType,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  readCounter,
  RESPONSE_MAC1_OFFSET,
  RESPONSE_MAC2_OFFSET,
  TRANSPORT_HEADER_LENGTH,
  TRANSPORT_MIN_LENGTH,
  writeTransportHeader,
} from './messages';
import {
  consumeResponse,
  createInitiation,
  createResponse,
  finishInitiation,
  LocalIdentity,
  NO_PRESHARED_KEY,
  openInitiation,
  remoteIdentity,
  RemoteIdentity,
} from './noise';
import { Keypair, Peer } from './peer';
import { resolveTimers, WireGuardTimers } from './timers';
import { formatIpAddress, parseIpAddress } from '../../lib/private/network';

/** Largest inner packet (plaintext) that still fits one outer datagram. */
export const MAX_INNER_PACKET_LENGTH = MAX_DATAGRAM_LENGTH - TRANSPORT_MIN_LENGTH;

/** A configured peer. */
export interface WireGuardPeerConfig {
  /** Base64 public key. */
  readonly publicKey: string;
  /** Inner addresses the peer may use (CIDRs). @default - none: every inner IP packet is an AllowedIpsViolation */
  readonly allowedIps?: readonly string[];
  /** Base64 preshared key. @default - none */
  readonly presharedKey?: string;
  /** Endpoint to initiate to before the peer has spoken: `a.b.c.d:port` or `[v6]:port`. @default - learned from the peer */
  readonly endpoint?: string;
}

/** Parsed inner addresses kept per device (emptied when full). */
const INNER_ADDRESS_CACHE_SIZE = 1024;

/** Where the device's results go. Called synchronously from `receive`, `send` and timers. */
export interface DeviceOutput {
  /** Put `datagram` on the wire to `address:port`; call `done` once sent or failed. */
  transmit(datagram: Buffer, address: string, port: number, done?: SendCallback): void;
  /** A decrypted payload from an authenticated peer. */
  deliver(peerKey: string, data: Buffer, inner: InnerAddressing | undefined, remoteAddress: string, remotePort: number): void;
  /** A datagram was dropped, or a send without a callback failed. */
  reportFailure(failure: Failure, remoteAddress: string | undefined, remotePort: number | undefined, peerKey: string | undefined): void;
  /** A handshake completed and a new session is ready (optional; observability and tests). */
  handshakeCompleted?(peerKey: string, initiator: boolean): void;
}

/** Settings of a {@link WireGuardDevice}. */
export interface WireGuardDeviceOptions {
  /** Our base64 private key. Never logged. */
  readonly privateKey: string;
  readonly peers?: readonly WireGuardPeerConfig[];
  /** Accept handshakes from any static key; such peers may use every inner address. @default false */
  readonly allowUnknownPeers?: boolean;
  /** Most peers accepted through allowUnknownPeers at once. @default 10000 */
  readonly maxUnknownPeers?: number;
  /**
   * Deliver the inner UDP payload with its `Inner` addressing (true), or the whole inner IP packet
   * (false). Payloads that are not IP packets are delivered as they are either way. @default true
   */
  readonly decapsulatedDelivery?: boolean;
  /**
   * The gateway's own inner addresses (at most one IPv4 and one IPv6): the inner source of packets
   * it originates when neither `Inner` nor an earlier packet of the peer says otherwise.
   * @default ['10.99.0.1', 'fd99::1']
   */
  readonly tunnelAddresses?: readonly string[];
  /** Inner UDP port used on both ends when neither `Inner` nor an earlier packet says otherwise. @default 51820 */
  readonly tunnelPort?: number;
  /**
   * Handshake messages per second above which the device is under load and demands cookies. A
   * responder handshake costs about 0.7 ms of CPU (four X25519 operations), so the default keeps
   * well below what one core can answer. @default 500
   */
  readonly handshakeLoadThreshold?: number;
  /** Handshakes per second one source IP (IPv6: /64) may complete while under load. @default 20 */
  readonly sourceHandshakesPerSecond?: number;
  /** Burst of handshakes one source may send while under load. @default 5 */
  readonly sourceHandshakeBurst?: number;
  /** Packets per peer that may wait for a handshake. @default 128 */
  readonly sendQueueLength?: number;
  /** Longest wait for a session before a queued packet fails with NoSession (ms). @default 10000 */
  readonly sendQueueTimeoutMs?: number;
  /** Tunnel MTU: plaintext is padded to a multiple of 16 but not beyond it. @default 1420 */
  readonly mtu?: number;
  /** Protocol limits (shortened in tests). @default DEFAULT_TIMERS */
  readonly timers?: Partial<WireGuardTimers>;
  /** @default SYSTEM_CLOCK */
  readonly clock?: Clock;
  /** Uniform random in [0, 1) for timer jitter. @default Math.random */
  readonly random?: () => number;
  readonly output: DeviceOutput;
}

/** What `receive` did with a datagram. */
export type ReceiveOutcome = 'data' | 'keepalive' | 'handshake' | 'cookie' | 'dropped';

/** Counters of the device's activity, for metrics and tests. */
export interface DeviceCounters {
  datagramsReceived: number;
  dataDelivered: number;
  keepalivesReceived: number;
  handshakesCompleted: number;
  initiationsSent: number;
  responsesSent: number;
  cookieRepliesSent: number;
  transportSent: number;
  keepalivesSent: number;
  dropped: number;
  droppedByCode: Partial<Record<FailureCode, number>>;
}

/** Public view of one peer's state. */
export interface PeerStatus {
  readonly publicKey: string;
  readonly endpoint: { readonly address: string; readonly port: number } | undefined;
  /** True when a session can carry data now (a current keypair younger than Reject-After-Time). */
  readonly hasSession: boolean;
  /** Clock time (ms) of the last completed handshake; undefined before the first one. */
  readonly lastHandshakeAt: number | undefined;
  /** Clock time (ms) the current keys were derived. */
  readonly sessionCreatedAt: number | undefined;
  /** Packets waiting for a handshake. */
  readonly queued: number;
  readonly dynamic: boolean;
}

interface IndexEntry {
  readonly peer: Peer;
  /** Undefined while the index names a handshake in progress. */
  readonly keypair: Keypair | undefined;
}

const EMPTY = Buffer.alloc(0);

function failure(code: FailureCode, reason: string): Failure {
  return { code, reason };
}

/**
 * A WireGuard endpoint (one private key, many peers), independent of sockets.
 *
 * ```ts
 * const device = new WireGuardDevice({ privateKey, peers, output });
 * socket.on('message', (msg, rinfo) => device.receive(msg, rinfo.address, rinfo.port));
 * device.send(peerKey, payload, inner, done);
 * ```
 */
export class WireGuardDevice {
  /** Our base64 public key. */
  readonly publicKey: string;
  readonly counters: DeviceCounters = {
    datagramsReceived: 0,
    dataDelivered: 0,
    keepalivesReceived: 0,
    handshakesCompleted: 0,
    initiationsSent: 0,
    responsesSent: 0,
    cookieRepliesSent: 0,
    transportSent: 0,
    keepalivesSent: 0,
    dropped: 0,
    droppedByCode: {},
  };

  private readonly local: LocalIdentity;
  private readonly timers: WireGuardTimers;
  private readonly clock: Clock;
  /** Every peer's next timer deadline (plus stale ones, skipped when due), earliest first. */
  private readonly deadlines = new DeadlineHeap();
  /** The one timer of the device, set for the earliest deadline. */
  private wakeTimer: TimerHandle | undefined;
  private wakeAt = Infinity;
  /** The clock's `now`, one function shared by every peer's cookie jar. */
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly output: DeviceOutput;
  private readonly cookieChecker: CookieChecker;
  private readonly loadMeter: HandshakeLoadMeter;
  private readonly sourceLimiter: SourceRateLimiter;
  private readonly peers = new Map<string, Peer>();
  private readonly indices = new Map<number, IndexEntry>();
  private readonly decapsulated: boolean;
  private readonly maxUnknownPeers: number;
  private readonly queueLength: number;
  private readonly queueTimeoutMs: number;
  private readonly mtu: number;
  private readonly tunnelPort: number;
  private tunnelAddress4: Buffer | undefined;
  private tunnelAddress6: Buffer | undefined;
  private allowUnknownPeers: boolean;
  private dynamicPeers = 0;
  private closed = false;
  private readonly nonce = Buffer.alloc(12);
  private readonly scratch = Buffer.alloc(MAX_INNER_PACKET_LENGTH + 16);
  /** Inner addresses of sends, parsed once: senders repeat the same few addresses packet after packet. */
  private readonly innerAddresses = new Map<string, InnerAddress | undefined>();

  constructor(options: WireGuardDeviceOptions) {
    const pair = x25519FromPrivate(decodeKey(options.privateKey, 'WireGuard private key'));
    this.local = { privateKey: pair.privateKey, publicKey: pair.publicKey };
    this.publicKey = encodeKey(pair.publicKey);
    this.timers = resolveTimers(options.timers);
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.now = () => this.clock.now();
    this.random = options.random ?? Math.random;
    this.output = options.output;
    this.decapsulated = options.decapsulatedDelivery ?? true;
    this.allowUnknownPeers = options.allowUnknownPeers ?? false;
    this.maxUnknownPeers = positiveInteger(options.maxUnknownPeers ?? 10_000, 'maxUnknownPeers');
    this.queueLength = positiveInteger(options.sendQueueLength ?? 128, 'sendQueueLength');
    this.queueTimeoutMs = positiveInteger(options.sendQueueTimeoutMs ?? 10_000, 'sendQueueTimeoutMs');
    this.mtu = positiveInteger(options.mtu ?? 1420, 'mtu');
    this.tunnelPort = validPort(options.tunnelPort ?? 51820, 'tunnelPort');
    this.setTunnelAddresses(options.tunnelAddresses ?? ['10.99.0.1', 'fd99::1']);
    this.cookieChecker = new CookieChecker(this.local.publicKey, this.now);
    this.loadMeter = new HandshakeLoadMeter(positiveInteger(options.handshakeLoadThreshold ?? 500, 'handshakeLoadThreshold'));
    this.sourceLimiter = new SourceRateLimiter(
      positiveInteger(options.sourceHandshakesPerSecond ?? 20, 'sourceHandshakesPerSecond'),
      positiveInteger(options.sourceHandshakeBurst ?? 5, 'sourceHandshakeBurst'),
    );
    this.setPeers(options.peers ?? []);
  }

  // ---------------------------------------------------------------- configuration

  /**
   * Replaces the configured peers: new ones are added, missing ones removed (their sessions
   * end and their queued packets fail with UnknownPeer), existing ones get the new AllowedIPs,
   * preshared key and endpoint while keeping their sessions. Peers accepted through
   * AllowUnknownPeers are kept. Throws (changing nothing) when a peer entry is invalid.
   */
  setPeers(configs: readonly WireGuardPeerConfig[]): void {
    const parsed = new Map<string, { identity: RemoteIdentity; allowed: AllowedIps; endpoint?: { address: string; port: number } }>();
    configs.forEach((config, index) => {
      const what = `Peers[${index}]`;
      const key = decodeKey(config.publicKey, `${what}.PublicKey`);
      const psk = config.presharedKey === undefined ? undefined : decodeKey(config.presharedKey, `${what}.PresharedKey`);
      const identity = remoteIdentity(this.local, key, psk);
      if (!identity) throw new Error(`${what}.PublicKey ${config.publicKey} is not a usable X25519 public key`);
      if (encodeKey(key) === this.publicKey) throw new Error(`${what}.PublicKey is the Listener's own public key`);
      if (parsed.has(config.publicKey)) throw new Error(`${what}.PublicKey ${config.publicKey} is listed twice`);
      const allowed = AllowedIps.parse(config.allowedIps ?? [], `${what}.AllowedIPs`);
      const endpoint = config.endpoint === undefined ? undefined : parseEndpoint(config.endpoint, `${what}.Endpoint`);
      parsed.set(config.publicKey, { identity, allowed, endpoint });
    });
    for (const peer of [...this.peers.values()]) {
      if (!peer.dynamic && !parsed.has(peer.publicKey)) this.removePeer(peer, 'UnknownPeer', `peer ${peer.publicKey} was removed from the Listener`);
    }
    for (const [key, entry] of parsed) {
      let peer = this.peers.get(key);
      if (peer && peer.dynamic) {
        // A configured entry takes over a peer that so far was only accepted as unknown.
        this.removePeer(peer, 'UnknownPeer', `peer ${key} was reconfigured`);
        peer = undefined;
      }
      if (!peer) {
        peer = new Peer(key, entry.identity, entry.allowed, new CookieJar(entry.identity.publicKey, this.now), false);
        this.peers.set(key, peer);
      } else {
        peer.identity = entry.identity;
        peer.allowedIps = entry.allowed;
      }
      if (entry.endpoint) {
        peer.endpointAddress = entry.endpoint.address;
        peer.endpointPort = entry.endpoint.port;
      }
    }
  }

  /** Turns AllowUnknownPeers on or off; turning it off forgets the peers it accepted. */
  setAllowUnknownPeers(allow: boolean): void {
    this.allowUnknownPeers = allow;
    if (!allow) {
      for (const peer of [...this.peers.values()]) if (peer.dynamic) this.removePeer(peer, 'UnknownPeer', `unknown peers are no longer accepted (peer ${peer.publicKey})`);
    }
  }

  /** Sets the gateway's own inner addresses (one IPv4 and/or one IPv6). Throws on a bad address. */
  setTunnelAddresses(addresses: readonly string[]): void {
    let v4: Buffer | undefined;
    let v6: Buffer | undefined;
    for (const address of addresses) {
      const bytes = typeof address === 'string' ? parseIpAddress(address) : undefined;
      if (!bytes) throw new Error(`TunnelAddresses: '${String(address)}' is not an IPv4 or IPv6 address`);
      if (bytes.length === 4) v4 = v4 ?? bytes;
      else v6 = v6 ?? bytes;
    }
    this.tunnelAddress4 = v4;
    this.tunnelAddress6 = v6;
  }

  /**
   * Gives a peer without an endpoint one to be reached at (a configured host name once resolved,
   * or an endpoint named by the sender of a packet); an endpoint the peer already has (learned
   * from its authenticated packets or configured) is kept. Returns false for an unknown peer or an
   * address that is not an IP literal.
   */
  setPeerEndpointIfUnknown(peerKey: string, address: string, port: number): boolean {
    const peer = this.peers.get(peerKey);
    const bytes = typeof address === 'string' ? parseIpAddress(address) : undefined;
    if (!peer || !bytes || !isPort(port)) return false;
    if (peer.endpointAddress !== undefined) return true;
    peer.endpointAddress = formatIpAddress(bytes);
    peer.endpointPort = port;
    return true;
  }

  /** The base64 preshared key in use for a peer (to carry it over a reconfiguration), if it has one. */
  presharedKeyOf(peerKey: string): string | undefined {
    const psk = this.peers.get(peerKey)?.identity.presharedKey;
    return psk === undefined || psk === NO_PRESHARED_KEY ? undefined : encodeKey(psk);
  }

  /** The address of the peer's current endpoint (learned or configured), or undefined (also for an unknown peer). Allocation-free. */
  peerEndpointAddress(peerKey: string): string | undefined {
    return this.peers.get(peerKey)?.endpointAddress;
  }

  /** The port of the peer's current endpoint; 0 when it has none. */
  peerEndpointPort(peerKey: string): number {
    const peer = this.peers.get(peerKey);
    return peer?.endpointAddress === undefined ? 0 : peer.endpointPort;
  }

  /** True when `peerKey` is a configured or currently accepted peer. */
  hasPeer(peerKey: string): boolean {
    return this.peers.has(peerKey);
  }

  /** State of one peer, or undefined when unknown. */
  peerStatus(peerKey: string): PeerStatus | undefined {
    const peer = this.peers.get(peerKey);
    if (!peer) return undefined;
    const now = this.clock.now();
    const current = peer.current;
    return {
      publicKey: peer.publicKey,
      endpoint: peer.endpointAddress === undefined ? undefined : { address: peer.endpointAddress, port: peer.endpointPort },
      hasSession: current !== undefined && this.usableForSending(current, now),
      lastHandshakeAt: peer.lastHandshakeAt === -Infinity ? undefined : peer.lastHandshakeAt,
      sessionCreatedAt: current?.createdAt,
      queued: peer.queue.length,
      dynamic: peer.dynamic,
    };
  }

  /** Public keys of all known peers. */
  peerKeys(): string[] {
    return [...this.peers.keys()];
  }

  /** Stops all timers, fails queued packets with NoSession and wipes session keys. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    for (const peer of [...this.peers.values()]) this.removePeer(peer, 'NoSession', 'the Listener is closing');
    this.deadlines.clear();
  }

  // ---------------------------------------------------------------- receive

  /**
   * Processes one datagram from `remoteAddress:remotePort`. Never throws: results go to the
   * output (deliver / transmit / reportFailure), and the outcome is returned for convenience.
   */
  receive(datagram: Buffer, remoteAddress: string, remotePort: number): ReceiveOutcome {
    if (this.closed) return 'dropped';
    this.counters.datagramsReceived++;
    try {
      switch (messageType(datagram)) {
        case MESSAGE_TRANSPORT:
          return this.receiveTransport(datagram, remoteAddress, remotePort);
        case MESSAGE_INITIATION:
          return this.receiveInitiation(datagram, remoteAddress, remotePort);
        case MESSAGE_RESPONSE:
          return this.receiveResponse(datagram, remoteAddress, remotePort);
        case MESSAGE_COOKIE_REPLY:
          return this.receiveCookieReply(datagram, remoteAddress, remotePort);
        default:
          return this.drop(
            'InvalidData',
            `not a WireGuard message (${datagram.length} bytes; a message starts with type 1–4 and three zero bytes)`,
            remoteAddress,
            remotePort,
          );
      }
    } catch (error) {
      return this.drop('InvalidData', `datagram could not be processed: ${(error as Error).message}`, remoteAddress, remotePort);
    }
  }

  private drop(code: FailureCode, reason: string, address: string | undefined, port: number | undefined, peerKey?: string): 'dropped' {
    this.counters.dropped++;
    this.counters.droppedByCode[code] = (this.counters.droppedByCode[code] ?? 0) + 1;
    try {
      this.output.reportFailure(failure(code, reason), address, port, peerKey);
    } catch {
      // Reporting must never turn a dropped datagram into an exception.
    }
    return 'dropped';
  }

  private receiveTransport(datagram: Buffer, address: string, port: number): ReceiveOutcome {
    if (datagram.length < TRANSPORT_MIN_LENGTH) {
      return this.drop('DecryptFailed', `transport message of ${datagram.length} bytes is shorter than ${TRANSPORT_MIN_LENGTH}`, address, port);
    }
    const receiver = datagram.readUInt32LE(4);
    const entry = this.indices.get(receiver);
    if (!entry || !entry.keypair) {
      return this.drop('NoSession', `no session has receiver index ${receiver} (expired, or the gateway restarted)`, address, port);
    }
    const { peer, keypair } = entry;
    const now = this.clock.now();
    if (now - keypair.createdAt >= this.timers.rejectAfterTimeMs) {
      return this.drop('NoSession', `session ${receiver} is older than Reject-After-Time`, address, port, peer.publicKey);
    }
    const counter = readCounter(datagram, 8);
    if (!keypair.replay.mayAccept(counter, this.timers.rejectAfterMessages)) {
      return this.drop('Replay', `counter ${counter} of session ${receiver} was already received or is outside the replay window`, address, port, peer.publicKey);
    }
    const plaintext = this.open(keypair.receiveKey, counter, datagram);
    if (!plaintext) return this.drop('DecryptFailed', `transport message for session ${receiver} does not authenticate`, address, port, peer.publicKey);
    if (!keypair.replay.accept(counter, this.timers.rejectAfterMessages)) {
      return this.drop('Replay', `counter ${counter} of session ${receiver} was already received`, address, port, peer.publicKey);
    }

    // Authenticated from here on.
    this.roam(peer, address, port);
    if (peer.next === keypair) this.confirmNext(peer, now);
    this.keepKeyFreshReceiving(peer, keypair, now);
    peer.newHandshakeAt = 0;

    if (plaintext.length === 0) {
      this.counters.keepalivesReceived++;
      return 'keepalive';
    }
    if (peer.keepaliveAt === 0) this.schedule(peer, 'keepaliveAt', now + this.timers.keepaliveTimeoutMs);
    else peer.needAnotherKeepalive = true;
    return this.deliverPlaintext(peer, plaintext, address, port);
  }

  private deliverPlaintext(peer: Peer, plaintext: Buffer, address: string, port: number): ReceiveOutcome {
    const packet = parseInnerPacket(plaintext);
    if (typeof packet === 'string') return this.drop('InvalidData', packet, address, port, peer.publicKey);
    if (!packet) {
      peer.lastInner = null;
      this.counters.dataDelivered++;
      this.output.deliver(peer.publicKey, plaintext, undefined, address, port);
      return 'data';
    }
    if (!peer.allowedIps.contains(packet.sourceAddress, packet.version)) {
      return this.drop('AllowedIpsViolation', `inner source ${packet.sourceAddress} is not in the AllowedIPs of peer ${peer.publicKey}`, address, port, peer.publicKey);
    }
    if (!this.decapsulated) {
      this.counters.dataDelivered++;
      this.output.deliver(peer.publicKey, packet.packet, undefined, address, port);
      return 'data';
    }
    if (packet.fragment) {
      return this.drop('InvalidData', `inner IPv${packet.version} packet from ${packet.sourceAddress} is a fragment; fragments are not reassembled`, address, port, peer.publicKey);
    }
    const inner: InnerAddressing = {
      SourceAddress: packet.sourceAddress,
      SourcePort: packet.sourcePort,
      DestinationAddress: packet.destinationAddress,
      DestinationPort: packet.destinationPort,
      Version: packet.version,
      Protocol: packet.protocol,
    };
    if (packet.protocol === PROTOCOL_UDP) peer.lastInner = inner;
    this.counters.dataDelivered++;
    this.output.deliver(peer.publicKey, packet.payload, inner, address, port);
    return 'data';
  }

  private open(key: Buffer, counter: number, datagram: Buffer): Buffer | undefined {
    const bodyEnd = datagram.length - TAG_LENGTH;
    const decipher = createDecipheriv('chacha20-poly1305', key, writeCounterNonce(this.nonce, counter), { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(datagram.subarray(bodyEnd));
    const plaintext = bodyEnd > TRANSPORT_HEADER_LENGTH ? decipher.update(datagram.subarray(TRANSPORT_HEADER_LENGTH, bodyEnd)) : EMPTY;
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return plaintext;
  }

  /**
   * Checks mac1, counts the message towards the load, and while under load demands a valid mac2
   * (answering with a cookie reply) and applies the per-source rate limit. True when the message
   * may be processed.
   */
  private admitHandshake(datagram: Buffer, mac1Offset: number, mac2Offset: number, sender: number, address: string, port: number): boolean {
    if (!this.cookieChecker.checkMac1(datagram, mac1Offset)) {
      this.drop('HandshakeInvalid', 'handshake message has an invalid mac1 (not addressed to this Listener\'s public key)', address, port);
      return false;
    }
    const now = this.clock.now();
    if (!this.loadMeter.record(now)) return true;
    const source = cookieSource(address, port);
    if (!this.cookieChecker.checkMac2(datagram, mac2Offset, source)) {
      this.output.transmit(this.cookieChecker.createReply(datagram, mac1Offset, sender, source), address, port);
      this.counters.cookieRepliesSent++;
      this.drop('RateLimited', 'under handshake load: message without a valid cookie answered with a cookie reply', address, port);
      return false;
    }
    if (!this.sourceLimiter.allow(address, now)) {
      this.drop('RateLimited', `under handshake load: source ${address} exceeds its handshake rate`, address, port);
      return false;
    }
    return true;
  }

  private receiveInitiation(datagram: Buffer, address: string, port: number): ReceiveOutcome {
    const message = decodeInitiation(datagram);
    if (typeof message === 'string') return this.drop('HandshakeInvalid', message, address, port);
    if (!this.admitHandshake(datagram, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET, message.sender, address, port)) return 'dropped';
    const opened = openInitiation(this.local, message);
    if (typeof opened === 'string') return this.drop('HandshakeInvalid', opened, address, port);
    const peerKey = encodeKey(opened.initiatorPublicKey);
    let peer = this.peers.get(peerKey);
    let identity = peer?.identity;
    if (!peer) {
      if (!this.allowUnknownPeers) return this.drop('UnknownPeer', `handshake from unknown peer ${peerKey}`, address, port, peerKey);
      if (this.dynamicPeers >= this.maxUnknownPeers) {
        return this.drop('RateLimited', `handshake from unknown peer ${peerKey}: already ${this.dynamicPeers} unknown peers (the limit)`, address, port, peerKey);
      }
      identity = remoteIdentity(this.local, opened.initiatorPublicKey);
      if (!identity) return this.drop('HandshakeInvalid', `peer key ${peerKey} is not a usable X25519 public key`, address, port, peerKey);
    }
    const finished = finishInitiation(opened, identity!, message);
    if (typeof finished === 'string') return this.drop('HandshakeInvalid', finished, address, port, peerKey);
    const now = this.clock.now();
    if (peer) {
      if (peer.lastTimestamp && Buffer.compare(finished.timestamp, peer.lastTimestamp) <= 0) {
        return this.drop('Replay', `handshake initiation from ${peerKey} is not newer than the last one (replayed)`, address, port, peerKey);
      }
      if (now - peer.lastInitiationConsumedAt < this.timers.initiationMinIntervalMs) {
        return this.drop('RateLimited', `handshake initiations from ${peerKey} arrive faster than one per ${this.timers.initiationMinIntervalMs} ms`, address, port, peerKey);
      }
    } else {
      peer = new Peer(peerKey, identity!, AllowedIps.ANY, new CookieJar(identity!.publicKey, this.now), true);
      this.peers.set(peerKey, peer);
      this.dynamicPeers++;
    }
    // One slot per peer, overwritten by each accepted initiation.
    (peer.lastTimestamp ??= Buffer.allocUnsafe(finished.timestamp.length)).set(finished.timestamp);
    peer.lastInitiationConsumedAt = now;

    const localIndex = this.allocateIndex();
    const response = createResponse(finished.state, peer.identity, localIndex, message.sender);
    if (!response) return this.drop('HandshakeInvalid', 'initiation ephemeral key is unusable', address, port, peerKey);
    peer.cookies.addMacs(response.message, RESPONSE_MAC1_OFFSET, RESPONSE_MAC2_OFFSET);

    // Responder: the new keys wait in `next` until the initiator's first packet confirms them.
    this.dropInitiation(peer);
    const keypair = new Keypair(response.keys.sendKey, response.keys.receiveKey, localIndex, message.sender, now, false);
    if (peer.next) this.deleteKeypair(peer.next);
    if (peer.previous) this.deleteKeypair(peer.previous);
    peer.previous = undefined;
    peer.next = keypair;
    this.indices.set(localIndex, { peer, keypair });
    this.roam(peer, address, port);
    peer.newHandshakeAt = 0;
    this.schedule(peer, 'zeroKeysAt', now + this.timers.rejectAfterTimeMs * 3);
    this.counters.responsesSent++;
    this.transmitControl(peer, response.message);
    return 'handshake';
  }

  private receiveResponse(datagram: Buffer, address: string, port: number): ReceiveOutcome {
    const message = decodeResponse(datagram);
    if (typeof message === 'string') return this.drop('HandshakeInvalid', message, address, port);
    if (!this.admitHandshake(datagram, RESPONSE_MAC1_OFFSET, RESPONSE_MAC2_OFFSET, message.sender, address, port)) return 'dropped';
    const entry = this.indices.get(message.receiver);
    const peer = entry?.peer;
    if (!entry || entry.keypair || !peer?.initiation || peer.initiation.localIndex !== message.receiver) {
      return this.drop('HandshakeInvalid', `handshake response for receiver index ${message.receiver}, which has no initiation in progress`, address, port);
    }
    const keys = consumeResponse(peer.initiation.state, this.local, peer.identity, message);
    if (typeof keys === 'string') return this.drop('HandshakeInvalid', keys, address, port, peer.publicKey);
    const now = this.clock.now();
    const keypair = new Keypair(keys.sendKey, keys.receiveKey, message.receiver, message.sender, now, true);
    peer.initiation = undefined;
    // Initiator: the new keys are current at once; the old current (or an unconfirmed next) becomes previous.
    if (peer.next) {
      if (peer.current) this.deleteKeypair(peer.current);
      if (peer.previous) this.deleteKeypair(peer.previous);
      peer.previous = peer.next;
      peer.next = undefined;
    } else {
      if (peer.previous) this.deleteKeypair(peer.previous);
      peer.previous = peer.current;
    }
    peer.current = keypair;
    this.indices.set(message.receiver, { peer, keypair });
    this.roam(peer, address, port);
    this.handshakeComplete(peer, now, true);
    peer.newHandshakeAt = 0;
    this.schedule(peer, 'zeroKeysAt', now + this.timers.rejectAfterTimeMs * 3);
    // Send what waited for this session; with nothing waiting, a keepalive confirms the keys to the responder.
    if (peer.queue.length > 0) this.flushQueue(peer, now);
    else this.sendKeepalive(peer, now);
    return 'handshake';
  }

  private receiveCookieReply(datagram: Buffer, address: string, port: number): ReceiveOutcome {
    const message = decodeCookieReply(datagram);
    if (typeof message === 'string') return this.drop('HandshakeInvalid', message, address, port);
    const entry = this.indices.get(message.receiver);
    if (!entry) return this.drop('HandshakeInvalid', `cookie reply for unknown receiver index ${message.receiver}`, address, port);
    const problem = entry.peer.cookies.consumeReply(message);
    if (problem) return this.drop('HandshakeInvalid', problem, address, port, entry.peer.publicKey);
    return 'cookie';
  }

  private roam(peer: Peer, address: string, port: number): void {
    if (peer.endpointAddress !== address || peer.endpointPort !== port) {
      peer.endpointAddress = address;
      peer.endpointPort = port;
    }
  }

  /** The initiator used the keys in `next`: they become current. */
  private confirmNext(peer: Peer, now: number): void {
    if (peer.previous) this.deleteKeypair(peer.previous);
    peer.previous = peer.current;
    peer.current = peer.next;
    peer.next = undefined;
    this.handshakeComplete(peer, now, false);
    if (peer.queue.length > 0) this.flushQueue(peer, now);
  }

  private handshakeComplete(peer: Peer, now: number, initiator: boolean): void {
    peer.retransmitAt = 0;
    peer.attemptsStartedAt = -Infinity;
    peer.lastHandshakeAt = now;
    peer.rekeyRequestedForCurrent = false;
    this.counters.handshakesCompleted++;
    this.output.handshakeCompleted?.(peer.publicKey, initiator);
  }

  /** Receive side of key freshness: the initiator rekeys shortly before its keys would expire. */
  private keepKeyFreshReceiving(peer: Peer, keypair: Keypair, now: number): void {
    if (keypair !== peer.current || !keypair.isInitiator || peer.rekeyRequestedForCurrent) return;
    const t = this.timers;
    if (now - keypair.createdAt >= t.rejectAfterTimeMs - t.keepaliveTimeoutMs - t.rekeyTimeoutMs) {
      peer.rekeyRequestedForCurrent = true;
      this.initiateHandshake(peer, false);
    }
  }

  // ---------------------------------------------------------------- send

  /**
   * Encrypts `payload` for peer `peerKey` and transmits it to the peer's endpoint.
   *
   * With decapsulated delivery the payload becomes the UDP payload of an inner IPv4/IPv6 packet
   * addressed by `inner`, field by field, falling back to the peer's newest inbound UDP packet
   * (answered: its destination becomes the source and vice versa), then to the device's tunnel
   * defaults (tunnelAddresses, tunnelPort, the peer's single-host AllowedIPs entry). A peer that
   * sent raw (non-IP) data last gets raw data back unless `inner` is given. Without decapsulated
   * delivery the payload is sent as it is (a whole inner packet, or raw data).
   *
   * Without a usable session but with a known endpoint the packet waits (bounded queue, bounded
   * time) while a handshake runs. `done` gets the outcome; without `done`, failures go to
   * `reportFailure`.
   */
  send(peerKey: string, payload: Buffer, inner?: Partial<InnerAddressing>, done?: SendCallback): void {
    const peer = this.peers.get(peerKey);
    if (!peer || this.closed) {
      this.fail(done, failure('UnknownPeer', `PeerKey ${peerKey} is not a peer of this Listener${this.closed ? ' (closed)' : ''}`), peerKey);
      return;
    }
    const length = this.buildPlaintext(peer, payload, inner);
    if (typeof length !== 'number') {
      this.fail(done, length, peerKey, peer);
      return;
    }
    const now = this.clock.now();
    const keypair = peer.current;
    if (keypair && this.usableForSending(keypair, now)) {
      this.encryptAndTransmit(peer, keypair, this.scratch, length, now, done);
      return;
    }
    if (peer.endpointAddress === undefined) {
      this.fail(done, failure('NoSession', `peer ${peerKey} has no session and no known endpoint: it has to contact the Listener first`), peerKey, peer);
      return;
    }
    if (peer.queue.length >= this.queueLength) {
      this.fail(done, failure('NoSession', `peer ${peerKey} has no session yet and ${peer.queue.length} packets already wait for the handshake (the limit)`), peerKey, peer);
      return;
    }
    const expiresAt = now + this.queueTimeoutMs;
    peer.queue.push({ plaintext: Buffer.from(this.scratch.subarray(0, length)), done, expiresAt });
    this.arm(peer, expiresAt);
    this.initiateHandshake(peer, false);
  }

  private fail(done: SendCallback | undefined, f: Failure, peerKey: string, peer?: Peer): void {
    if (done) done(f);
    else this.output.reportFailure(f, peer?.endpointAddress, peer?.endpointAddress === undefined ? undefined : peer.endpointPort, peerKey);
  }

  /** Writes the plaintext to send into the scratch buffer; its length, or why it cannot be built. */
  private buildPlaintext(peer: Peer, payload: Buffer, inner: Partial<InnerAddressing> | undefined): number | Failure {
    const raw = !this.decapsulated || (inner === undefined && peer.lastInner === null);
    if (raw) {
      if (payload.length > MAX_INNER_PACKET_LENGTH) return failure('PayloadTooLarge', `payload of ${payload.length} bytes exceeds ${MAX_INNER_PACKET_LENGTH} (one WireGuard datagram)`);
      const packet = parseInnerPacket(payload);
      if (packet && typeof packet !== 'string' && !peer.allowedIps.contains(packet.destinationAddress, packet.version)) {
        return failure('AllowedIpsViolation', `inner destination ${packet.destinationAddress} is not in the AllowedIPs of peer ${peer.publicKey}`);
      }
      payload.copy(this.scratch, 0);
      return payload.length;
    }
    const addressing = this.resolveInner(peer, inner ?? {});
    if ('code' in addressing) return addressing;
    const length = udpPacketLength(addressing.source.length === 4 ? 4 : 6, payload.length);
    if (length > MAX_INNER_PACKET_LENGTH) {
      return failure('PayloadTooLarge', `payload of ${payload.length} bytes makes an inner packet of ${length} bytes, above ${MAX_INNER_PACKET_LENGTH}`);
    }
    return writeUdpPacket(this.scratch, 0, addressing, payload);
  }

  private resolveInner(peer: Peer, inner: Partial<InnerAddressing>): UdpPacketAddressing | Failure {
    const last = peer.lastInner ?? undefined;
    if (inner.Protocol !== undefined && inner.Protocol !== PROTOCOL_UDP) {
      return failure('InvalidMessage', `Inner.Protocol ${String(inner.Protocol)} cannot be built (allowed: 17, UDP)`);
    }
    const destinationText = inner.DestinationAddress ?? last?.SourceAddress ?? peer.allowedIps.hostAddress(inner.Version);
    if (destinationText === undefined) {
      return failure('InvalidAddress', `no inner destination for peer ${peer.publicKey}: give Inner.DestinationAddress (the peer has sent no UDP packet yet and its AllowedIPs name no single host)`);
    }
    const parsed = typeof destinationText === 'string' ? this.innerAddress(destinationText) : undefined;
    const destination = parsed?.bytes;
    if (!parsed || !destination) return failure('InvalidAddress', `Inner.DestinationAddress '${String(destinationText)}' is not an IPv4 or IPv6 address`);
    const version = destination.length === 4 ? 4 : 6;
    if (inner.Version !== undefined && inner.Version !== version) {
      return failure('InvalidAddress', `Inner.Version ${String(inner.Version)} does not match the IPv${version} destination ${destinationText}`);
    }
    const sourceText = inner.SourceAddress ?? (last && last.Version === version ? last.DestinationAddress : undefined);
    let source: Buffer | undefined;
    if (sourceText !== undefined) {
      source = typeof sourceText === 'string' ? this.innerAddress(sourceText)?.bytes : undefined;
      if (!source || source.length !== destination.length) {
        return failure('InvalidAddress', `Inner.SourceAddress '${String(sourceText)}' is not an IPv${version} address like the destination`);
      }
    } else {
      source = version === 4 ? this.tunnelAddress4 : this.tunnelAddress6;
      if (!source) return failure('InvalidAddress', `no inner IPv${version} source address: give Inner.SourceAddress or configure an IPv${version} TunnelAddress`);
    }
    if (!peer.allowedIps.contains(parsed.text, version)) {
      return failure('AllowedIpsViolation', `inner destination ${parsed.text} is not in the AllowedIPs of peer ${peer.publicKey}`);
    }
    const destinationPort = inner.DestinationPort ?? last?.SourcePort ?? this.tunnelPort;
    const sourcePort = inner.SourcePort ?? last?.DestinationPort ?? this.tunnelPort;
    if (!isPort(destinationPort)) return failure('InvalidPort', `Inner.DestinationPort ${String(destinationPort)} is not a port (allowed: 1–65535)`);
    if (!isPort(sourcePort)) return failure('InvalidPort', `Inner.SourcePort ${String(sourcePort)} is not a port (allowed: 1–65535)`);
    return { source, destination, sourcePort, destinationPort };
  }

  /** `text` parsed as an IP address, with its canonical text (cached, bounded; the bytes are only ever copied from). */
  private innerAddress(text: string): InnerAddress | undefined {
    let address = this.innerAddresses.get(text);
    if (address === undefined && !this.innerAddresses.has(text)) {
      const bytes = parseIpAddress(text);
      address = bytes === undefined ? undefined : { bytes, text: formatIpAddress(bytes) };
      if (this.innerAddresses.size >= INNER_ADDRESS_CACHE_SIZE) this.innerAddresses.clear();
      this.innerAddresses.set(text, address);
    }
    return address;
  }

  private usableForSending(keypair: Keypair, now: number): boolean {
    return now - keypair.createdAt < this.timers.rejectAfterTimeMs && keypair.sendCounter < this.timers.rejectAfterMessages;
  }

  /** Encrypts `plaintext[0, length)` with `keypair` (padding it in place) and transmits it. */
  private encryptAndTransmit(peer: Peer, keypair: Keypair, plaintext: Buffer, length: number, now: number, done: SendCallback | undefined): void {
    let padded = length;
    if (length % 16 !== 0) {
      padded = Math.min(length + 16 - (length % 16), Math.max(this.mtu, length));
      plaintext.fill(0, length, padded);
    }
    const counter = keypair.sendCounter++;
    const out = Buffer.allocUnsafe(TRANSPORT_HEADER_LENGTH + padded + TAG_LENGTH);
    writeTransportHeader(out, keypair.remoteIndex, counter);
    const cipher = createCipheriv('chacha20-poly1305', keypair.sendKey, writeCounterNonce(this.nonce, counter), { authTagLength: TAG_LENGTH });
    if (padded > 0) cipher.update(plaintext.subarray(0, padded)).copy(out, TRANSPORT_HEADER_LENGTH);
    cipher.final();
    cipher.getAuthTag().copy(out, TRANSPORT_HEADER_LENGTH + padded);

    peer.keepaliveAt = 0;
    if (length > 0) {
      this.counters.transportSent++;
      if (peer.newHandshakeAt === 0) {
        this.schedule(peer, 'newHandshakeAt', now + this.timers.keepaliveTimeoutMs + this.timers.rekeyTimeoutMs + this.jitter());
      }
    } else {
      this.counters.keepalivesSent++;
    }
    this.output.transmit(out, peer.endpointAddress!, peer.endpointPort, done);
    // Send side of key freshness.
    if (keypair.sendCounter >= this.timers.rekeyAfterMessages || (keypair.isInitiator && now - keypair.createdAt >= this.timers.rekeyAfterTimeMs)) {
      this.initiateHandshake(peer, false);
    }
  }

  private sendKeepalive(peer: Peer, now: number): void {
    const keypair = peer.current;
    if (!keypair || !this.usableForSending(keypair, now) || peer.endpointAddress === undefined) return;
    this.encryptAndTransmit(peer, keypair, this.scratch, 0, now, undefined);
  }

  private flushQueue(peer: Peer, now: number): void {
    const keypair = peer.current;
    if (!keypair || peer.endpointAddress === undefined) return;
    while (peer.queue.length > 0 && this.usableForSending(keypair, now)) {
      const item = peer.queue.shift()!;
      // The queued plaintext needs room for padding: copy into the scratch buffer.
      item.plaintext.copy(this.scratch, 0);
      this.encryptAndTransmit(peer, keypair, this.scratch, item.plaintext.length, now, item.done);
    }
  }

  /** Control messages (handshake) go to the peer's current endpoint. */
  private transmitControl(peer: Peer, message: Buffer): void {
    peer.keepaliveAt = 0;
    this.output.transmit(message, peer.endpointAddress!, peer.endpointPort);
  }

  // ---------------------------------------------------------------- handshakes

  /** Sends a handshake initiation unless one went out less than Rekey-Timeout ago; true when sent. */
  private initiateHandshake(peer: Peer, isRetry: boolean): boolean {
    if (peer.endpointAddress === undefined || this.closed) return false;
    const now = this.clock.now();
    if (now - peer.lastInitiationSentAt < this.timers.rekeyTimeoutMs) return false;
    if (!isRetry && peer.retransmitAt === 0) peer.attemptsStartedAt = now;
    const localIndex = this.allocateIndex();
    const created = createInitiation(this.local, peer.identity, localIndex, tai64n(this.clock.epochMs()));
    if (!created) return false;
    peer.cookies.addMacs(created.message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    this.dropInitiation(peer);
    peer.initiation = { localIndex, state: created.state };
    this.indices.set(localIndex, { peer, keypair: undefined });
    peer.lastInitiationSentAt = now;
    this.counters.initiationsSent++;
    this.schedule(peer, 'retransmitAt', now + this.timers.rekeyTimeoutMs + this.jitter());
    this.transmitControl(peer, created.message);
    return true;
  }

  private dropInitiation(peer: Peer): void {
    if (peer.initiation) {
      this.indices.delete(peer.initiation.localIndex);
      peer.initiation = undefined;
    }
  }

  private allocateIndex(): number {
    for (;;) {
      const index = randomInt(0, 0x1_0000_0000);
      if (!this.indices.has(index)) return index;
    }
  }

  private deleteKeypair(keypair: Keypair): void {
    const entry = this.indices.get(keypair.localIndex);
    if (entry?.keypair === keypair) this.indices.delete(keypair.localIndex);
    keypair.wipe();
  }

  private jitter(): number {
    return this.random() * this.timers.rekeyTimeoutJitterMs;
  }

  // ---------------------------------------------------------------- timers

  /** Sets a deadline (replacing a pending one) and makes sure the peer's timer fires for it. */
  private schedule(peer: Peer, which: 'retransmitAt' | 'keepaliveAt' | 'newHandshakeAt' | 'zeroKeysAt', at: number): void {
    peer[which] = at;
    this.arm(peer, at);
  }

  /** Makes sure the peer's timer fires no later than `at`. */
  private arm(peer: Peer, at: number): void {
    if (this.closed || at >= peer.timerAt) return;
    // The peer's previous deadline entry, if any, becomes stale: only `peer.timer` counts.
    const entry: PeerDeadline = { at, peer };
    peer.timer = entry;
    peer.timerAt = at;
    this.deadlines.push(entry);
    if (at < this.wakeAt) this.scheduleWake(at);
  }

  /** Sets the one device timer to fire at `at`. */
  private scheduleWake(at: number): void {
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimer(() => this.onWake(), Math.max(0, at - this.clock.now()));
  }

  /** Runs the timers of every peer whose deadline has come, then waits for the next deadline. */
  private onWake(): void {
    this.wakeTimer = undefined;
    this.wakeAt = Infinity;
    if (this.closed) return;
    const now = this.clock.now();
    // Deadlines set while these run (at `now` or later) wait for the next wake.
    const due: PeerDeadline[] = [];
    while (this.deadlines.size > 0 && this.deadlines.peek()!.at <= now) due.push(this.deadlines.pop()!);
    let i = 0;
    try {
      for (; i < due.length; i++) this.onTimer(due[i], now);
    } finally {
      // Should one peer's timers throw, the peers after it keep their deadlines.
      for (i++; i < due.length; i++) this.deadlines.push(due[i]);
      if (!this.closed && this.deadlines.size > 0) this.scheduleWake(this.deadlines.peek()!.at);
    }
  }

  private onTimer(entry: PeerDeadline, now: number): void {
    const peer = entry.peer;
    if (peer.timer !== entry) return;
    peer.timer = undefined;
    peer.timerAt = Infinity;
    if (this.closed || this.peers.get(peer.publicKey) !== peer) return;
    try {
      this.runTimers(peer, now);
    } finally {
      this.rearm(peer);
    }
  }

  private runTimers(peer: Peer, now: number): void {
    const t = this.timers;
    if (peer.retransmitAt !== 0 && now >= peer.retransmitAt) {
      peer.retransmitAt = 0;
      if (now - peer.attemptsStartedAt >= t.rekeyAttemptTimeMs) {
        // Give up: the peer did not answer for Rekey-Attempt-Time.
        this.dropInitiation(peer);
        peer.attemptsStartedAt = -Infinity;
        peer.keepaliveAt = 0;
        this.failQueue(peer, 'NoSession', `no handshake with peer ${peer.publicKey} within ${t.rekeyAttemptTimeMs} ms`);
        if (peer.zeroKeysAt === 0) peer.zeroKeysAt = now + t.rejectAfterTimeMs * 3;
      } else {
        if (!this.initiateHandshake(peer, true)) {
          // Still inside the per-peer initiation interval: try again once it has passed.
          const retryAt = peer.lastInitiationSentAt + t.rekeyTimeoutMs;
          if (retryAt > now) peer.retransmitAt = retryAt;
        }
      }
    }
    if (peer.keepaliveAt !== 0 && now >= peer.keepaliveAt) {
      peer.keepaliveAt = 0;
      this.sendKeepalive(peer, now);
      if (peer.needAnotherKeepalive) {
        peer.needAnotherKeepalive = false;
        peer.keepaliveAt = now + t.keepaliveTimeoutMs;
      }
    }
    if (peer.newHandshakeAt !== 0 && now >= peer.newHandshakeAt) {
      // Data went out but nothing came back for Keepalive-Timeout + Rekey-Timeout.
      peer.newHandshakeAt = 0;
      this.initiateHandshake(peer, false);
    }
    while (peer.queue.length > 0 && peer.queue[0].expiresAt <= now) {
      const item = peer.queue.shift()!;
      this.fail(item.done, failure('NoSession', `no session with peer ${peer.publicKey} within ${this.queueTimeoutMs} ms`), peer.publicKey, peer);
    }
    if (peer.zeroKeysAt !== 0 && now >= peer.zeroKeysAt) {
      peer.zeroKeysAt = 0;
      for (const keypair of peer.keypairs()) this.deleteKeypair(keypair);
      peer.previous = peer.current = peer.next = undefined;
      this.dropInitiation(peer);
      if (peer.dynamic && peer.queue.length === 0) this.removePeer(peer, 'NoSession', 'session expired');
    }
  }

  private rearm(peer: Peer): void {
    if (this.closed || this.peers.get(peer.publicKey) !== peer) return;
    let next = Infinity;
    for (const at of [peer.retransmitAt, peer.keepaliveAt, peer.newHandshakeAt, peer.zeroKeysAt]) if (at !== 0 && at < next) next = at;
    if (peer.queue.length > 0 && peer.queue[0].expiresAt < next) next = peer.queue[0].expiresAt;
    if (next !== Infinity) this.arm(peer, next);
  }

  private failQueue(peer: Peer, code: FailureCode, reason: string): void {
    const items = peer.queue.splice(0);
    for (const item of items) this.fail(item.done, failure(code, reason), peer.publicKey, peer);
  }

  private removePeer(peer: Peer, code: FailureCode, reason: string): void {
    if (this.peers.get(peer.publicKey) === peer) {
      this.peers.delete(peer.publicKey);
      if (peer.dynamic) this.dynamicPeers--;
    }
    peer.timer = undefined;
    peer.timerAt = Infinity;
    for (const keypair of peer.keypairs()) this.deleteKeypair(keypair);
    peer.previous = peer.current = peer.next = undefined;
    this.dropInitiation(peer);
    this.failQueue(peer, code, reason);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function validPort(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port (1–65535), got ${String(value)}`);
  return value;
}

/** Parses `a.b.c.d:port` / `[v6]:port` (IP literals only). Throws naming `what` and the allowed forms. */
export function parseEndpoint(text: string, what: string): { address: string; port: number } {
  const bad = (): Error => new Error(`${what}: '${String(text)}' is not an endpoint (allowed: a.b.c.d:port or [v6]:port, IP literals)`);
  if (typeof text !== 'string') throw bad();
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!match) throw bad();
  const bytes = parseIpAddress(match[1]);
  const portNumber = Number(match[2]);
  if (!bytes || (bytes.length === 16) !== text.startsWith('[') || portNumber < 1 || portNumber > 65535) throw bad();
  return { address: formatIpAddress(bytes), port: portNumber };
}

/** A peer's next timer deadline; stale once the peer's `timer` is another entry. */
interface PeerDeadline {
  readonly at: number;
  readonly peer: Peer;
}

/** Binary min-heap of deadlines by time. */
class DeadlineHeap {
  private readonly items: PeerDeadline[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): PeerDeadline | undefined {
    return this.items[0];
  }

  push(entry: PeerDeadline): void {
    const items = this.items;
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = Math.floor((i - 1) / 2);
      if (items[parent].at <= entry.at) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = entry;
  }

  pop(): PeerDeadline | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right].at < items[left].at ? right : left;
      if (items[child].at >= last.at) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

/** An inner address as bytes and as canonical text. */
interface InnerAddress {
  readonly bytes: Buffer;
  readonly text: string;
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}
