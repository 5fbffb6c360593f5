/**
 * What every Listener kind (plain UDP, WireGuard) has in common around its socket: the record
 * and bind address, binding and closing, the bound address and port, the sink, and the guard
 * that keeps a throwing sink from stopping the socket.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ListenerRecord } from '../../lib/private/records';
import type { Failure, InboundDatagram, IngressSink, ListenerHandle } from '../contracts';
import { bindListenerSocket, closeListenerSocket, DEFAULT_MAX_PAYLOAD_BYTES, SendTracker, SinkErrorLog, socketTarget } from './listener-socket';
import type { EgressPolicy } from '../egress/egress-policy';

/** The settings every Listener kind shares. */
export interface SocketListenerOptions {
  readonly record: ListenerRecord;
  readonly sink: IngressSink;
  readonly logger: Logger;
  /** Address used when the record has no BindAddress. */
  readonly defaultBindAddress: string;
  /** Egress safety for this Listener (built from its EgressAllowedNetworks). */
  readonly egress: EgressPolicy;
  /** Rebuilds the egress policy after an in-place update. */
  readonly egressFor?: (record: ListenerRecord) => EgressPolicy;
}

/** Base of the Listener kinds: socket lifecycle and state; the kinds add receive and send. */
export abstract class SocketListener {
  public readonly name: string;
  protected record: ListenerRecord;
  protected sink: IngressSink;
  protected egress: EgressPolicy;
  protected maxPayload: number;
  protected readonly bindAddress: string;
  protected readonly ipv6: boolean;
  protected socket?: Socket;
  protected receiving = false;
  protected closed = false;
  protected closing?: Promise<void>;
  protected boundAddress = '';
  protected boundPort = 0;
  protected readonly sends = new SendTracker();
  private readonly sinkErrors: SinkErrorLog;
  /** Receives every datagram once the socket is bound. */
  protected abstract readonly onMessage: (msg: Buffer, rinfo: RemoteInfo) => void;

  /** Throws when the bind address is not an IP address. */
  protected constructor(private readonly base: SocketListenerOptions) {
    this.record = base.record;
    this.name = base.record.Name;
    this.sink = base.sink;
    this.egress = base.egress;
    this.maxPayload = base.record.MaxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.bindAddress = base.record.BindAddress ?? base.defaultBindAddress;
    const version = isIP(this.bindAddress);
    if (version === 0) throw new Error(`Listener ${this.name}: BindAddress ${JSON.stringify(this.bindAddress)} is not an IP address`);
    this.ipv6 = version === 6;
    this.sinkErrors = new SinkErrorLog(this.name, base.logger);
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

  public setSink(sink: IngressSink): void {
    this.sink = sink;
  }

  public stopReceiving(): void {
    this.receiving = false;
  }

  /** Binds the socket and starts receiving; on failure marks the Listener closed, runs `onFailure`, rejects. */
  protected bindSocket(onFailure?: () => void): Promise<void> {
    return bindListenerSocket({
      name: this.name,
      bindAddress: this.bindAddress,
      port: this.record.Port,
      ipv6: this.ipv6,
      logger: this.base.logger,
      created: (socket) => (this.socket = socket),
    }).then(
      (bound) => {
        this.boundAddress = bound.address;
        this.boundPort = bound.port;
        bound.socket.on('message', this.onMessage);
        this.receiving = true;
      },
      (err: Error) => {
        this.socket = undefined;
        this.closed = true;
        onFailure?.();
        throw err;
      },
    );
  }

  /** Stops receiving, waits for sends in progress, runs `beforeClose`, closes the socket. Idempotent. */
  protected closeSocket(beforeClose?: () => void): Promise<void> {
    if (this.closing) return this.closing;
    this.receiving = false;
    this.closing = this.sends.whenIdle().then(() => {
      this.closed = true;
      beforeClose?.();
      return closeListenerSocket(this.socket, this.onMessage);
    });
    return this.closing;
  }

  /** Takes a new record in place: egress policy (when rebuildable), payload limit, the record itself. */
  protected applyRecord(record: ListenerRecord): void {
    if (this.base.egressFor) this.egress = this.base.egressFor(record);
    this.maxPayload = record.MaxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.record = record;
  }

  /**
   * Sends `data` from the Listener socket to `address:port` (canonical; IPv4 targets of an IPv6
   * socket are mapped), tracked so that closing waits for it. `done` is called once: `undefined`
   * when sent, `SendFailed` when the socket is not running or the send fails.
   */
  protected sendOnSocket(data: Buffer, port: number, address: string, done: (failure: Failure | undefined) => void): void {
    const socket = this.socket;
    if (!socket || this.closed) {
      done({ code: 'SendFailed', reason: `Listener ${this.name} is not running` });
      return;
    }
    this.sends.started();
    try {
      socket.send(data, port, socketTarget(this.ipv6, address), (err) => {
        this.sends.settled();
        done(err ? { code: 'SendFailed', reason: `send to ${address}:${port} failed: ${err.message}` } : undefined);
      });
    } catch (err) {
      this.sends.settled();
      done({ code: 'SendFailed', reason: `send to ${address}:${port} failed: ${(err as Error).message}` });
    }
  }

  /** Hands a datagram to the sink; a throwing sink is logged (the first few times) and never stops the socket. */
  protected accept(handle: ListenerHandle, datagram: InboundDatagram): void {
    try {
      this.sink.accept(handle, datagram);
    } catch (err) {
      this.sinkErrors.report(err);
    }
  }
}
