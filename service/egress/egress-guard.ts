/**
 * The egress rules every Listener kind applies before a datagram reaches its socket: the payload
 * limit, the socket's address family, the egress policy (`DestinationDenied`) and, behind the load
 * balancer, flow ownership (`NoActiveFlow`). One guard per Listener; it allocates only to describe
 * a refusal.
 */
import type { Failure } from '../contracts';
import type { EgressPolicy } from './egress-policy';
import type { FlowTable } from './flow-table';

/** What an {@link EgressGuard} judges against. */
export interface EgressGuardOptions {
  /** Listener name, for messages and flow lookups. */
  readonly listener: string;
  /** The Listener's bind address, for messages. */
  readonly bindAddress: string;
  /** The socket is IPv6 (and reaches IPv4 through mapped addresses). */
  readonly ipv6: boolean;
  readonly egress: EgressPolicy;
  readonly maxPayloadBytes: number;
  readonly flows?: FlowTable;
  /** Refuse destinations without a live flow (AWS, behind the load balancer). @default false */
  readonly requireActiveFlow?: boolean;
}

/** Egress rules of one Listener; the policy and payload limit follow in-place updates of its record. */
export class EgressGuard {
  private egress: EgressPolicy;
  private maxPayload: number;

  public constructor(private readonly options: EgressGuardOptions) {
    this.egress = options.egress;
    this.maxPayload = options.maxPayloadBytes;
  }

  /** Takes the rules of an updated record. */
  public update(egress: EgressPolicy, maxPayloadBytes: number): void {
    this.egress = egress;
    this.maxPayload = maxPayloadBytes;
  }

  /** `PayloadTooLarge` when `bytes` exceeds the Listener's MaxPayloadBytes. */
  public checkPayload(bytes: number): Failure | undefined {
    if (bytes <= this.maxPayload) return undefined;
    return { code: 'PayloadTooLarge', reason: `payload of ${bytes} bytes exceeds the Listener's MaxPayloadBytes ${this.maxPayload}` };
  }

  /**
   * The first rule that refuses `address:port` (address in canonical text): an IPv6 destination
   * of an IPv4 socket (`InvalidAddress`), the egress policy (`DestinationDenied`), a missing flow
   * (`NoActiveFlow`). `peerKey` names the WireGuard peer behind the address, for messages.
   * A flow's age is told by the flow table's clock as read once per synchronous job (its
   * {@link FlowTable.clockOfJob}): a message's datagrams are sent in one job and share one reading.
   */
  public checkDestination(address: string, port: number, peerKey?: string): Failure | undefined {
    const { listener, ipv6 } = this.options;
    // canonical IPv6 text contains ':'; IPv4-mapped IPv6 is IPv4
    if (!ipv6 && address.includes(':') && !address.startsWith('::ffff:')) {
      return {
        code: 'InvalidAddress',
        reason: peerKey === undefined
          ? `Listener ${listener} is bound to IPv4 ${this.options.bindAddress} and cannot send to IPv6 ${address}`
          : `Listener ${listener} is bound to IPv4 ${this.options.bindAddress} and cannot reach peer ${peerKey} at IPv6 ${address}`,
      };
    }
    const denied = this.egress.check(address);
    if (denied) return denied;
    const flows = this.options.flows;
    if (this.options.requireActiveFlow && !flows?.isActive(listener, address, port, flows.clockOfJob.now())) {
      return {
        code: 'NoActiveFlow',
        reason: peerKey === undefined
          ? `no active flow from ${address}:${port} to Listener ${listener}: the client must have sent to the Listener recently (keepalive ≤ 25 s)`
          : `no active flow from peer ${peerKey} at ${address}:${port} to Listener ${listener}: the peer must have sent recently (persistent keepalive ≤ 25 s)`,
      };
    }
    return undefined;
  }
}
