/**
 * A userspace WireGuard endpoint without a TUN device: it owns the peers, their sessions and the
 * receiver index table, turns received datagrams into decrypted inner payloads (or structured
 * failures) and payloads to send into encrypted datagrams. It performs no I/O itself: datagrams to
 * put on the wire go to {@link DeviceOutput.transmit}, and time comes from an injectable {@link Clock}.
 *
 * Its parts: {@link Handshakes} (handshake messages, cookies, handshake-flood limits),
 * {@link PeerTimers} (the protocol timers as named events), {@link InnerPacketFramer} (inner
 * IP/UDP addressing) and {@link IndexTable} (receiver indices).
 *
 * Hot path (transport data): no promises, no per-packet timers; a handful of small allocations
 * (the cipher object, the plaintext and ciphertext buffers, the `Inner` object when delivered).
 */
import type { Failure, FailureCode, InnerAddressing, SendCallback } from '../contracts';
import { AllowedIps } from './allowed-ips';
import { Clock, SYSTEM_CLOCK } from './clock';
import { CookieJar } from './cookie';
import { TAG_LENGTH, writeCounterNonce, x25519FromPrivate } from './crypto';
import { Handshakes } from './handshake';
import { sourceKey } from './handshake-limits';
import { IndexTable } from './index-table';
import { InnerPacketFramer, isPort, MAX_INNER_PACKET_LENGTH } from './inner-packet-framer';
import { decodeKey, encodeKey } from './keys';
import {
  messageType,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  readCounter,
  TRANSPORT_HEADER_LENGTH,
  TRANSPORT_MIN_LENGTH,
  writeTransportHeader,
} from './messages';
import { LocalIdentity, NO_PRESHARED_KEY, remoteIdentity, RemoteIdentity } from './noise';
import { Keypair, Peer } from './peer';
import { PeerTimers } from './peer-timers';
import { resolveTimers, WireGuardTimers } from './timers';
import { defaultTransportAead, TransportAead } from './transport-aead';
import { inIntegerRange, PORT } from '../../lib/private/limits';
import { formatEndpoint, formatIpAddress, parseIpAddress } from '../../lib/private/network';

export { MAX_INNER_PACKET_LENGTH } from './inner-packet-framer';

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

/** Where the device's results go. Called synchronously from `receive`, `send` and timers. */
export interface DeviceOutput {
  /** Put `datagram` on the wire to `address:port`; call `done` once sent or failed. */
  transmit(datagram: Buffer, address: string, port: number, done?: SendCallback): void;
  /** A decrypted payload from an authenticated peer. */
  deliver(peerKey: string, data: Buffer, inner: InnerAddressing | undefined, remoteAddress: string, remotePort: number): void;
  /** A datagram was dropped, or a send without a callback failed. */
  reportFailure(failure: Failure, remoteAddress: string | undefined, remotePort: number | undefined, peerKey: string | undefined): void;
  /**
   * A handshake completed and a new session is ready (optional). `fresh`: the peer had no session
   * alive here before (a first session, or one after a restart or a move from another process),
   * rather than a rekey.
   */
  handshakeCompleted?(peerKey: string, initiator: boolean, fresh: boolean): void;
  /** Authenticated transport data moved a peer to a new endpoint (roaming; optional). */
  endpointChanged?(peerKey: string, address: string, port: number): void;
  /**
   * A transport message arrived with a receiver index no session here has (the peer's session
   * lives in another process, or in this one before a restart); optional. The datagram was
   * dropped as NoSession.
   */
  sessionUnknown?(address: string, port: number): void;
}

/** What {@link WireGuardDevice.initiateTo} did. */
export type InitiationOutcome =
  /** A handshake initiation went to the endpoint. */
  | 'initiated'
  /** The peer has a usable session already: nothing sent. */
  | 'session'
  /** An initiation to the peer went out less than Rekey-Timeout ago: nothing sent. */
  | 'pending'
  /** Refused (the peer is not configured and unknown peers are not accepted, or too many are): nothing sent. */
  | Failure;

/** Settings of a {@link WireGuardDevice}. */
export interface WireGuardDeviceOptions {
  /** Our base64 private key. Never logged. */
  readonly privateKey: string;
  readonly peers?: readonly WireGuardPeerConfig[];
  /** Accept handshakes from any static key; such peers may use every inner address. @default false */
  readonly allowUnknownPeers?: boolean;
  /**
   * Most peers accepted through allowUnknownPeers at once. A new stranger at the limit takes the
   * slot of the oldest *half-open* one (no transport data received yet); peers that sent transport
   * data are never pushed out. @default 10000
   */
  readonly maxUnknownPeers?: number;
  /**
   * How long a peer accepted through allowUnknownPeers may stay half-open (handshake answered, no
   * transport data received) before it is forgotten. @default - 3 × Rekey-Timeout (15 s)
   */
  readonly halfOpenPeerTimeoutMs?: number;
  /** Half-open unknown peers one source (IPv4 address, IPv6 /64) may hold at once. @default 8 */
  readonly maxHalfOpenPeersPerSource?: number;
  /**
   * Deliver the inner UDP payload with its `Inner` addressing (true), or the whole inner IP packet
   * (false). Payloads that are not IP packets are delivered as they are either way. @default true
   * (a device option; the WireGuard Listener always passes its record's value, whose default is
   * limits.ts `DEFAULT_DECAPSULATED_DELIVERY`)
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
  /** ChaCha20-Poly1305 of transport data. @default the process-wide choice: libsodium when it loads, else node:crypto */
  readonly transportAead?: TransportAead;
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
  private readonly limits: WireGuardTimers;
  private readonly clock: Clock;
  /** The clock's `now`, one function shared by every peer's cookie jar. */
  private readonly now: () => number;
  private readonly output: DeviceOutput;
  private readonly timers: PeerTimers;
  private readonly handshakes: Handshakes;
  private readonly framer: InnerPacketFramer;
  private readonly peers = new Map<string, Peer>();
  private readonly indices = new IndexTable();
  private readonly maxUnknownPeers: number;
  private readonly halfOpenTimeoutMs: number;
  private readonly maxHalfOpenPerSource: number;
  /** Unknown peers accepted but not yet confirmed by transport data, oldest first (value: accepted at). */
  private readonly halfOpen = new Map<Peer, number>();
  /** Half-open unknown peers per source key. */
  private readonly halfOpenPerSource = new Map<string, number>();
  private readonly queueLength: number;
  private readonly queueTimeoutMs: number;
  private readonly mtu: number;
  private allowUnknownPeers: boolean;
  private dynamicPeers = 0;
  private closed = false;
  /** Public key of the peer whose transport message or handshake response was the latest to authenticate in `receive`. */
  private lastPeer: string | undefined;
  private readonly nonce = Buffer.alloc(12);
  private readonly aead: TransportAead;
  private readonly scratch = Buffer.alloc(MAX_INNER_PACKET_LENGTH + 16);

  constructor(options: WireGuardDeviceOptions) {
    const pair = x25519FromPrivate(decodeKey(options.privateKey, 'WireGuard private key'));
    this.local = { privateKey: pair.privateKey, publicKey: pair.publicKey };
    this.publicKey = encodeKey(pair.publicKey);
    this.limits = resolveTimers(options.timers);
    const clock = (this.clock = options.clock ?? SYSTEM_CLOCK);
    this.now = () => clock.now();
    const output = (this.output = options.output);
    this.allowUnknownPeers = options.allowUnknownPeers ?? false;
    this.maxUnknownPeers = positiveInteger(options.maxUnknownPeers ?? 10_000, 'maxUnknownPeers');
    this.halfOpenTimeoutMs = positiveInteger(options.halfOpenPeerTimeoutMs ?? 3 * this.limits.rekeyTimeoutMs, 'halfOpenPeerTimeoutMs');
    this.maxHalfOpenPerSource = positiveInteger(options.maxHalfOpenPeersPerSource ?? 8, 'maxHalfOpenPeersPerSource');
    this.queueLength = positiveInteger(options.sendQueueLength ?? 128, 'sendQueueLength');
    this.queueTimeoutMs = positiveInteger(options.sendQueueTimeoutMs ?? 10_000, 'sendQueueTimeoutMs');
    this.mtu = positiveInteger(options.mtu ?? 1420, 'mtu');
    this.aead = options.transportAead ?? defaultTransportAead().aead;
    this.framer = new InnerPacketFramer({
      decapsulated: options.decapsulatedDelivery ?? true,
      tunnelPort: validPort(options.tunnelPort ?? 51820, 'tunnelPort'),
      tunnelAddresses: options.tunnelAddresses ?? ['10.99.0.1', 'fd99::1'],
    });
    this.timers = new PeerTimers(this.limits, clock, options.random ?? Math.random, {
      isActive: (peer) => this.peers.get(peer.publicKey) === peer,
      retryHandshake: (peer) => this.handshakes.initiate(peer, true),
      handshakeAttemptsExhausted: (peer) => {
        this.handshakes.abandonInitiation(peer);
        this.failQueue(peer, 'NoSession', `no handshake with peer ${peer.publicKey} within ${this.limits.rekeyAttemptTimeMs} ms`);
      },
      sendKeepalive: (peer, now) => this.sendKeepalive(peer, now),
      startHandshake: (peer) => this.handshakes.initiate(peer, false),
      expireQueued: (peer, now) => this.expireQueued(peer, now),
      zeroKeys: (peer) => this.zeroKeys(peer),
    });
    this.handshakes = new Handshakes({
      local: this.local,
      limits: this.limits,
      clock,
      indices: this.indices,
      timers: this.timers,
      counters: this.counters,
      loadThreshold: positiveInteger(options.handshakeLoadThreshold ?? 500, 'handshakeLoadThreshold'),
      sourceHandshakesPerSecond: positiveInteger(options.sourceHandshakesPerSecond ?? 20, 'sourceHandshakesPerSecond'),
      sourceHandshakeBurst: positiveInteger(options.sourceHandshakeBurst ?? 5, 'sourceHandshakeBurst'),
      peers: {
        get: (peerKey) => this.peers.get(peerKey),
        refuseUnknown: (peerKey, address) => this.refuseUnknownPeer(peerKey, address),
        addUnknown: (peerKey, identity, address) => this.addUnknownPeer(peerKey, identity, address),
      },
      transmit: (datagram, address, port) => output.transmit(datagram, address, port),
      completed: (peerKey, initiator) => {
        if (!output.handshakeCompleted) return;
        const previous = this.peers.get(peerKey)?.previous;
        output.handshakeCompleted(peerKey, initiator, previous === undefined || clock.now() - previous.createdAt >= this.limits.rejectAfterTimeMs);
      },
      authenticated: (peer) => {
        this.lastPeer = peer.publicKey;
      },
      drop: (code, reason, address, port, peerKey) => this.drop(code, reason, address, port, peerKey),
      sendOnNewSession: (peer, now) => {
        // Send what waited for this session; with nothing waiting, a keepalive confirms the keys to the responder.
        if (peer.queue.length > 0) this.flushQueue(peer, now);
        else this.sendKeepalive(peer, now);
      },
    });
    this.setPeers(options.peers ?? []);
  }

  // ---------------------------------------------------------------- configuration

  /**
   * Replaces the configured peers: new ones are added, missing ones removed (their sessions
   * end and their queued packets fail with UnknownPeer), existing ones get the new AllowedIPs and
   * preshared key while keeping their sessions. A peer's endpoint becomes its configured one when
   * the peer is new or that configured endpoint changed; an unchanged one leaves the peer at the
   * endpoint it last spoke from (roaming). Peers accepted through AllowUnknownPeers are kept.
   * Throws (changing nothing) when a peer entry is invalid.
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
      const configured = entry.endpoint === undefined ? undefined : formatEndpoint(entry.endpoint.address, entry.endpoint.port);
      if (!peer) {
        peer = new Peer(key, entry.identity, entry.allowed, new CookieJar(entry.identity.publicKey, this.now), false);
        this.peers.set(key, peer);
      } else {
        peer.identity = entry.identity;
        peer.allowedIps = entry.allowed;
      }
      // An unchanged configured endpoint leaves the peer where it last spoke from (roaming).
      if (entry.endpoint && configured !== peer.configuredEndpoint) {
        peer.endpointAddress = entry.endpoint.address;
        peer.endpointPort = entry.endpoint.port;
      }
      peer.configuredEndpoint = configured;
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
    this.framer.setTunnelAddresses(addresses);
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

  /** True when the peer has a session that can carry data now. Allocation-free. */
  hasSession(peerKey: string): boolean {
    const current = this.peers.get(peerKey)?.current;
    return current !== undefined && this.usableForSending(current, this.clock.now());
  }

  /**
   * The peer whose message the latest `receive` authenticated: a transport message, or a response
   * to our initiation. Undefined otherwise, also for an accepted initiation, which a replay can
   * produce from any address and so proves nothing about where the peer is.
   */
  get lastReceivedPeerKey(): string | undefined {
    return this.lastPeer;
  }

  /**
   * Initiates a handshake with `peerKey` at `address:port` now, for a peer that speaks to this
   * device without a session here (its session was held by another process, or by this one before
   * a restart). A configured peer, or — with allowUnknownPeers — any key, which then joins as an
   * unknown peer under the same limits as one that initiated itself (half-open until it sends
   * transport data). A peer with a usable session is left alone; initiations to one peer stay at
   * most one per Rekey-Timeout (5 s). The endpoint becomes the peer's: the handshake response, and
   * then packets waiting for the session, go there.
   */
  initiateTo(peerKey: string, address: string, port: number): InitiationOutcome {
    if (this.closed) return failure('NoSession', 'the Listener is closing');
    const bytes = parseIpAddress(address);
    if (!bytes || !isPort(port)) return failure('InvalidAddress', `${String(address)}:${String(port)} is not an endpoint (an IP address and a port ${PORT.allowed})`);
    let peer = this.peers.get(peerKey);
    if (!peer) {
      const refused = this.refuseUnknownPeer(peerKey, address);
      if (refused) return refused;
      let identity: RemoteIdentity | undefined;
      try {
        identity = remoteIdentity(this.local, decodeKey(peerKey, 'PeerKey'));
      } catch {
        identity = undefined;
      }
      if (!identity) return failure('UnknownPeer', `PeerKey ${peerKey} is not a usable X25519 public key`);
      peer = this.addUnknownPeer(peerKey, identity, address);
    }
    if (peer.current && this.usableForSending(peer.current, this.clock.now())) return 'session';
    peer.roamTo(formatIpAddress(bytes), port);
    return this.handshakes.initiate(peer, false) ? 'initiated' : 'pending';
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

  /** Peers with a pending protocol timer: the entries of the timer heap, at most one per peer. */
  get pendingTimers(): number {
    return this.timers.pending;
  }

  /** Public keys of all known peers. */
  peerKeys(): string[] {
    return [...this.peers.keys()];
  }

  /** Stops all timers, fails queued packets with NoSession and wipes session keys. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers.close();
    this.handshakes.close();
    for (const peer of [...this.peers.values()]) this.removePeer(peer, 'NoSession', 'the Listener is closing');
  }

  // ---------------------------------------------------------------- receive

  /**
   * Processes one datagram from `remoteAddress:remotePort`. Never throws: results go to the
   * output (deliver / transmit / reportFailure), and the outcome is returned for convenience.
   */
  receive(datagram: Buffer, remoteAddress: string, remotePort: number): ReceiveOutcome {
    if (this.closed) return 'dropped';
    this.counters.datagramsReceived++;
    this.lastPeer = undefined;
    try {
      switch (messageType(datagram)) {
        case MESSAGE_TRANSPORT:
          return this.receiveTransport(datagram, remoteAddress, remotePort);
        case MESSAGE_INITIATION:
          return this.handshakes.receiveInitiation(datagram, remoteAddress, remotePort);
        case MESSAGE_RESPONSE:
          return this.handshakes.receiveResponse(datagram, remoteAddress, remotePort);
        case MESSAGE_COOKIE_REPLY:
          return this.handshakes.receiveCookieReply(datagram, remoteAddress, remotePort);
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
      this.drop('NoSession', `no session has receiver index ${receiver} (expired, or the gateway restarted)`, address, port);
      this.output.sessionUnknown?.(address, port);
      return 'dropped';
    }
    const { peer, keypair } = entry;
    const now = this.clock.now();
    if (now - keypair.createdAt >= this.limits.rejectAfterTimeMs) {
      return this.drop('NoSession', `session ${receiver} is older than Reject-After-Time`, address, port, peer.publicKey);
    }
    const counter = readCounter(datagram, 8);
    if (!keypair.replay.mayAccept(counter, this.limits.rejectAfterMessages)) {
      return this.drop('Replay', `counter ${counter} of session ${receiver} was already received or is outside the replay window`, address, port, peer.publicKey);
    }
    const plaintext = this.open(keypair.receiveKey, counter, datagram);
    if (!plaintext) return this.drop('DecryptFailed', `transport message for session ${receiver} does not authenticate`, address, port, peer.publicKey);
    if (!keypair.replay.accept(counter, this.limits.rejectAfterMessages)) {
      return this.drop('Replay', `counter ${counter} of session ${receiver} was already received`, address, port, peer.publicKey);
    }

    // Authenticated from here on.
    this.lastPeer = peer.publicKey;
    if (peer.endpointPort !== port || peer.endpointAddress !== address) {
      peer.roamTo(address, port);
      this.output.endpointChanged?.(peer.publicKey, address, port);
    }
    if (peer.halfOpenSource !== undefined) this.leaveHalfOpen(peer);
    if (peer.next === keypair) {
      this.handshakes.confirmNext(peer, now);
      if (peer.queue.length > 0) this.flushQueue(peer, now);
    }
    this.keepKeyFreshReceiving(peer, keypair, now);
    this.timers.anyAuthenticatedPacketReceived(peer);

    if (plaintext.length === 0) {
      this.counters.keepalivesReceived++;
      return 'keepalive';
    }
    this.timers.dataReceived(peer, now);
    const rejected = this.framer.open(peer, plaintext);
    if (rejected) return this.drop(rejected.code, rejected.reason, address, port, peer.publicKey);
    this.counters.dataDelivered++;
    this.output.deliver(peer.publicKey, this.framer.payload, this.framer.inner, address, port);
    return 'data';
  }

  private open(key: Buffer, counter: number, datagram: Buffer): Buffer | undefined {
    return this.aead.open(key, writeCounterNonce(this.nonce, counter), datagram.subarray(TRANSPORT_HEADER_LENGTH));
  }

  /** Receive side of key freshness: the initiator rekeys shortly before its keys would expire. */
  private keepKeyFreshReceiving(peer: Peer, keypair: Keypair, now: number): void {
    if (keypair !== peer.current || !keypair.isInitiator || peer.rekeyRequestedForCurrent) return;
    const t = this.limits;
    if (now - keypair.createdAt >= t.rejectAfterTimeMs - t.keepaliveTimeoutMs - t.rekeyTimeoutMs) {
      peer.rekeyRequestedForCurrent = true;
      this.handshakes.initiate(peer, false);
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
    const length = this.framer.frame(peer, payload, inner, this.scratch);
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
    this.timers.packetQueued(peer, expiresAt);
    this.handshakes.initiate(peer, false);
  }

  private fail(done: SendCallback | undefined, f: Failure, peerKey: string, peer?: Peer): void {
    if (done) done(peer?.endpointAddress === undefined ? f : { ...f, target: formatEndpoint(peer.endpointAddress, peer.endpointPort) });
    else this.output.reportFailure(f, peer?.endpointAddress, peer?.endpointAddress === undefined ? undefined : peer.endpointPort, peerKey);
  }

  private usableForSending(keypair: Keypair, now: number): boolean {
    return now - keypair.createdAt < this.limits.rejectAfterTimeMs && keypair.sendCounter < this.limits.rejectAfterMessages;
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
    this.aead.sealInto(keypair.sendKey, writeCounterNonce(this.nonce, counter), plaintext.subarray(0, padded), out, TRANSPORT_HEADER_LENGTH);

    this.timers.anyAuthenticatedPacketSent(peer);
    if (length > 0) {
      this.counters.transportSent++;
      this.timers.dataSent(peer, now);
    } else {
      this.counters.keepalivesSent++;
    }
    this.output.transmit(out, peer.endpointAddress!, peer.endpointPort, done);
    // Send side of key freshness.
    if (keypair.sendCounter >= this.limits.rekeyAfterMessages || (keypair.isInitiator && now - keypair.createdAt >= this.limits.rekeyAfterTimeMs)) {
      this.handshakes.initiate(peer, false);
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

  /** Fails the queued packets whose wait for a session is over. */
  private expireQueued(peer: Peer, now: number): void {
    while (peer.queue.length > 0 && peer.queue[0].expiresAt <= now) {
      const item = peer.queue.shift()!;
      this.fail(item.done, failure('NoSession', `no session with peer ${peer.publicKey} within ${this.queueTimeoutMs} ms`), peer.publicKey, peer);
    }
  }

  private failQueue(peer: Peer, code: FailureCode, reason: string): void {
    const items = peer.queue.splice(0);
    for (const item of items) this.fail(item.done, failure(code, reason), peer.publicKey, peer);
  }

  // ---------------------------------------------------------------- peers and keys

  /**
   * Why a handshake from the unknown key `peerKey` at `address` is refused; undefined when it may
   * become a peer. Half-open strangers past their timeout are forgotten first; the source's own
   * half-open limit applies before the device-wide one; at the device-wide limit the oldest
   * half-open stranger makes room, never a peer that sent transport data.
   */
  private refuseUnknownPeer(peerKey: string, address: string): Failure | undefined {
    if (!this.allowUnknownPeers) return failure('UnknownPeer', `handshake from unknown peer ${peerKey}`);
    const now = this.clock.now();
    for (const [peer, acceptedAt] of this.halfOpen) {
      if (now - acceptedAt < this.halfOpenTimeoutMs) break;
      this.removePeer(peer, 'NoSession', `peer ${peer.publicKey} sent no transport data within ${this.halfOpenTimeoutMs} ms of its handshake`);
    }
    const source = sourceKey(address);
    const fromSource = this.halfOpenPerSource.get(source) ?? 0;
    if (fromSource >= this.maxHalfOpenPerSource) {
      return failure('RateLimited', `handshake from unknown peer ${peerKey}: source ${address} already has ${fromSource} half-open peers (the limit per source)`);
    }
    if (this.dynamicPeers >= this.maxUnknownPeers) {
      const oldest = this.halfOpen.keys().next().value;
      if (oldest === undefined) {
        return failure('RateLimited', `handshake from unknown peer ${peerKey}: already ${this.dynamicPeers} unknown peers with sessions (the limit)`);
      }
      this.removePeer(oldest, 'NoSession', `peer ${oldest.publicKey} made room for a new peer before sending transport data`);
    }
    return undefined;
  }

  private addUnknownPeer(peerKey: string, identity: RemoteIdentity, address: string): Peer {
    const peer = new Peer(peerKey, identity, AllowedIps.ANY, new CookieJar(identity.publicKey, this.now), true);
    this.peers.set(peerKey, peer);
    this.dynamicPeers++;
    const source = sourceKey(address);
    peer.halfOpenSource = source;
    this.halfOpen.set(peer, this.clock.now());
    this.halfOpenPerSource.set(source, (this.halfOpenPerSource.get(source) ?? 0) + 1);
    return peer;
  }

  /** The peer is no longer half-open (it sent transport data, or it is removed). */
  private leaveHalfOpen(peer: Peer): void {
    const source = peer.halfOpenSource;
    if (source === undefined) return;
    peer.halfOpenSource = undefined;
    this.halfOpen.delete(peer);
    const count = (this.halfOpenPerSource.get(source) ?? 1) - 1;
    if (count > 0) this.halfOpenPerSource.set(source, count);
    else this.halfOpenPerSource.delete(source);
  }

  /** Erases every key of the peer; a peer accepted as unknown with nothing waiting is then forgotten. */
  private zeroKeys(peer: Peer): void {
    for (const keypair of peer.keypairs()) this.indices.retire(keypair);
    peer.previous = peer.current = peer.next = undefined;
    this.handshakes.abandonInitiation(peer);
    if (peer.dynamic && peer.queue.length === 0) this.removePeer(peer, 'NoSession', 'session expired');
  }

  private removePeer(peer: Peer, code: FailureCode, reason: string): void {
    this.leaveHalfOpen(peer);
    if (this.peers.get(peer.publicKey) === peer) {
      this.peers.delete(peer.publicKey);
      if (peer.dynamic) this.dynamicPeers--;
    }
    this.timers.stop(peer);
    for (const keypair of peer.keypairs()) this.indices.retire(keypair);
    peer.previous = peer.current = peer.next = undefined;
    this.handshakes.abandonInitiation(peer);
    this.failQueue(peer, code, reason);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function validPort(value: number, name: string): number {
  if (!inIntegerRange(value, PORT)) throw new Error(`${name} must be a port (${PORT.allowed}), got ${String(value)}`);
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
  if (!bytes || (bytes.length === 16) !== text.startsWith('[') || !inIntegerRange(portNumber, PORT)) throw bad();
  return { address: formatIpAddress(bytes), port: portNumber };
}

