/**
 * Test doubles for packet sourcing: a capturing FailureReporter, MetricsRecorder and
 * DeadLetterSink, a Listener registry whose Listeners send real datagrams on loopback, and
 * loopback UDP receivers.
 */
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import type { PacketSourceRecord } from '../../../lib/private/records';
import type {
  BindingLookup,
  DeadLetterSink,
  EgressDatagram,
  Failure,
  FailureContext,
  FailureReporter,
  ListenerHandle,
  ListenerRegistry,
  MetricsRecorder,
  SendCallback,
} from '../../../service/contracts';

export class CapturingFailures implements FailureReporter {
  readonly records: Array<Failure & FailureContext> = [];
  report(failure: Failure, context: FailureContext): void {
    this.records.push({ ...context, ...failure });
  }
  codes(): string[] {
    return this.records.map((r) => r.code);
  }
}

/** A FailureReporter keeping each report with its context (failure-record sinks report lost records). */
export function captureReports(): { failures: Array<{ failure: Failure; context: FailureContext }>; report(f: Failure, c: FailureContext): void } {
  const failures: Array<{ failure: Failure; context: FailureContext }> = [];
  return { failures, report: (failure, context) => failures.push({ failure, context }) };
}

/** The failure record of entry `i` of a sourced message, as the processor writes it for a dead-letter queue or delivery log. */
export function failureRecord(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    code: 'InvalidPort',
    reason: 'Remote.Port: 0 is not a port (allowed: integer 1–65535)',
    topicArn: 'arn:aws:sns:us-east-1:111122223333:push',
    messageId: `m-${i}`,
    index: i,
    listener: 'demo',
    remote: '203.0.113.9:0',
    failedAt: '2026-01-01T00:00:00.000Z',
    entry: { Data: 'aGk=', Remote: { Address: '203.0.113.9', Port: 0 } },
    ...extra,
  };
}

export class CapturingMetrics implements MetricsRecorder {
  readonly counters = new Map<string, number>();
  increment(metric: string, value = 1): void {
    this.counters.set(metric, (this.counters.get(metric) ?? 0) + value);
  }
  observe(): void {}
  get(metric: string): number {
    return this.counters.get(metric) ?? 0;
  }
}

export class CapturingDeadLetters implements DeadLetterSink {
  readonly records: Array<{ queueArn: string; record: Record<string, unknown> }> = [];
  /** Who each record is sent as, in the order of `records`. */
  readonly senders: Array<{ readonly roleArn?: string; readonly externalId?: string } | undefined> = [];
  enqueue(queueArn: string, record: Record<string, unknown>, sender?: { readonly roleArn?: string; readonly externalId?: string }): Promise<boolean> {
    this.records.push({ queueArn, record });
    this.senders.push(sender);
    return Promise.resolve(true);
  }
  async flush(): Promise<void> {}
}

export class StaticBindings implements BindingLookup {
  constructor(readonly sources: PacketSourceRecord[]) {}
  getPacketSource(topicArn: string): PacketSourceRecord | undefined {
    return this.sources.find((s) => s.TopicArn === topicArn);
  }
  listPacketSources(): readonly PacketSourceRecord[] {
    return this.sources;
  }
}

/**
 * A plain Listener on loopback: one IPv4 and one IPv6 socket, real sends. Addresses in
 * `denied` fail with DestinationDenied, like the egress policy would.
 */
export class LoopbackListener implements ListenerHandle {
  readonly protocol = 'udp' as const;
  readonly denied = new Set<string>();
  readonly sent: EgressDatagram[] = [];
  private v4!: Socket;
  private v6!: Socket;
  address = '127.0.0.1';
  port = 0;

  constructor(readonly name: string) {}

  async start(): Promise<void> {
    this.v4 = await bound('udp4', '127.0.0.1');
    this.v6 = await bound('udp6', '::1');
    this.port = this.v4.address().port;
  }

  /** Port the IPv6 socket is bound to. */
  get port6(): number {
    return this.v6.address().port;
  }

  send(d: EgressDatagram, done?: SendCallback): void {
    if (this.denied.has(d.address)) {
      done?.({ code: 'DestinationDenied', reason: `${d.address} is denied` });
      return;
    }
    this.sent.push(d);
    const socket = d.address.includes(':') ? this.v6 : this.v4;
    socket.send(d.data, d.port, d.address, (err) => done?.(err ? { code: 'SendFailed', reason: err.message } : undefined));
  }

  async close(): Promise<void> {
    await Promise.all([this.v4, this.v6].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

export class Registry implements ListenerRegistry {
  private readonly handles = new Map<string, ListenerHandle>();
  add(handle: ListenerHandle): this {
    this.handles.set(handle.name, handle);
    return this;
  }
  get(name: string): ListenerHandle | undefined {
    return this.handles.get(name);
  }
  list(): readonly ListenerHandle[] {
    return [...this.handles.values()];
  }
}

export interface Received {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

/** A loopback UDP socket that records what arrives and lets a test wait for N datagrams. */
export class Receiver {
  static async open(host = '127.0.0.1'): Promise<Receiver> {
    return new Receiver(await bound(host.includes(':') ? 'udp6' : 'udp4', host));
  }

  readonly received: Received[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (data, from) => {
      this.received.push({ data, from });
      this.waiters = this.waiters.filter((w) => {
        if (this.received.length >= w.n) w.resolve();
        return this.received.length < w.n;
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Resolves once `n` datagrams have arrived in total; rejects after `ms` (a hang guard, not a timing assertion). */
  waitFor(n: number, ms = 5000): Promise<Received[]> {
    if (this.received.length >= n) return Promise.resolve(this.received);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${n} datagrams on port ${this.port}, got ${this.received.length}`)), ms);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.received);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

function bound(type: 'udp4' | 'udp6', host: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(type);
    s.once('error', reject);
    s.bind(0, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}
