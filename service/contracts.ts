/**
 * The seams between the data plane's modules. Each module depends on these interfaces, never on
 * another module's internals, so listeners (plain UDP, WireGuard), destinations and packet
 * sourcing can change independently.
 */
import type { InnerAddressing } from '../lib/handler';
import type { ListenerProtocolName, ListenerRecord, PacketSourceRecord } from '../lib/private/records';

export type { InnerAddressing };

/** Stable failure codes (DESIGN.md). Every packet that is not delivered yields one log record with one of these. */
export const FAILURE_CODES = [
  'InvalidJson',
  'InvalidMessage',
  'InvalidAddress',
  'InvalidPort',
  'InvalidData',
  'PayloadTooLarge',
  'UnknownTopic',
  'SourceDisabled',
  'UnknownPeer',
  'NoSession',
  'DestinationDenied',
  'RateLimited',
  'Expired',
  'NoActiveFlow',
  'SendFailed',
  'ClientRestricted',
  'DestinationFailed',
  'ReplyUnknownTag',
  'ReplyInvalid',
  'HandshakeInvalid',
  'DecryptFailed',
  'Replay',
  'AllowedIpsViolation',
  'UnknownRegion',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/** A packet that was not delivered, and why. */
export interface Failure {
  readonly code: FailureCode;
  /** Human-readable reason naming the bad value and what is allowed. */
  readonly reason: string;
  /**
   * `address:port` the datagram went (or was to go) to, when the Listener chose it rather than
   * the requested address (WireGuard: the peer's endpoint). @default - the requested address
   */
  readonly target?: string;
}

/** Identifiers attached to a failure record (never the payload). */
export interface FailureContext {
  readonly listener?: string;
  readonly destination?: string;
  readonly topicArn?: string;
  readonly messageId?: string;
  readonly index?: number;
  readonly remote?: string;
  readonly peerKey?: string;
  readonly tag?: string;
}

/** Writes one structured log record per failure and counts it by code. */
export interface FailureReporter {
  report(failure: Failure, context: FailureContext): void;
}

/** A datagram (payload after any WireGuard decryption) that arrived on a Listener. */
export interface InboundDatagram {
  readonly data: Buffer;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Peer public key, base64 (WireGuard only). */
  readonly peerKey?: string;
  /** Inner addressing (WireGuard with DecapsulatedDelivery only). */
  readonly inner?: InnerAddressing;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
}

/** A datagram to send out of a Listener: a reply or a sourced packet. */
export interface EgressDatagram {
  readonly data: Buffer;
  readonly address: string;
  readonly port: number;
  /** WireGuard: the peer to encrypt for. */
  readonly peerKey?: string;
  /** WireGuard, decapsulated: inner addressing to build the inner IP/UDP packet with. */
  readonly inner?: InnerAddressing;
}

/** Called once a send has completed (failure undefined) or failed. */
export type SendCallback = (failure: Failure | undefined) => void;

/**
 * A running Listener as other modules see it. `send` applies the egress safety rules
 * (DestinationDenied), the payload limit (PayloadTooLarge), flow ownership (NoActiveFlow) and,
 * for WireGuard, encryption (UnknownPeer, NoSession) before anything reaches the wire.
 */
export interface ListenerHandle {
  readonly name: string;
  readonly protocol: ListenerProtocolName;
  /** Bound address and port. */
  readonly address: string;
  readonly port: number;
  /** WireGuard public key, base64. */
  readonly publicKey?: string;
  send(datagram: EgressDatagram, done?: SendCallback): void;
  /** WireGuard: whether this Listener holds a usable session of `peerKey` with a live flow (pushes by PeerKey leave from its holder). */
  holdsSession?(peerKey: string): boolean;
}

/** Where a Listener hands each accepted datagram (formatting, tagging, batching, destinations). */
export interface IngressSink {
  accept(listener: ListenerHandle, datagram: InboundDatagram): void;
}

/** Looks up running Listeners by name. */
export interface ListenerRegistry {
  get(name: string): ListenerHandle | undefined;
  list(): readonly ListenerHandle[];
}

/** Looks up PacketSource bindings by topic ARN (from the live configuration). */
export interface BindingLookup {
  getPacketSource(topicArn: string): PacketSourceRecord | undefined;
  /** Every binding, when the configuration can enumerate them (the local SNS endpoint's ListTopics). */
  listPacketSources?(): readonly PacketSourceRecord[];
}

/** Receives failure records for a PacketSource's dead-letter queue. */
export interface DeadLetterSink {
  /**
   * Queue a failure record for `queueArn`, sent as `sender` (the PacketSource's role, which may
   * send to its queue; without one, the gateway's own credentials); sent in batches, never awaited
   * per packet. Resolves (never rejects) true once the queue accepted the record, false when it
   * could not be written (after bounded retries): the caller then keeps the source message for
   * redelivery.
   */
  enqueue(queueArn: string, record: Record<string, unknown>, sender?: { readonly roleArn?: string; readonly externalId?: string }): Promise<boolean>;
  /** Send everything queued (used on shutdown). */
  flush(): Promise<void>;
}

/** A PacketSource's delivery log group, and the role to write it as (its RoleArn/ExternalId). */
export interface DeliveryLogTarget {
  readonly logGroupArn: string;
  readonly roleArn?: string;
  readonly externalId?: string;
}

/** Failure records of sourced packets, for each PacketSource's `DeliveryLogGroupArn`. */
export interface DeliveryLogSink {
  /** Queue a failure record for `target`'s log group; written in batches, never awaited per packet. */
  write(target: DeliveryLogTarget, record: Record<string, unknown>): void;
  /** Write everything queued (used on shutdown). */
  flush(): Promise<void>;
}

/**
 * Counters and observations, emitted as CloudWatch EMF. Metric names are stable API:
 * DatagramsIn, RepliesOut, SourcedSent, PacketsDropped, BatchSize, DestinationLatencyMs, and
 * Failures (dimension Code) via the FailureReporter.
 */
export interface MetricsRecorder {
  /** Adds `value` (default 1) to a counter. Never throws. */
  increment(metric: string, value?: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Records one observation (a batch size, a latency in milliseconds). Never throws. */
  observe(metric: string, value: number, dimensions?: Readonly<Record<string, string>>): void;
}

/**
 * A Listener as the gateway runtime drives it: bound on start, fed to an {@link IngressSink},
 * reconfigured in place when possible, and closed gracefully. Plain UDP and WireGuard Listeners
 * both implement it.
 */
export interface ManagedListener extends ListenerHandle {
  /** True once bound and until closed. */
  readonly bound: boolean;
  /** Binds the socket. Rejects with a message naming the Listener, the address and the port. */
  start(): Promise<void>;
  /** Hands accepted datagrams to `sink` from now on (a new pipeline after a configuration change). */
  setSink(sink: IngressSink): void;
  /**
   * Applies a changed record without rebinding when the change allows it (same protocol, port and
   * bind address) and returns true; returns false when the Listener must be recreated.
   */
  update(record: ListenerRecord): boolean;
  /** Stops handing datagrams to the sink; replies and sourced packets can still be sent. */
  stopReceiving(): void;
  /** Waits for sends in progress, then closes the socket. Idempotent. */
  close(): Promise<void>;
}
