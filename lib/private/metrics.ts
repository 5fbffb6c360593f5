/**
 * The data plane's CloudWatch metrics (EMF): namespace, metric names and dimension names. The
 * fleet emits them and the constructs' `metric…()` methods read them, both from here. Metric and
 * dimension names are public API (dashboards and alarms in the wild use them): add, never rename.
 * Pure: no CDK import.
 */

/** CloudWatch namespace of every data-plane metric. */
export const METRICS_NAMESPACE = 'PacketGateway';

/** Value of the `Service` dimension every metric carries (also the logger's service name). */
export const SERVICE_NAME = 'packet-gateway';

/**
 * Seconds between two EMF flushes of a task when PACKET_GATEWAY_METRICS_INTERVAL_SECONDS is unset:
 * each task emits one datapoint per series per interval, so a count's `Average` statistic is the
 * count per task per interval.
 */
export const DEFAULT_METRICS_INTERVAL_SECONDS = 60;

/** Dimension names. */
export const MetricDimension = {
  /** Every metric: {@link SERVICE_NAME}. */
  Service: 'Service',
  /** Every metric of a deployed fleet: the gateway's stack name and construct path (ServiceEnvironment.GatewayName). */
  Gateway: 'Gateway',
  /** The Listener's name. */
  Listener: 'Listener',
  /** The PacketSource's topic ARN (sourced-packet `Failures`). */
  PacketSource: 'PacketSource',
  /** The destination's name within its Listener. */
  Destination: 'Destination',
  /** A failure code (DESIGN.md "Failure codes"). */
  Code: 'Code',
  /** Why a relay request failed. */
  Reason: 'Reason',
} as const;

/** The dimension every metric carries. */
export const METRICS_SERVICE_DIMENSION: Readonly<Record<string, string>> = Object.freeze({ [MetricDimension.Service]: SERVICE_NAME });

/** Metric names; units follow the suffix (`…Ms` milliseconds, `…Bytes` bytes, otherwise a count). */
export const MetricName = {
  /** Datagrams received by a Listener (dimension Listener). */
  DatagramsIn: 'DatagramsIn',
  /** Replies sent by a Listener (dimension Listener). */
  RepliesOut: 'RepliesOut',
  /** Sourced packets sent. */
  SourcedSent: 'SourcedSent',
  /** Sourced messages skipped (not for this gateway). */
  SourcedSkipped: 'SourcedSkipped',
  /** Packets per delivered batch (dimensions Listener, Destination). */
  BatchSize: 'BatchSize',
  /** Time a destination took to accept a batch (dimensions Listener, Destination). */
  DestinationLatencyMs: 'DestinationLatencyMs',
  /** Packets dropped because a destination's queue was full (dimensions Listener, Destination). */
  PacketsDropped: 'PacketsDropped',
  /** Undelivered packets (dimension Code; with Listener, or PacketSource for sourced packets, when known). */
  Failures: 'Failures',
  /** Completed WireGuard handshakes (dimension Listener). */
  WireGuardHandshakes: 'WireGuardHandshakes',
  /**
   * Handshakes a fleet member initiated for a WireGuard peer that spoke to it without a session
   * there (after a restart, a deploy, a move), the peer found in the fleet directory (dimension Listener).
   */
  WireGuardSessionsResumed: 'WireGuardSessionsResumed',
  /**
   * Datagrams the kernel dropped because a socket's receive buffer was full, before the gateway
   * could read them: per task (no Listener dimension; `UdpRcvbufErrors` and `Udp6RcvbufErrors`),
   * and per Listener where the kernel reports per-socket drops (dimension Listener).
   */
  ReceiveBufferDrops: 'ReceiveBufferDrops',
  /** 1 at start when WireGuard transport data is sealed by node:crypto because libsodium (sodium-native) could not load. */
  WireGuardCryptoFallback: 'WireGuardCryptoFallback',
  /** Metric series left out of an interval because the recorder's series limit was reached. */
  MetricSeriesDropped: 'MetricSeriesDropped',
  /** Sourced packets handed to their flow's owner in another fleet member and sent there. */
  Relayed: 'Relayed',
  /** Relay requests without a `Sent` answer (dimension Reason: Timeout, NotOwner, QueueFull, Busy, Refused, PayloadTooLarge, SendFailed). */
  RelayFailures: 'RelayFailures',
  /** Owner lookups of flows this member does not own. */
  OwnerLookups: 'OwnerLookups',
  /** Owner lookups answered by the owner cache. */
  OwnerCacheHits: 'OwnerCacheHits',
  /** Packets a destination accepted (dimensions Listener, Destination; only with the destination's `MetricsEnabled`). */
  PacketsIn: 'PacketsIn',
  /** Payload bytes of the packets a destination accepted, before encoding (dimensions Listener, Destination; only with `MetricsEnabled`). */
  BytesIn: 'BytesIn',
  /** Replies of a destination sent to clients (dimensions Listener, Destination; only with `MetricsEnabled`). */
  PacketsOut: 'PacketsOut',
  /** Payload bytes of the replies of a destination sent to clients (dimensions Listener, Destination; only with `MetricsEnabled`). */
  BytesOut: 'BytesOut',
  /** Time from a relay request to its answer. */
  RelayLatencyMs: 'RelayLatencyMs',
  /** Relay requests this member answered for other members. */
  RelayServed: 'RelayServed',
  /** Sourced packets forwarded to the delivery queue of the region that owns their flow (docs/FLEET.md "Global"). */
  ForwardedToRegion: 'ForwardedToRegion',
} as const;
export type MetricNameValue = (typeof MetricName)[keyof typeof MetricName];
