/**
 * What every Listener kind (plain UDP, WireGuard) has in common around its socket: the record
 * and bind address, binding and closing, the bound address and port, the sink, the guard that
 * keeps a throwing sink from stopping the socket, the egress guard, and the failure log that
 * receives the failures of sends without a callback.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ListenerRecord } from '../../lib/private/records';
import type { Failure, FailureReporter, InboundDatagram, IngressSink, ListenerHandle, MetricsRecorder, SendCallback } from '../contracts';
import { DEFAULT_FAILURE_LOGS_PER_SECOND, FailureLogLimiter } from './failure-log-limiter';
import { bindListenerSocket, closeListenerSocket, DEFAULT_MAX_PAYLOAD_BYTES, SendTracker, SinkErrorLog, socketTarget, unmappedAddress } from './listener-socket';
import { TurnQueue } from './turn-queue';
import { EgressGuard } from '../egress/egress-guard';
import type { EgressPolicy } from '../egress/egress-policy';
import type { FlowTable } from '../egress/flow-table';

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
  /** Receives one record per dropped datagram or failed send without callback (rate-limited in the log). */
  readonly failures?: FailureReporter;
  readonly metrics?: MetricsRecorder;
  readonly flows?: FlowTable;
  /** Refuse sends to clients without a live flow (AWS, behind the load balancer). @default false */
  readonly requireActiveFlow?: boolean;
  /** @default 50 */
  readonly failureLogsPerSecond?: number;
  /** Payload limit of records without MaxPayloadBytes. @default DEFAULT_MAX_PAYLOAD_BYTES */
  readonly defaultMaxPayloadBytes?: number;
  /** Share the port with the other data-plane workers' sockets (SO_REUSEPORT). @default false */
  readonly reusePort?: boolean;
  /** Receive buffer of the socket, in bytes. @default - listener-socket.ts `receiveBufferBytes()` */
  readonly receiveBufferBytes?: number;
}

/** Base of the Listener kinds: socket lifecycle and state; the kinds add receive and send. */
export abstract class SocketListener {
  public readonly name: string;
  protected record: ListenerRecord;
  protected sink: IngressSink;
  /** Payload limit, address family, egress policy and flow ownership of every send. */
  protected readonly egressGuard: EgressGuard;
  /** Failures no callback receives: refused or failed sends without one, the Listener's own drops. */
  protected readonly failureLog: FailureLogLimiter;
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
  /** Datagrams read in this event-loop turn, taken in together at its end (turn-queue.ts). */
  private readonly received = new TurnQueue<InboundDatagram>((read) => this.takeIn(read));
  /**
   * Receives every datagram once the socket is bound: records it with the time it was read; the
   * kind's ingress path ({@link takeIn}) runs once per event-loop turn over all it read.
   */
  protected readonly onMessage: (msg: Buffer, rinfo: RemoteInfo) => void;

  /** Throws when the bind address is not an IP address. */
  protected constructor(private readonly base: SocketListenerOptions) {
    this.record = base.record;
    this.name = base.record.Name;
    this.sink = base.sink;
    this.bindAddress = base.record.BindAddress ?? base.defaultBindAddress;
    const version = isIP(this.bindAddress);
    if (version === 0) throw new Error(`Listener ${this.name}: BindAddress ${JSON.stringify(this.bindAddress)} is not an IP address`);
    this.ipv6 = version === 6;
    this.sinkErrors = new SinkErrorLog(this.name, base.logger);
    this.egressGuard = new EgressGuard({
      listener: this.name,
      bindAddress: this.bindAddress,
      ipv6: this.ipv6,
      egress: base.egress,
      maxPayloadBytes: base.record.MaxPayloadBytes ?? base.defaultMaxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      flows: base.flows,
      requireActiveFlow: base.requireActiveFlow,
    });
    this.failureLog = new FailureLogLimiter(this.name, base, base.failureLogsPerSecond ?? DEFAULT_FAILURE_LOGS_PER_SECOND);
    this.onMessage = (msg, rinfo) => {
      if (!this.receiving) return;
      const remoteAddress = this.ipv6 ? unmappedAddress(rinfo.address) : rinfo.address;
      this.received.add({ data: msg, remoteAddress, remotePort: rinfo.port, receivedAt: Date.now() });
    };
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
    // what was read before goes where it would have gone at once
    this.takeInWaiting();
    this.sink = sink;
  }

  public stopReceiving(): void {
    this.takeInWaiting();
    this.receiving = false;
  }

  /** Takes in one datagram read from the socket (address unmapped, `receivedAt` the time it was read). */
  protected abstract takeIn(read: InboundDatagram): void;

  /** Takes in now what was read and waits for the end of the turn (before the Listener stops or changes). */
  protected takeInWaiting(): void {
    this.received.flush();
  }

  /** Binds the socket and starts receiving; on failure marks the Listener closed, runs `onFailure`, rejects. */
  protected bindSocket(onFailure?: () => void): Promise<void> {
    return bindListenerSocket({
      name: this.name,
      bindAddress: this.bindAddress,
      port: this.record.Port,
      ipv6: this.ipv6,
      logger: this.base.logger,
      reusePort: this.base.reusePort,
      receiveBufferBytes: this.base.receiveBufferBytes,
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

  /**
   * Stops receiving, waits for sends in progress, runs `beforeClose`, closes the socket and logs
   * the summary of suppressed failure records. Idempotent.
   */
  protected closeSocket(beforeClose?: () => void): Promise<void> {
    if (this.closing) return this.closing;
    this.takeInWaiting();
    this.receiving = false;
    this.closing = this.sends.whenIdle().then(() => {
      this.closed = true;
      beforeClose?.();
      this.failureLog.flush();
      return closeListenerSocket(this.socket, this.onMessage);
    });
    return this.closing;
  }

  /** Takes a new record in place: egress policy (when rebuildable), payload limit, the record itself. */
  protected applyRecord(record: ListenerRecord): void {
    const egress = this.base.egressFor ? this.base.egressFor(record) : this.base.egress;
    this.egressGuard.update(egress, record.MaxPayloadBytes ?? this.base.defaultMaxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    this.record = record;
  }

  /** `SendFailed` when the socket does not send (not bound yet, closing or closed). */
  protected notSending(): Failure | undefined {
    if (this.closed || this.closing || !this.socket || this.boundPort === 0) {
      return { code: 'SendFailed', reason: `Listener ${this.name} is not running` };
    }
    return undefined;
  }

  /**
   * A send that failed: to `done`, or, without one, to the failure log with the destination it
   * was meant for.
   */
  protected sendFailed(
    failure: Failure,
    done: SendCallback | undefined,
    address: string | undefined,
    port: number | undefined,
    peerKey?: string,
  ): void {
    if (done) done(failure);
    else this.failureLog.report(failure, address, port, peerKey);
  }

  /**
   * Sends `data` from the Listener socket to `address:port` (canonical; IPv4 targets of an IPv6
   * socket are mapped), tracked so that closing waits for it. `done` is called once: `undefined`
   * when sent, `SendFailed` when the socket is not running or the send fails. Without `done`, a
   * failure goes to the failure log.
   */
  protected sendOnSocket(data: Buffer, port: number, address: string, done: SendCallback | undefined): void {
    const socket = this.socket;
    if (!socket || this.closed) {
      this.sendFailed({ code: 'SendFailed', reason: `Listener ${this.name} is not running` }, done, address, port);
      return;
    }
    this.sends.started();
    try {
      socket.send(data, port, socketTarget(this.ipv6, address), (err) => {
        this.sends.settled();
        if (err) this.sendFailed({ code: 'SendFailed', reason: `send to ${address}:${port} failed: ${err.message}` }, done, address, port);
        else done?.(undefined);
      });
    } catch (err) {
      this.sends.settled();
      this.sendFailed({ code: 'SendFailed', reason: `send to ${address}:${port} failed: ${(err as Error).message}` }, done, address, port);
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
