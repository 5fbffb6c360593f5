/**
 * A plain UDP Listener: one dgram socket, IPv4 or IPv6 by bind address. Every datagram is handed
 * to the current IngressSink; `send` applies the egress rules (address, port, payload limit,
 * egress safety, flow ownership) before the datagram reaches the socket.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ListenerRecord } from '../../lib/private/records';
import type { EgressDatagram, Failure, IngressSink, ManagedListener, MetricsRecorder, SendCallback } from '../contracts';
import { DEFAULT_MAX_PAYLOAD_BYTES, socketTarget, unmappedAddress } from './listener-socket';
import { SocketListener } from './socket-listener';
import { canonicalAddress } from '../egress/address';
import { EgressPolicy } from '../egress/egress-policy';
import type { FlowTable } from '../egress/flow-table';

export interface UdpListenerOptions {
  readonly record: ListenerRecord;
  readonly sink: IngressSink;
  readonly logger: Logger;
  readonly metrics?: MetricsRecorder;
  /** Address used when the record has no BindAddress. */
  readonly defaultBindAddress: string;
  /** Egress safety for this Listener (built from its EgressAllowedNetworks). */
  readonly egress: EgressPolicy;
  readonly flows?: FlowTable;
  /** Refuse sends to clients without a live flow (AWS, behind the load balancer). @default false */
  readonly requireActiveFlow?: boolean;
  /** Rebuilds the egress policy after an in-place update. */
  readonly egressFor?: (record: ListenerRecord) => EgressPolicy;
}

export class UdpListener extends SocketListener implements ManagedListener {
  public readonly protocol = 'udp' as const;

  public constructor(private readonly options: UdpListenerOptions) {
    super(options);
  }

  public start(): Promise<void> {
    if (this.socket) return Promise.resolve();
    return this.bindSocket();
  }

  public update(record: ListenerRecord): boolean {
    if (record.Name !== this.name || record.Protocol !== 'udp' || record.Port !== this.record.Port
      || (record.BindAddress ?? this.options.defaultBindAddress) !== this.bindAddress) {
      return false;
    }
    if (this.options.egressFor) this.egress = this.options.egressFor(record);
    this.maxPayload = record.MaxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.record = record;
    return true;
  }

  /**
   * Sends from the Listener socket after the egress checks. `done` is called once: synchronously
   * with the failure when a check refuses the datagram, otherwise when the socket has sent it
   * (or failed to, `SendFailed`).
   */
  public send(datagram: EgressDatagram, done?: SendCallback): void {
    const checked = this.check(datagram);
    if (typeof checked !== 'string') {
      done?.(checked);
      return;
    }
    const address = socketTarget(this.ipv6, checked);
    this.sends.started();
    try {
      this.socket!.send(datagram.data, datagram.port, address, (err) => {
        this.sends.settled();
        done?.(err ? { code: 'SendFailed', reason: `send to ${datagram.address}:${datagram.port} failed: ${err.message}` } : undefined);
      });
    } catch (err) {
      this.sends.settled();
      done?.({ code: 'SendFailed', reason: `send to ${datagram.address}:${datagram.port} failed: ${(err as Error).message}` });
    }
  }

  public close(): Promise<void> {
    return this.closeSocket();
  }

  /** The canonical destination address when every egress rule allows the datagram, else the failure. */
  private check(datagram: EgressDatagram): Failure | string {
    if (this.closed || this.closing || !this.socket || this.boundPort === 0) {
      return { code: 'SendFailed', reason: `Listener ${this.name} is not running` };
    }
    const port = datagram.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return { code: 'InvalidPort', reason: `port ${JSON.stringify(port)} is not valid (allowed: integer 1–65535)` };
    }
    const address = typeof datagram.address === 'string' ? canonicalAddress(datagram.address) : undefined;
    if (address === undefined) {
      return { code: 'InvalidAddress', reason: `${JSON.stringify(datagram.address)} is not an IP address (allowed: IPv4 dotted quad or IPv6 without zone)` };
    }
    // canonical IPv4 text never contains ':'
    if (!this.ipv6 && address.includes(':')) {
      return { code: 'InvalidAddress', reason: `Listener ${this.name} is bound to IPv4 ${this.bindAddress} and cannot send to IPv6 ${address}` };
    }
    if (datagram.data.length > this.maxPayload) {
      return { code: 'PayloadTooLarge', reason: `payload of ${datagram.data.length} bytes exceeds the Listener's MaxPayloadBytes ${this.maxPayload}` };
    }
    const denied = this.egress.check(address);
    if (denied) return denied;
    if (this.options.requireActiveFlow && !this.options.flows?.isActive(this.name, address, port)) {
      return {
        code: 'NoActiveFlow',
        reason: `no active flow from ${address}:${port} to Listener ${this.name}: the client must have sent to the Listener recently (keepalive ≤ 25 s)`,
      };
    }
    return address;
  }

  protected readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (!this.receiving) return;
    const address = this.ipv6 ? unmappedAddress(rinfo.address) : rinfo.address;
    this.accept(this, { data: msg, remoteAddress: address, remotePort: rinfo.port, receivedAt: Date.now() });
  };
}
