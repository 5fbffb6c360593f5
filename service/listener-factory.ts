/**
 * Creates a running Listener from its record, by Protocol. Each protocol is one entry of
 * {@link LISTENER_FACTORIES}.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { FailureReporter, IngressSink, ManagedListener, MetricsRecorder } from './contracts';
import { EgressPolicy } from './egress/egress-policy';
import type { FlowTable } from './egress/flow-table';
import { UdpListener } from './listeners/udp-listener';
import type { PeerDirectory } from './wireguard/fleet-sessions';
import { WireGuardListener } from './wireguard/wg-listener';
import { defaultMaxPayloadBytes, MAX_UDP_PAYLOAD_BYTES } from '../lib/private/limits';
import type { ListenerProtocolName, ListenerRecord } from '../lib/private/records';

/** What every Listener is built with. */
export interface ListenerDependencies {
  /** Where accepted datagrams go (the Listener's ingress pipeline). */
  readonly sink: IngressSink;
  readonly logger: Logger;
  readonly failures: FailureReporter;
  readonly metrics: MetricsRecorder;
  readonly flows: FlowTable;
  /** Refuse egress to clients without a live flow (AWS mode). */
  readonly requireActiveFlow: boolean;
  /** Local mode: replies and sourced packets may go to loopback. */
  readonly allowLoopbackEgress: boolean;
  /** The VPC's CIDRs, denied as egress destinations. */
  readonly deniedNetworks: readonly string[];
  /** Bind address for records without BindAddress (0.0.0.0 in AWS, 127.0.0.1 locally). */
  readonly defaultBindAddress: string;
  /** Local mode (WireGuard uses it to accept unknown peers by default, for instance). */
  readonly local: boolean;
  /** In a fleet: where WireGuard Listeners record their sessions and find peers by endpoint. @default - none */
  readonly peerDirectory?: PeerDirectory;
  /** Sockets share their port with the other data-plane workers' (SO_REUSEPORT). @default false */
  readonly reusePort?: boolean;
  /** Receive buffer of each Listener socket, in bytes (ServiceEnvironment.ReceiveBufferBytes, read once at start). @default - the kernel's cap, 4–64 MiB */
  readonly receiveBufferBytes?: number;
}

export type ListenerConstructor = (record: ListenerRecord, deps: ListenerDependencies) => ManagedListener;

/** The egress policy of one Listener under the gateway-wide rules. */
export function egressPolicyFor(record: ListenerRecord, deps: Pick<ListenerDependencies, 'allowLoopbackEgress' | 'deniedNetworks'>): EgressPolicy {
  return new EgressPolicy({
    allowLoopback: deps.allowLoopbackEgress,
    deniedNetworks: deps.deniedNetworks,
    allowedNetworks: record.EgressAllowedNetworks,
  });
}

/** The options every Listener kind takes from the gateway. */
function commonListenerOptions(record: ListenerRecord, deps: ListenerDependencies) {
  return {
    record,
    sink: deps.sink,
    logger: deps.logger,
    failures: deps.failures,
    metrics: deps.metrics,
    defaultBindAddress: deps.defaultBindAddress,
    egress: egressPolicyFor(record, deps),
    egressFor: (r: ListenerRecord) => egressPolicyFor(r, deps),
    flows: deps.flows,
    requireActiveFlow: deps.requireActiveFlow,
    defaultMaxPayloadBytes: defaultPayloadLimit(record, deps),
    reusePort: deps.reusePort,
    receiveBufferBytes: deps.receiveBufferBytes,
  };
}

/**
 * Payload limit of a record without MaxPayloadBytes: in AWS the internet-safe size of the
 * Listener's protocol (what the construct writes), so no reply or sourced packet is fragmented or
 * dropped on a 1500-byte path; locally the whole UDP payload, since loopback has no such path.
 */
function defaultPayloadLimit(record: ListenerRecord, deps: Pick<ListenerDependencies, 'local'>): number {
  return deps.local ? MAX_UDP_PAYLOAD_BYTES : defaultMaxPayloadBytes(record.Protocol);
}

function createUdpListener(record: ListenerRecord, deps: ListenerDependencies): ManagedListener {
  return new UdpListener(commonListenerOptions(record, deps));
}

function createWireGuardListener(record: ListenerRecord, deps: ListenerDependencies): ManagedListener {
  return new WireGuardListener({ ...commonListenerOptions(record, deps), local: deps.local, peerDirectory: deps.peerDirectory });
}

export const LISTENER_FACTORIES: Record<ListenerProtocolName, ListenerConstructor> = {
  udp: createUdpListener,
  wg: createWireGuardListener,
};

/** Creates (does not start) the Listener for `record`. Throws a message naming the Listener when it cannot. */
export function createListener(record: ListenerRecord, deps: ListenerDependencies): ManagedListener {
  const factory = LISTENER_FACTORIES[record.Protocol];
  if (!factory) {
    throw new Error(`Listener ${record.Name}: Protocol ${JSON.stringify(record.Protocol)} is not supported (allowed: ${Object.keys(LISTENER_FACTORIES).join(', ')})`);
  }
  return factory(record, deps);
}
