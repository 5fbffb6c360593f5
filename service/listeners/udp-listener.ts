/**
 * A plain UDP Listener: one dgram socket, IPv4 or IPv6 by bind address. Every datagram is handed
 * to the current IngressSink; `send` applies the egress rules (address, port, payload limit,
 * egress safety, flow ownership) before the datagram reaches the socket.
 */
import type { ListenerRecord } from '../../lib/private/records';
import type { EgressDatagram, Failure, InboundDatagram, ManagedListener, SendCallback } from '../contracts';
import { SocketListener, SocketListenerOptions } from './socket-listener';
import { inIntegerRange, PORT } from '../../lib/private/limits';
import { canonicalAddress } from '../../lib/private/network';

export type UdpListenerOptions = SocketListenerOptions;

export class UdpListener extends SocketListener implements ManagedListener {
  public readonly protocol = 'udp' as const;
  /** The last destination text sent to and its canonical form: senders repeat their remote. */
  private lastAddress = '';
  private lastCanonical = '';

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
    this.applyRecord(record);
    return true;
  }

  /**
   * Sends from the Listener socket after the egress checks. `done` is called once: synchronously
   * with the failure when a check refuses the datagram, otherwise when the socket has sent it
   * (or failed to, `SendFailed`). Without `done`, a failure goes to the failure log.
   */
  public send(datagram: EgressDatagram, done?: SendCallback): void {
    const checked = this.check(datagram);
    if (typeof checked !== 'string') {
      this.sendFailed(checked, done, typeof datagram.address === 'string' ? datagram.address : undefined, datagram.port);
      return;
    }
    this.sendOnSocket(datagram.data, datagram.port, checked, done);
  }

  public close(): Promise<void> {
    return this.closeSocket();
  }

  /** The canonical destination address when every egress rule allows the datagram, else the failure. */
  private check(datagram: EgressDatagram): Failure | string {
    const stopped = this.notSending();
    if (stopped) return stopped;
    const port = datagram.port;
    if (!inIntegerRange(port, PORT)) {
      return { code: 'InvalidPort', reason: `port ${JSON.stringify(port)} is not valid (allowed: ${PORT.allowed})` };
    }
    const address = this.canonical(datagram.address);
    if (address === undefined) {
      return { code: 'InvalidAddress', reason: `${JSON.stringify(datagram.address)} is not an IP address (allowed: IPv4 dotted quad or IPv6 without zone)` };
    }
    return this.egressGuard.checkPayload(datagram.data.length) ?? this.egressGuard.checkDestination(address, port) ?? address;
  }

  /** `address` in canonical text, or undefined when it is not an IP address; the last one is remembered. */
  private canonical(address: unknown): string | undefined {
    if (typeof address !== 'string') return undefined;
    if (address === this.lastAddress) return this.lastCanonical;
    const canonical = canonicalAddress(address);
    if (canonical !== undefined) {
      this.lastAddress = address;
      this.lastCanonical = canonical;
    }
    return canonical;
  }

  /** A datagram read from the socket goes to the ingress pipeline as it is. */
  protected takeIn(read: InboundDatagram): void {
    this.accept(this, read);
  }
}
