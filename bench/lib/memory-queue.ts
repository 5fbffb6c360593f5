/**
 * An in-memory stand-in for the SQS delivery queue, answering the two calls the gateway's
 * DeliveryQueueConsumer makes (ReceiveMessage, DeleteMessageBatch) without a network. It hands
 * out SNS-envelope bodies from a small pool (so memory stays flat however long a trial runs),
 * each message with its own MessageId and ReceiptHandle, either as fast as they are asked for
 * or on a paced schedule, and stops at a count or a deadline. A receive with nothing due waits,
 * as an SQS long poll does, until a message is due for it (waiting receives are served oldest
 * first, each due message to one of them) or the run is over: pollers are not woken empty-handed
 * every millisecond, which SQS would not do either.
 */
import { performance } from 'node:perf_hooks';
import { DeleteMessageBatchCommand, Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { num, str } from './agent-runtime';
import type { SourcedEntry, SourcedInner, SourcedMessage, SourcedRemote } from '../../lib/handler';

/** The signing certificate URL of every envelope: the shape SNS uses in the benchmark topic's region. */
export const BENCH_SIGNING_CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';

/** One SNS notification as SNS writes it into an SQS message body (raw message delivery off). */
export function snsEnvelope(
  topicArn: string,
  message: string,
  sequence: number,
  attributes?: Record<string, { Type: string; Value: string }>,
): string {
  const id = `00000000-0000-4000-8000-${sequence.toString(16).padStart(12, '0')}`;
  return JSON.stringify({
    Type: 'Notification',
    MessageId: id,
    TopicArn: topicArn,
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    // shaped like a real signature, but not one: the bench consumer accepts unsigned notifications
    Signature: Buffer.alloc(256, sequence % 251).toString('base64'),
    SigningCertURL: BENCH_SIGNING_CERT_URL,
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:${id}`,
    ...(attributes ? { MessageAttributes: attributes } : {}),
  });
}

/** What {@link sourcedBodies} builds: `packets` entries per message, Data of `size` bytes, to one remote (or to `ports` in turn). */
export interface SourcedBodiesOptions {
  readonly topicArn: string;
  readonly size: number;
  readonly packets: number;
  readonly address: string;
  readonly port: number;
  /** Remote ports the entries go to in turn, instead of `port` alone (clients spread over data-plane workers). */
  readonly ports?: readonly number[];
  /** `Remote.PeerKey` (WireGuard Listeners). */
  readonly peerKey?: string;
  /** `Inner` of every entry (WireGuard Listeners). */
  readonly inner?: SourcedInner;
  /** Distinct bodies. @default 16 */
  readonly pool?: number;
}

/**
 * A pool of SNS-envelope message bodies carrying `{"Messages":[…]}` sourced packets, as the
 * delivery queue holds them. Each body's payloads differ (so no two bodies are equal).
 */
export function sourcedBodies(o: SourcedBodiesOptions): string[] {
  const ports = o.ports !== undefined && o.ports.length > 0 ? o.ports : [o.port];
  const remotes: SourcedRemote[] = ports.map((port) => (o.peerKey === undefined
    ? { Address: o.address, Port: port }
    : { Address: o.address, Port: port, PeerKey: o.peerKey }));
  const bodies: string[] = [];
  for (let b = 0; b < (o.pool ?? 16); b++) {
    const messages: SourcedEntry[] = [];
    for (let i = 0; i < o.packets; i++) {
      const remote = remotes[(b * o.packets + i) % remotes.length];
      const data = Buffer.alloc(o.size, (b * 31 + i) % 256).toString('base64');
      messages.push(o.inner ? { Data: data, Remote: remote, Inner: o.inner } : { Data: data, Remote: remote });
    }
    const body: SourcedMessage = { Messages: messages };
    bodies.push(snsEnvelope(o.topicArn, JSON.stringify(body), b));
  }
  return bodies;
}

/** {@link SourcedBodiesOptions} from an agent's `load` arguments (`size`, `packets`, `address`, `port`, `ports`, `peerKey`, `inner`). */
export function sourcedBodiesFromArgs(topicArn: string, args: Record<string, unknown>): SourcedBodiesOptions {
  return {
    topicArn,
    size: num(args, 'size'),
    packets: num(args, 'packets'),
    address: str(args, 'address'),
    port: num(args, 'port'),
    ...(Array.isArray(args.ports) ? { ports: (args.ports as unknown[]).map(Number) } : {}),
    peerKey: typeof args.peerKey === 'string' ? args.peerKey : undefined,
    inner: args.inner as SourcedInner | undefined,
  };
}

/** A receive waiting for messages (long poll). */
interface Waiter {
  readonly max: number;
  readonly resolve: (answer: { Messages: Message[] }) => void;
  readonly abort?: AbortSignal;
  readonly onAbort: () => void;
}

/** Limits of one run of the queue. */
export interface QueueRun {
  /** Messages per second; 0 hands them out as fast as they are received. */
  readonly rate: number;
  /** Most messages to hand out. */
  readonly maxMessages: number;
  /** No message is handed out after this many ms. */
  readonly durationMs: number;
}

/** The in-memory queue. Pass it where the consumer expects an `SQSClient`. */
export class MemoryDeliveryQueue {
  private bodies: readonly string[] = [];
  private run?: QueueRun;
  private startedAt = 0;
  private handedOut = 0;
  private deletedCount = 0;
  private deleteCalls = 0;
  private receiveCalls = 0;
  private emptyReceives = 0;
  private lastHandOutAt = 0;
  /** Receives waiting for messages, oldest first. */
  private readonly waiting: Waiter[] = [];
  private pumpTimer: NodeJS.Timeout | undefined;

  /** Messages handed out in the current run. */
  get messagesHandedOut(): number {
    return this.handedOut;
  }

  /** Messages deleted (handled by the gateway) in the current run. */
  get messagesDeleted(): number {
    return this.deletedCount;
  }

  /** Request counts, as SQS would bill them. */
  get requests(): { receive: number; emptyReceive: number; deleteBatch: number } {
    return { receive: this.receiveCalls, emptyReceive: this.emptyReceives, deleteBatch: this.deleteCalls };
  }

  /** Time of the last hand-out, relative to the run's start, ms. */
  get handOutSpanMs(): number {
    return this.lastHandOutAt - this.startedAt;
  }

  /** Sets the bodies to cycle through. */
  load(bodies: readonly string[]): void {
    if (bodies.length === 0) throw new Error('the queue needs at least one message body');
    this.bodies = bodies;
  }

  /** Starts handing out messages under `run`'s limits; counters restart from zero. */
  begin(run: QueueRun): void {
    this.run = run;
    this.startedAt = performance.now();
    this.lastHandOutAt = this.startedAt;
    this.handedOut = 0;
    this.deletedCount = 0;
    this.deleteCalls = 0;
    this.receiveCalls = 0;
    this.emptyReceives = 0;
  }

  /** True once the run's limits are reached. */
  get exhausted(): boolean {
    const run = this.run;
    return !run || this.handedOut >= run.maxMessages || performance.now() - this.startedAt >= run.durationMs;
  }

  /** The SQSClient.send subset the DeliveryQueueConsumer uses. */
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
    if (command instanceof ReceiveMessageCommand) return this.receive(command.input.MaxNumberOfMessages ?? 1, options?.abortSignal);
    if (command instanceof DeleteMessageBatchCommand) {
      this.deleteCalls++;
      this.deletedCount += command.input.Entries?.length ?? 0;
      return Promise.resolve({ Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] });
    }
    return Promise.reject(new Error(`the in-memory queue does not implement ${(command as object)?.constructor?.name}`));
  }

  /** Nothing to release (the SDK client interface has it). */
  destroy(): void {
    // no resources
  }

  private receive(max: number, abort?: AbortSignal): Promise<unknown> {
    this.receiveCalls++;
    const take = this.waiting.length === 0 ? this.available(max) : 0;
    if (take > 0) {
      // taken now, from the run the receive was made in; answered on the next event-loop turn, as
      // a network response would be: the gateway's pollers must not monopolise the loop just
      // because this queue needs no network
      const messages = this.take(take);
      return new Promise((resolve) => setImmediate(() => resolve({ Messages: messages })));
    }
    // long poll, as SQS does it: the receive waits, in the order received, until messages are due
    // (each due message goes to one waiting receive: the others keep waiting, as they would on
    // SQS), or answers empty once the run is over, or on abort
    if (abort?.aborted) {
      this.emptyReceives++;
      return Promise.resolve({ Messages: [] });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        max,
        resolve,
        abort,
        onAbort: () => this.answer(waiter, []),
      };
      abort?.addEventListener('abort', waiter.onAbort);
      this.waiting.push(waiter);
      this.armPump();
    });
  }

  /** One timer for every waiting receive: each millisecond, or 50 ms once the run is over. */
  private armPump(): void {
    if (this.pumpTimer || this.waiting.length === 0) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, this.exhausted ? 50 : 1);
  }

  /** Hands the messages due to the waiting receives in order; once the run is over, answers every one empty. */
  private pump(): void {
    const over = this.exhausted;
    while (this.waiting.length > 0) {
      const waiter = this.waiting[0];
      const n = over ? 0 : this.available(waiter.max);
      if (n === 0 && !over) break;
      this.answer(waiter, n > 0 ? this.take(n) : []);
    }
    this.armPump();
  }

  private answer(waiter: Waiter, messages: Message[]): void {
    const at = this.waiting.indexOf(waiter);
    if (at < 0) return;
    this.waiting.splice(at, 1);
    waiter.abort?.removeEventListener('abort', waiter.onAbort);
    if (messages.length === 0) this.emptyReceives++;
    waiter.resolve({ Messages: messages });
  }

  private available(max: number): number {
    const run = this.run;
    if (!run || this.exhausted) return 0;
    let allowed = run.maxMessages - this.handedOut;
    if (run.rate > 0) allowed = Math.min(allowed, Math.floor(((performance.now() - this.startedAt) * run.rate) / 1000) - this.handedOut);
    return Math.max(0, Math.min(max, allowed));
  }

  private take(n: number): Message[] {
    const out: Message[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const seq = this.handedOut++;
      out[i] = { MessageId: `m-${seq}`, ReceiptHandle: `r-${seq}`, Body: this.bodies[seq % this.bodies.length] };
    }
    this.lastHandOutAt = performance.now();
    return out;
  }
}
