/** Shared test helpers for the data plane: capturing reporters, a silent logger, loopback UDP clients. */
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { GatewayConfigDocument } from '../../lib/private/records';
import type { ConfigSource } from '../../service/config/config-source';
import type { Failure, FailureCode, FailureContext, FailureReporter, MetricsRecorder } from '../../service/contracts';
import { createLogger } from '../../service/observability/logger';

export const silentLogger = createLogger({ level: 'SILENT' });

/** Records every failure. */
export class CapturingFailureReporter implements FailureReporter {
  public readonly records: Array<{ failure: Failure; context: FailureContext }> = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  public report(failure: Failure, context: FailureContext): void {
    this.records.push({ failure, context });
    this.waiters = this.waiters.filter((w) => {
      if (this.records.length >= w.count) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  public codes(): FailureCode[] {
    return this.records.map((r) => r.failure.code);
  }

  /** Resolves once `count` failures in total have been reported. */
  public waitFor(count: number, timeoutMs = 5000): Promise<void> {
    if (this.records.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${count} failures, got ${this.records.length}: ${this.codes().join(', ')}`)), timeoutMs);
      this.waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }
}

/** Sums counters and keeps observations. */
export class CapturingMetrics implements MetricsRecorder {
  public readonly counters = new Map<string, number>();
  public readonly observations = new Map<string, number[]>();

  public increment(metric: string, value = 1): void {
    this.counters.set(metric, (this.counters.get(metric) ?? 0) + value);
  }

  public observe(metric: string, value: number): void {
    const list = this.observations.get(metric) ?? [];
    list.push(value);
    this.observations.set(metric, list);
  }

  public count(metric: string): number {
    return this.counters.get(metric) ?? 0;
  }
}

/** A loopback UDP client that collects what it receives. */
export class UdpClient {
  public static async open(address = '127.0.0.1'): Promise<UdpClient> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
    return new UdpClient(socket);
  }

  public readonly received: Array<{ data: Buffer; from: RemoteInfo }> = [];
  private readonly socket: Socket;
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, from) => {
      this.received.push({ data, from });
      this.waiters = this.waiters.filter((w) => {
        if (this.received.length >= w.count) {
          w.resolve();
          return false;
        }
        return true;
      });
    });
  }

  public get port(): number {
    return this.socket.address().port;
  }

  public send(data: string | Buffer, port: number, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, address, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves once `count` datagrams in total have arrived. */
  public waitFor(count: number, timeoutMs = 5000): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${count} datagrams, got ${this.received.length}`)), timeoutMs);
      this.waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  public close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Resolves when `predicate` holds, polling every `intervalMs` (longer where the predicate runs a command). */
export async function eventually(predicate: () => boolean, timeoutMs = 5000, what = 'condition', intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A stand-in for the Powertools Logger that keeps each record (level, message, attributes). */
export interface LogRecord {
  readonly level: string;
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

export function capturingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: string) => (message: string, ...extra: unknown[]): void => {
    records.push({ level, message, attributes: Object.assign({}, ...extra.filter((e) => typeof e === 'object' && e !== null)) });
  };
  const logger = { debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR'), critical: at('CRITICAL') } as unknown as Logger;
  return { logger, records };
}

/** A configuration source held in memory; `set` publishes a new configuration. */
export class MemoryConfigSource implements ConfigSource {
  public readonly description = 'memory';
  private readonly listeners = new Set<(c: GatewayConfigDocument) => void>();

  public constructor(private config: GatewayConfigDocument) {}

  public async start(): Promise<GatewayConfigDocument> {
    return this.config;
  }

  public current(): GatewayConfigDocument {
    return this.config;
  }

  public onChange(listener: (c: GatewayConfigDocument) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  public set(config: GatewayConfigDocument): void {
    this.config = config;
    for (const l of this.listeners) l(config);
  }

  public async stop(): Promise<void> {
    this.listeners.clear();
  }
}

const handedOut = new Set<number>();

/** A UDP port that was free a moment ago on 127.0.0.1, never the same one twice in a test file. */
export async function freePort(): Promise<number> {
  for (;;) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
