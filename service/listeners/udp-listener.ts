/**
 * A plain UDP Listener: one dgram socket, IPv4 or IPv6 by bind address. Every datagram is handed
 * to the current IngressSink; `send` applies the egress rules (address, port, payload limit,
 * egress safety, flow ownership) before the datagram reaches the socket.
 */
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ListenerRecord } from '../../lib/private/records';
import type { EgressDatagram, Failure, IngressSink, ManagedListener, MetricsRecorder, SendCallback } from '../contracts';
import { canonicalAddress } from '../egress/address';
import { EgressPolicy } from '../egress/egress-policy';
import type { FlowTable } from '../egress/flow-table';

/** Largest UDP payload over IPv4. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 65_507;
/** Socket buffer sizes asked for (the kernel may cap them, e.g. net.core.rmem_max). */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

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

export class UdpListener implements ManagedListener {
  public readonly protocol = 'udp' as const;
  public readonly name: string;
  private record: ListenerRecord;
  private sink: IngressSink;
  private egress: EgressPolicy;
  private maxPayload: number;
  private readonly bindAddress: string;
  private readonly ipv6: boolean;
  private socket?: Socket;
  private receiving = false;
  private closed = false;
  private closing?: Promise<void>;
  private boundAddress = '';
  private boundPort = 0;
  private pendingSends = 0;
  private idleWaiters: Array<() => void> = [];
  private sinkErrors = 0;

  public constructor(private readonly options: UdpListenerOptions) {
    this.record = options.record;
    this.name = options.record.Name;
    this.sink = options.sink;
    this.egress = options.egress;
    this.maxPayload = options.record.MaxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.bindAddress = options.record.BindAddress ?? options.defaultBindAddress;
    const version = isIP(this.bindAddress);
    if (version === 0) throw new Error(`Listener ${this.name}: BindAddress ${JSON.stringify(this.bindAddress)} is not an IP address`);
    this.ipv6 = version === 6;
  }

  public get address(): string {
    return this.boundAddress || this.bindAddress;
  }

  public get port(): number {
    return this.boundPort || this.record.Port;
  }

  public get bound(): boolean {
    return this.socket !== undefined && this.boundPort !== 0 && !this.closed;
  }

  public start(): Promise<void> {
    if (this.socket) return Promise.resolve();
    const socket = createSocket({
      type: this.ipv6 ? 'udp6' : 'udp4',
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
    });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const onBindError = (err: NodeJS.ErrnoException): void => {
        this.socket = undefined;
        this.closed = true;
        socket.close();
        reject(new Error(`Listener ${this.name}: cannot bind udp ${this.bindAddress}:${this.record.Port}: ${describeBindError(err)}`));
      };
      socket.once('error', onBindError);
      socket.bind({ address: this.bindAddress, port: this.record.Port, exclusive: true }, () => {
        socket.off('error', onBindError);
        socket.on('error', (err) => this.options.logger.error('listener socket error', { listener: this.name, error: err.message }));
        const bound = socket.address();
        this.boundAddress = bound.address;
        this.boundPort = bound.port;
        socket.on('message', this.onMessage);
        this.receiving = true;
        resolve();
      });
    });
  }

  public setSink(sink: IngressSink): void {
    this.sink = sink;
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

  public stopReceiving(): void {
    this.receiving = false;
  }

  /**
   * Sends from the Listener socket after the egress checks. `done` is called once: synchronously
   * with the failure when a check refuses the datagram, otherwise when the socket has sent it
   * (or failed to, `SendFailed`).
   */
  public send(datagram: EgressDatagram, done?: SendCallback): void {
    const failure = this.check(datagram);
    if (failure) {
      done?.(failure);
      return;
    }
    let address = canonicalAddress(datagram.address)!;
    if (this.ipv6 && isIP(address) === 4) address = `::ffff:${address}`;
    this.pendingSends++;
    try {
      this.socket!.send(datagram.data, datagram.port, address, (err) => {
        this.sendSettled();
        done?.(err ? { code: 'SendFailed', reason: `send to ${datagram.address}:${datagram.port} failed: ${err.message}` } : undefined);
      });
    } catch (err) {
      this.sendSettled();
      done?.({ code: 'SendFailed', reason: `send to ${datagram.address}:${datagram.port} failed: ${(err as Error).message}` });
    }
  }

  public close(): Promise<void> {
    if (this.closing) return this.closing;
    this.receiving = false;
    this.closing = this.whenSendsSettled().then(
      () =>
        new Promise<void>((resolve) => {
          this.closed = true;
          const socket = this.socket;
          if (!socket) return resolve();
          socket.off('message', this.onMessage);
          try {
            socket.close(() => resolve());
          } catch {
            resolve();
          }
        }),
    );
    return this.closing;
  }

  private check(datagram: EgressDatagram): Failure | undefined {
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
    if (!this.ipv6 && isIP(address) === 6) {
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
    return undefined;
  }

  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (!this.receiving) return;
    let address = rinfo.address;
    if (this.ipv6 && address.startsWith('::ffff:') && address.indexOf('.', 7) > 0) address = address.slice(7);
    try {
      this.sink.accept(this, { data: msg, remoteAddress: address, remotePort: rinfo.port, receivedAt: Date.now() });
    } catch (err) {
      // A bug in the pipeline must not stop the socket; log the first few only.
      if (this.sinkErrors++ < 10) {
        this.options.logger.error('ingress pipeline error', { listener: this.name, error: (err as Error)?.message ?? String(err) });
      }
    }
  };

  private sendSettled(): void {
    this.pendingSends--;
    if (this.pendingSends === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private whenSendsSettled(): Promise<void> {
    if (this.pendingSends === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

function describeBindError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'the port is already in use (another process or Listener holds it)';
    case 'EADDRNOTAVAIL':
      return 'the address does not belong to this host';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    default:
      return err.message;
  }
}
