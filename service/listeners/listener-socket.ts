/**
 * The socket side shared by every Listener kind (plain UDP and WireGuard): creating and binding
 * the dgram socket with clear bind errors, tracking sends in progress so a Listener closes only
 * after they settle, closing, and the sink-error guard of the receive path.
 */
import { createSocket, RemoteInfo, Socket, SocketOptions } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import { inIntegerRange, MAX_UDP_PAYLOAD_BYTES, RECEIVE_BUFFER_BYTES } from '../../lib/private/limits';
import { ServiceEnvironment } from '../../lib/private/service-environment';

/** Largest UDP payload over IPv4. */
export const DEFAULT_MAX_PAYLOAD_BYTES = MAX_UDP_PAYLOAD_BYTES;
/** Socket buffer sizes asked for at least (the kernel caps them at net.core.rmem_max / wmem_max). */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Largest receive buffer asked for by default, however high the kernel's cap (memory a full buffer holds). */
export const MAX_DEFAULT_RECEIVE_BUFFER_BYTES = 64 * 1024 * 1024;

/** The kernel's cap on socket receive buffers, read once; undefined where it cannot be read. */
let kernelReceiveBufferMax: number | undefined | null = null;

/** Reads `/proc/sys/net/core/rmem_max`. */
const readRmemMax = (): string => readFileSync('/proc/sys/net/core/rmem_max', 'utf8');

/** The kernel's cap on socket receive buffers (`net.core.rmem_max`), read once; undefined where it cannot be read. */
export function kernelReceiveBufferCap(readMax: () => string = readRmemMax): number | undefined {
  if (kernelReceiveBufferMax === null) {
    try {
      const max = Number(readMax().trim());
      kernelReceiveBufferMax = Number.isSafeInteger(max) && max > 0 ? max : undefined;
    } catch {
      kernelReceiveBufferMax = undefined;
    }
  }
  return kernelReceiveBufferMax;
}

/**
 * Receive buffer size to ask for: `configured` (`PACKET_GATEWAY_RECEIVE_BUFFER_BYTES`) when set;
 * otherwise the kernel's cap (`/proc/sys/net/core/rmem_max`) when it is larger than
 * {@link SOCKET_BUFFER_BYTES}, at most {@link MAX_DEFAULT_RECEIVE_BUFFER_BYTES}, so a burst or an
 * event-loop pause waits in the buffer rather than being dropped (drops are counted as
 * `ReceiveBufferDrops`). The kernel grants at most `net.core.rmem_max` whatever is asked.
 */
export function receiveBufferBytes(readMax: () => string = readRmemMax, configured?: number): number {
  if (configured !== undefined) return configured;
  return Math.max(SOCKET_BUFFER_BYTES, Math.min(kernelReceiveBufferCap(readMax) ?? 0, MAX_DEFAULT_RECEIVE_BUFFER_BYTES));
}

/**
 * The receive buffer size set by `PACKET_GATEWAY_RECEIVE_BUFFER_BYTES`, or undefined when unset.
 * Throws when it is not an integer number of bytes within {@link RECEIVE_BUFFER_BYTES}.
 */
export function configuredReceiveBufferBytes(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[ServiceEnvironment.ReceiveBufferBytes];
  if (text === undefined || text.trim() === '') return undefined;
  return validReceiveBufferBytes(Number(text.trim()), text);
}

/**
 * `value` when it is an integer number of bytes within {@link RECEIVE_BUFFER_BYTES}; otherwise
 * throws, naming `PACKET_GATEWAY_RECEIVE_BUFFER_BYTES`, the value (as `text`, when it was read
 * from there) and what is allowed.
 */
export function validReceiveBufferBytes(value: number, text: string = String(value)): number {
  if (!inIntegerRange(value, RECEIVE_BUFFER_BYTES)) {
    throw new Error(`${ServiceEnvironment.ReceiveBufferBytes}=${JSON.stringify(text)} is not valid (allowed: ${RECEIVE_BUFFER_BYTES.allowed} bytes)`);
  }
  return value;
}

/**
 * Receive buffer the kernel granted, in the bytes asked for: Linux reports twice the size it
 * grants (the other half is its bookkeeping), so half of `SO_RCVBUF` as read back.
 */
export function grantedReceiveBufferBytes(socket: Pick<Socket, 'getRecvBufferSize'>): number | undefined {
  try {
    return Math.floor(socket.getRecvBufferSize() / 2);
  } catch {
    return undefined;
  }
}

/** Sink errors logged per Listener; later ones are only counted. */
const SINK_ERRORS_LOGGED = 10;

/** What {@link bindListenerSocket} needs. */
export interface ListenerSocketOptions {
  /** Listener name, for messages. */
  readonly name: string;
  readonly bindAddress: string;
  readonly port: number;
  readonly ipv6: boolean;
  /** Socket errors go to `error`; a receive buffer smaller than asked for (capped by the kernel) to `warn`, once per process. */
  readonly logger: Pick<Logger, 'error'> & Partial<Pick<Logger, 'warn'>>;
  /**
   * Receive buffer to ask for, in bytes: the service reads `PACKET_GATEWAY_RECEIVE_BUFFER_BYTES`
   * once at start and passes it down. @default - {@link receiveBufferBytes}: the kernel's cap, 4–64 MiB
   */
  readonly receiveBufferBytes?: number;
  /** Called with the socket once it is created, before binding (so `close` can reach it). */
  readonly created?: (socket: Socket) => void;
  /**
   * Share the port with the other data-plane workers' sockets (SO_REUSEPORT; the kernel hashes
   * each client to one socket). Needs dgram's `reusePort` (Node.js 22.12 or later). @default false
   */
  readonly reusePort?: boolean;
}

/** A bound socket and the address it got. */
export interface BoundSocket {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
  /** Receive buffer asked for, in bytes. */
  readonly receiveBufferBytes: number;
  /** Receive buffer the kernel granted (at most `net.core.rmem_max`); undefined where it cannot be read. */
  readonly grantedReceiveBufferBytes?: number;
}

/** Log message (WARN) when the kernel granted a smaller receive buffer than asked for, once per process. */
export const RECEIVE_BUFFER_CAPPED_LOG_MESSAGE = 'listener receive buffer capped by the kernel';

/** Set once a capped receive buffer was logged: one line per process, not one per Listener. */
let cappedBufferLogged = false;

/**
 * Creates the Listener's socket and binds it exclusively (shared only with the other workers' sockets, with `reusePort`). Rejects with a message naming the
 * Listener, the address and what went wrong (port in use, address not local, privileges); the
 * socket is closed then. Once bound, socket errors are logged and never crash the process.
 */
export function bindListenerSocket(options: ListenerSocketOptions): Promise<BoundSocket> {
  const recvBufferSize = options.receiveBufferBytes ?? receiveBufferBytes();
  const socket = createSocket({
    type: options.ipv6 ? 'udp6' : 'udp4',
    recvBufferSize,
    sendBufferSize: SOCKET_BUFFER_BYTES,
    // a dgram option since Node.js 22.12, not yet in the Node.js 20 typings
    ...(options.reusePort ? { reusePort: true } : {}),
  } as SocketOptions);
  options.created?.(socket);
  return new Promise((resolve, reject) => {
    const onBindError = (err: NodeJS.ErrnoException): void => {
      socket.close();
      reject(new Error(`Listener ${options.name}: cannot bind udp ${options.bindAddress}:${options.port}: ${describeBindError(err)}`));
    };
    socket.once('error', onBindError);
    socket.bind({ address: options.bindAddress, port: options.port, exclusive: true }, () => {
      socket.off('error', onBindError);
      socket.on('error', (err) => options.logger.error('listener socket error', { listener: options.name, error: err.message }));
      const bound = socket.address();
      const granted = grantedReceiveBufferBytes(socket);
      if (granted !== undefined && granted < recvBufferSize && !cappedBufferLogged && options.logger.warn) {
        cappedBufferLogged = true;
        options.logger.warn(RECEIVE_BUFFER_CAPPED_LOG_MESSAGE, {
          listener: options.name,
          receiveBufferBytes: recvBufferSize,
          grantedReceiveBufferBytes: granted,
          reason: 'net.core.rmem_max is lower than the buffer asked for: bursts and event-loop pauses longer than the buffer holds are dropped (ReceiveBufferDrops)',
        });
      }
      resolve({ socket, address: bound.address, port: bound.port, receiveBufferBytes: recvBufferSize, grantedReceiveBufferBytes: granted });
    });
  });
}

/** Stops delivering messages to `onMessage` and closes the socket; resolves once it is closed. */
export function closeListenerSocket(socket: Socket | undefined, onMessage: (msg: Buffer, rinfo: RemoteInfo) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!socket) return resolve();
    socket.off('message', onMessage);
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** Counts sends handed to the socket and not yet settled, so closing can wait for them. */
export class SendTracker {
  private pending = 0;
  private idleWaiters: Array<() => void> = [];

  /** Sends in progress. */
  public get inProgress(): number {
    return this.pending;
  }

  /** A send was handed to the socket. */
  public started(): void {
    this.pending++;
  }

  /** A send completed (or failed). */
  public settled(): void {
    this.pending--;
    if (this.pending === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves once no send is in progress. */
  public whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

/**
 * Logs the first few errors a Listener's sink throws (a defect in the pipeline must not stop the
 * socket, nor flood the log).
 */
export class SinkErrorLog {
  private count = 0;

  public constructor(private readonly name: string, private readonly logger: Pick<Logger, 'error'>) {}

  /** Records one error thrown by the sink. */
  public report(err: unknown): void {
    if (this.count++ < SINK_ERRORS_LOGGED) {
      this.logger.error('ingress pipeline error', { listener: this.name, error: (err as Error)?.message ?? String(err) });
    }
  }
}

/** `::ffff:a.b.c.d` as `a.b.c.d`; any other address unchanged. */
export function unmappedAddress(address: string): string {
  return address.startsWith('::ffff:') && address.indexOf('.', 7) > 0 ? address.slice(7) : address;
}

/** The address to hand to a socket of the given family: IPv4 targets of an IPv6 socket are mapped. */
export function socketTarget(ipv6: boolean, address: string): string {
  return ipv6 && isIP(address) === 4 ? `::ffff:${address}` : address;
}

/** Bind errors in words. */
export function describeBindError(err: NodeJS.ErrnoException): string {
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
