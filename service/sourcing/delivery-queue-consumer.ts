/**
 * Long-polls the regional delivery queue that PacketSource topics are subscribed to, and hands
 * each SNS notification to the {@link SourcedPacketProcessor}. Acts only on messages whose SNS
 * signature proves they were published to the topic they name (sns-message-verifier.ts); anything
 * else is reported (InvalidMessage) and deleted. Confirms subscriptions only for bindings waiting
 * for confirmation, keeps confirmations of topics not bound yet for redelivery, deletes handled
 * messages in batches, and survives SQS errors by backing off and retrying.
 *
 * Messages are handled one by one with bounded concurrency (not batch by batch): a poller receives
 * again as soon as there is room, so one slow message never holds the others. A message is deleted
 * only once every entry was sent or its dead-letter record accepted; otherwise it stays in the
 * queue and is received again.
 *
 * Messages are received with an explicit visibility timeout (the queue's, see
 * DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS). A notification whose entries are still waiting (a
 * relay to the flow's owner, a worker hand-off, region forwarding, a slow send) past half of it is
 * kept invisible by a {@link VisibilityExtender} until its entries' deadline (the processor's send
 * timeout from the start of its handling), so the queue does not deliver it again meanwhile.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ConfirmSubscriptionCommand, SNSClient } from '@aws-sdk/client-sns';
import { ChangeMessageVisibilityCommand, DeleteMessageBatchCommand, Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { topicRegion } from '../../lib/private/arn';
import { FORWARDED_ENTRIES_ATTRIBUTE, FORWARDED_FROM_ATTRIBUTE } from '../../lib/private/global-forwarding';
import { DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS } from '../../lib/private/limits';
import type { BindingLookup, FailureReporter } from '../contracts';
import { SnsMessageVerifier } from './sns-message-verifier';
import type { SignedSnsEnvelope } from './sns-signature';
import type { SnsNotification, SourcedPacketProcessor } from './sourced-packet-processor';
import { UNSIGNED_SNS_WARNING, unsignedSnsRefusal } from './unsigned-sns';
import { VisibilityExtender } from './visibility-extender';
import { wallClockOfJob } from '../job-clock';

/** The logger methods the consumer uses (a Powertools Logger). */
export type ConsumerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface DeliveryQueueConsumerOptions {
  /** Client for the delivery queue's region. */
  sqs: SQSClient;
  queueUrl: string;
  processor: SourcedPacketProcessor;
  /** Decides which subscription confirmations are honoured (SubscriptionState PendingConfirmation). */
  bindings: BindingLookup;
  /** Receives InvalidJson / InvalidMessage for queue messages that are not signed SNS notifications. */
  failures: FailureReporter;
  /** Verifies SNS signatures. @default - a verifier fetching certificates over HTTPS from the SNS host of each topic's region */
  verifier?: SnsMessageVerifier;
  /**
   * Act on notifications without a valid SNS signature (local SNS/SQS servers do not sign). The
   * constructor throws when the queue is on an AWS endpoint. @default false
   */
  acceptUnsignedSns?: boolean;
  /** While acceptUnsignedSns is on, a WARN every this many milliseconds. @default 60000 */
  unsignedWarningIntervalMs?: number;
  /**
   * A subscription confirmation for a topic with no binding yet (a task that has not reloaded the
   * new PacketSource) is received again after this many seconds. @default 15
   */
  unknownConfirmationRetrySeconds?: number;
  logger: ConsumerLogger;
  /** SNS client for a topic's region (subscription confirmation). @default - a new SNSClient per region */
  sns?: (region: string) => SNSClient;
  /** Long-poll wait, seconds (0–20). @default 20 */
  waitTimeSeconds?: number;
  /** Messages per ReceiveMessage call (1–10). @default 10 */
  maxMessages?: number;
  /** Concurrent pollers. @default 3 */
  concurrency?: number;
  /**
   * Messages handled at the same time at most, over all pollers.
   * @default concurrency × maxMessages (with data-plane workers, the service passes {@link inFlightMessagesFor})
   */
  maxInFlightMessages?: number;
  /** First back-off after a failed ReceiveMessage, doubling up to maxBackoffMs. @default 500 */
  initialBackoffMs?: number;
  /** @default 20000 */
  maxBackoffMs?: number;
  /** Longest time a handled message waits for its DeleteMessageBatch, milliseconds. @default 50 */
  deleteFlushMs?: number;
  /**
   * Visibility timeout messages are received with, seconds (1–43200); notifications still in
   * progress past `visibilityExtendAfter` of it are made invisible for another timeout, until
   * their entries' deadline. @default DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS
   */
  visibilityTimeoutSeconds?: number;
  /** Fraction of the visibility timeout after which a message in progress is extended. @default 0.5 */
  visibilityExtendAfter?: number;
}

/** Pollers of a consumer by default. */
const DEFAULT_CONCURRENCY = 3;
/** Messages per ReceiveMessage by default (SQS's most). */
const DEFAULT_MAX_MESSAGES = 10;

/**
 * The in-flight window of a task with `workers` data-plane workers: the default window
 * (pollers × messages per receive) for each. The main thread consumes the queue for the whole
 * task, and a message stays in flight until every entry is sent, so an entry handed to another
 * worker holds its message until that worker answers. One window for the task fills with
 * messages waiting on the workers while the main thread has nothing left to parse, so the threads
 * take turns instead of working together (bench/OPTIMIZATIONS.md, "sourced egress over workers").
 */
export function inFlightMessagesFor(workers: number): number {
  return DEFAULT_CONCURRENCY * DEFAULT_MAX_MESSAGES * Math.max(1, Math.floor(workers));
}

interface PendingDelete {
  readonly ReceiptHandle: string;
  readonly MessageId?: string;
}

/** Consumes the delivery queue until {@link stop} is called. */
export class DeliveryQueueConsumer {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly processor: SourcedPacketProcessor;
  private readonly bindings: BindingLookup;
  private readonly failures: FailureReporter;
  private readonly logger: ConsumerLogger;
  private readonly snsFor: (region: string) => SNSClient;
  private readonly snsClients = new Map<string, SNSClient>();
  private readonly waitTimeSeconds: number;
  private readonly maxMessages: number;
  private readonly concurrency: number;
  private readonly maxInFlight: number;
  /** Messages being handled now. */
  private inFlight = 0;
  /** Called when the last message in progress is finished (stop() waits with them). */
  private idleWaiters: Array<() => void> = [];
  /** Slots taken by receives in progress (their messages are not in flight yet). */
  private reserved = 0;
  private roomWaiters: Array<() => void> = [];
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly deleteFlushMs: number;
  private readonly verifier: SnsMessageVerifier;
  private readonly acceptUnsignedSns: boolean;
  private readonly unsignedWarningIntervalMs: number;
  private readonly unknownConfirmationRetrySeconds: number;
  private readonly visibilityTimeoutSeconds: number;
  private readonly visibility: VisibilityExtender;

  private unsignedWarning?: NodeJS.Timeout;
  private running = false;
  private pollers: Promise<void>[] = [];
  private abort = new AbortController();
  private stopped: Promise<void> = Promise.resolve();
  private signalStopped?: () => void;
  private deletes: PendingDelete[] = [];
  private deleteTimer?: NodeJS.Timeout;
  private readonly deleting = new Set<Promise<void>>();

  /** Throws when acceptUnsignedSns is set for a queue on an AWS endpoint. */
  constructor(opts: DeliveryQueueConsumerOptions) {
    if (opts.acceptUnsignedSns) {
      const refusal = unsignedSnsRefusal(opts.queueUrl);
      if (refusal) throw new Error(refusal);
    }
    this.sqs = opts.sqs;
    this.queueUrl = opts.queueUrl;
    this.processor = opts.processor;
    this.bindings = opts.bindings;
    this.failures = opts.failures;
    this.logger = opts.logger;
    this.snsFor = opts.sns ?? ((region) => new SNSClient({ region }));
    this.waitTimeSeconds = clamp(opts.waitTimeSeconds ?? 20, 0, 20);
    this.maxMessages = clamp(opts.maxMessages ?? DEFAULT_MAX_MESSAGES, 1, 10);
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? DEFAULT_CONCURRENCY));
    this.maxInFlight = Math.max(1, Math.floor(opts.maxInFlightMessages ?? this.concurrency * this.maxMessages));
    this.initialBackoffMs = opts.initialBackoffMs ?? 500;
    this.maxBackoffMs = opts.maxBackoffMs ?? 20_000;
    this.deleteFlushMs = opts.deleteFlushMs ?? 50;
    this.verifier = opts.verifier ?? new SnsMessageVerifier();
    this.acceptUnsignedSns = opts.acceptUnsignedSns === true;
    this.unsignedWarningIntervalMs = opts.unsignedWarningIntervalMs ?? 60_000;
    this.unknownConfirmationRetrySeconds = clamp(opts.unknownConfirmationRetrySeconds ?? 15, 0, 43_200);
    this.visibilityTimeoutSeconds = opts.visibilityTimeoutSeconds ?? DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS;
    this.visibility = new VisibilityExtender({
      sqs: this.sqs,
      queueUrl: this.queueUrl,
      visibilityTimeoutSeconds: this.visibilityTimeoutSeconds,
      extendAfter: opts.visibilityExtendAfter,
      logger: this.logger,
    });
  }

  /** Starts the pollers. Calling it while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.stopped = new Promise((resolve) => (this.signalStopped = resolve));
    this.pollers = [];
    for (let i = 0; i < this.concurrency; i++) this.pollers.push(this.poll());
    this.logger.info('delivery queue consumer started', { queueUrl: this.queueUrl, pollers: this.concurrency });
    if (this.acceptUnsignedSns) {
      const warn = (): void => this.logger.warn(UNSIGNED_SNS_WARNING, { queueUrl: this.queueUrl });
      warn();
      this.unsignedWarning = setInterval(warn, this.unsignedWarningIntervalMs);
      this.unsignedWarning.unref();
    }
  }

  /** Messages being handled now. */
  get handling(): number {
    return this.inFlight;
  }

  /**
   * Stops polling, waits for messages being handled, and sends the pending deletes. With
   * `deadlineMs`, messages still in progress by then are not waited for: they are not deleted, so
   * the queue delivers them again (to another task) once their visibility timeout ends.
   */
  async stop(deadlineMs?: number): Promise<void> {
    const stopAt = deadlineMs === undefined ? undefined : Date.now() + deadlineMs;
    clearInterval(this.unsignedWarning);
    this.unsignedWarning = undefined;
    if (this.running) {
      this.running = false;
      this.signalStopped?.();
      this.abort.abort();
      this.wakeRoomWaiters();
      await Promise.all(this.pollers);
      this.pollers = [];
    }
    while (this.inFlight > 0) {
      const all = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      if (stopAt === undefined) {
        await all;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, stopAt - Date.now()))));
      const timedOut = await Promise.race([all.then(() => false), late]);
      clearTimeout(timer);
      if (timedOut) {
        this.logger.warn('delivery queue messages still in progress at the stop deadline are left for redelivery', { messages: this.inFlight, deadlineMs });
        break;
      }
    }
    // Messages left in progress are no longer extended: the queue hands them to another task.
    await this.visibility.stop();
    await this.flushDeletes();
  }

  private async poll(): Promise<void> {
    let backoff = 0;
    while (this.running) {
      const room = await this.reserveRoom();
      if (room === 0) break;
      let messages: Message[] | undefined;
      let receivedAt = 0;
      try {
        const receive = this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            WaitTimeSeconds: this.waitTimeSeconds,
            MaxNumberOfMessages: room,
            VisibilityTimeout: this.visibilityTimeoutSeconds,
            MessageAttributeNames: [FORWARDED_ENTRIES_ATTRIBUTE, FORWARDED_FROM_ATTRIBUTE],
          }),
          { abortSignal: this.abort.signal },
        );
        const out = await Promise.race([receive, this.stopped.then(() => undefined)]);
        receivedAt = Date.now();
        if (!out) {
          receive.catch(() => undefined); // aborted by stop()
          this.reserved -= room;
          break;
        }
        messages = out.Messages;
        backoff = 0;
      } catch (err) {
        this.reserved -= room;
        if (!this.running) break;
        backoff = backoff === 0 ? this.initialBackoffMs : Math.min(backoff * 2, this.maxBackoffMs);
        const e = err as Error;
        this.logger.warn('delivery queue receive failed; retrying', { queueUrl: this.queueUrl, error: `${e.name}: ${e.message}`, retryInMs: backoff });
        await this.pause(backoff);
        continue;
      }
      this.reserved -= room;
      for (const m of messages ?? []) this.startHandling(m, receivedAt);
      this.wakeRoomWaiters();
    }
  }

  /**
   * Handles `m`, received at `receivedAt` (epoch ms), alongside the messages already in progress.
   * A notification with nothing to verify (unsigned SNS accepted) is handed to the processor at
   * once and finished from its callback, without a promise of its own; everything else goes
   * through {@link handleMessage}.
   */
  private startHandling(m: Message, receivedAt: number): void {
    this.inFlight++;
    const finished = (): void => this.finishHandling();
    try {
      const envelope = parseEnvelope(m.Body, this.acceptUnsignedSns);
      if (this.acceptUnsignedSns && typeof envelope !== 'string' && envelope.Type === 'Notification') {
        this.handleNotification(m, envelope, receivedAt, finished);
        return;
      }
      void this.handleMessage(m, receivedAt, envelope).finally(finished);
    } catch (err) {
      this.handlingFailed(m, err);
      finished();
    }
  }

  /** The end of a message's handling: its slot is free (a notification's visibility hold was released first). */
  private finishHandling(): void {
    this.inFlight--;
    this.wakeRoomWaiters();
    if (this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Takes the slots of one receive: resolves with how many messages it may ask for (at least 1,
   * at most a receive's worth), or 0 once stopping. The caller gives them back after the receive.
   */
  private async reserveRoom(): Promise<number> {
    while (this.running && this.inFlight + this.reserved >= this.maxInFlight) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    if (!this.running) return 0;
    const room = Math.min(this.maxMessages, this.maxInFlight - this.inFlight - this.reserved);
    this.reserved += room;
    return room;
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Handles one queue message received at `receivedAt` (epoch ms), its body parsed into `envelope`
   * (or why it is not one); never rejects.
   */
  private async handleMessage(m: Message, receivedAt: number, envelope: Envelope | string): Promise<void> {
    try {
      if (typeof envelope === 'string') {
        this.failures.report({ code: envelope === NOT_JSON ? 'InvalidJson' : 'InvalidMessage', reason: envelope }, { messageId: m.MessageId });
        this.delete(m);
        return;
      }
      if (!this.acceptUnsignedSns) {
        const proof = await this.verifier.verify(envelope);
        if (proof.verdict === 'unverifiable') {
          this.logger.warn('delivery queue message kept for a retry: its SNS signature cannot be verified now', { messageId: m.MessageId, reason: proof.reason });
          return;
        }
        if (proof.verdict === 'forged') {
          // The TopicArn is unproven: it goes into the reason, never into a binding's records.
          this.failures.report(
            { code: 'InvalidMessage', reason: `${NOT_SIGNED}: ${proof.reason} (claimed TopicArn ${JSON.stringify(envelope.TopicArn)})` },
            { messageId: m.MessageId },
          );
          this.delete(m);
          return;
        }
      }
      switch (envelope.Type) {
        case 'Notification':
          await new Promise<void>((resolve) => this.handleNotification(m, envelope, receivedAt, resolve));
          return;
        case 'SubscriptionConfirmation':
          if (await this.confirm(envelope, m)) this.delete(m);
          return;
        case 'UnsubscribeConfirmation':
          this.logger.info('subscription removed from topic', { topicArn: envelope.TopicArn });
          this.delete(m);
          return;
        default:
          this.logger.warn('delivery queue message of unknown SNS type ignored', { type: envelope.Type, topicArn: envelope.TopicArn, messageId: m.MessageId });
          this.delete(m);
      }
    } catch (err) {
      this.handlingFailed(m, err);
    }
  }

  /**
   * Hands a notification's entries to the processor (visible to the {@link VisibilityExtender}
   * until its entries' deadline) and calls `finished` once its outcome is known and acted on: the
   * message deleted, or kept for redelivery when some failure records were not accepted, and its
   * visibility no longer extended.
   */
  private handleNotification(m: Message, envelope: Envelope, receivedAt: number, finished: () => void): void {
    const forwarded = m.MessageAttributes?.[FORWARDED_ENTRIES_ATTRIBUTE]?.StringValue;
    // Every entry is sent or failed within the send timeout of this moment: its deadline.
    const hold = this.visibility.hold(m.ReceiptHandle, m.MessageId, receivedAt, wallClockOfJob.now() + this.processor.sendTimeoutMs);
    try {
      this.processor.handleThen(envelope as SnsNotification, forwarded, (result) => {
        try {
          if (result.unrecorded) {
            this.logger.warn('delivery queue message kept for redelivery: failure records of some entries were not accepted by their dead-letter queue', {
              messageId: m.MessageId,
              topicArn: envelope.TopicArn,
              unrecorded: result.unrecorded,
            });
            return;
          }
          this.delete(m);
        } catch (err) {
          this.handlingFailed(m, err);
        } finally {
          this.visibility.release(hold);
          finished();
        }
      });
    } catch (err) {
      this.visibility.release(hold); // a defect: the caller logs it and deletes the message
      throw err;
    }
  }

  /** The processor resolves for every input; anything else is a defect, logged, and the message deleted (not retried). */
  private handlingFailed(m: Message, err: unknown): void {
    this.logger.error('delivery queue message could not be handled', { messageId: m.MessageId, error: (err as Error)?.message });
    this.delete(m);
  }

  /**
   * Confirms the subscription when its topic has a pending binding. Returns false to keep the
   * message for a retry: when the confirmation fails, or when no binding of the topic is loaded yet
   * (the registration writes the binding, then subscribes; a task may see the confirmation before
   * its next configuration reload). A confirmation that never finds its binding ends in the
   * delivery queue's dead-letter queue after its receive limit.
   */
  private async confirm(envelope: Envelope, m: Message): Promise<boolean> {
    const topicArn = envelope.TopicArn;
    const binding = this.bindings.getPacketSource(topicArn);
    if (!binding) {
      this.logger.info('subscription confirmation kept for redelivery: no PacketSource of this topic is loaded yet', {
        topicArn,
        messageId: m.MessageId,
        retryInSeconds: this.unknownConfirmationRetrySeconds,
      });
      await this.retryLater(m, this.unknownConfirmationRetrySeconds);
      return false;
    }
    if (binding.SubscriptionState !== 'PendingConfirmation') {
      this.logger.warn('subscription confirmation ignored: no PacketSource waiting for confirmation of this topic', {
        topicArn,
        subscriptionState: binding.SubscriptionState ?? 'Confirmed',
      });
      return true;
    }
    const region = topicRegion(topicArn);
    if (!region || typeof envelope.Token !== 'string' || envelope.Token.length === 0) {
      this.logger.warn('subscription confirmation ignored: TopicArn or Token is malformed', { topicArn });
      return true;
    }
    try {
      const out = await this.snsClient(region).send(new ConfirmSubscriptionCommand({ TopicArn: topicArn, Token: envelope.Token }));
      this.logger.info('subscription confirmed', { topicArn, subscriptionArn: out.SubscriptionArn });
      return true;
    } catch (err) {
      const e = err as Error;
      this.logger.warn('subscription confirmation failed; the message will be retried', { topicArn, error: `${e.name}: ${e.message}` });
      return false;
    }
  }

  /** Makes `m` visible again after `seconds` (instead of the queue's visibility timeout). */
  private async retryLater(m: Message, seconds: number): Promise<void> {
    if (!m.ReceiptHandle) return;
    try {
      const input = { QueueUrl: this.queueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: seconds };
      await this.sqs.send(new ChangeMessageVisibilityCommand(input));
    } catch (err) {
      const e = err as Error;
      this.logger.warn('ChangeMessageVisibility failed; the message returns after the queue visibility timeout', {
        messageId: m.MessageId,
        error: `${e.name}: ${e.message}`,
      });
    }
  }

  private snsClient(region: string): SNSClient {
    let client = this.snsClients.get(region);
    if (!client) {
      client = this.snsFor(region);
      this.snsClients.set(region, client);
    }
    return client;
  }

  private delete(m: Message): void {
    if (!m.ReceiptHandle) return;
    this.deletes.push({ ReceiptHandle: m.ReceiptHandle, MessageId: m.MessageId });
    if (this.deletes.length >= 10) {
      this.sendDeletes();
    } else if (!this.deleteTimer) {
      this.deleteTimer = setTimeout(() => {
        this.deleteTimer = undefined;
        while (this.deletes.length > 0) this.sendDeletes();
      }, this.deleteFlushMs);
    }
  }

  private async flushDeletes(): Promise<void> {
    if (this.deleteTimer) {
      clearTimeout(this.deleteTimer);
      this.deleteTimer = undefined;
    }
    while (this.deletes.length > 0) this.sendDeletes();
    while (this.deleting.size > 0) await Promise.all([...this.deleting]);
  }

  /** Sends the first (up to) 10 pending deletes in one DeleteMessageBatch. */
  private sendDeletes(): void {
    const batch = this.deletes.splice(0, 10);
    if (this.deletes.length === 0 && this.deleteTimer) {
      clearTimeout(this.deleteTimer);
      this.deleteTimer = undefined;
    }
    const done = this.deleteBatch(batch).finally(() => this.deleting.delete(done));
    this.deleting.add(done);
  }

  private async deleteBatch(batch: readonly PendingDelete[]): Promise<void> {
    try {
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch.map((d, i) => ({ Id: String(i), ReceiptHandle: d.ReceiptHandle })) }),
      );
      for (const f of out.Failed ?? []) {
        this.logger.warn('delivery queue message not deleted; it will be received again', {
          messageId: batch[Number(f.Id)]?.MessageId,
          error: `${f.Code}: ${f.Message}`,
        });
      }
    } catch (err) {
      const e = err as Error;
      this.logger.warn('DeleteMessageBatch failed; the messages will be received again', {
        messageIds: batch.map((d) => d.MessageId),
        error: `${e.name}: ${e.message}`,
      });
    }
  }

  /** Waits `ms`, or less when stop() is called. */
  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.stopped]);
    clearTimeout(timer);
  }
}

/** The fields of an SNS envelope the consumer reads (and the signed ones it verifies). */
interface Envelope extends SignedSnsEnvelope {
  readonly Type: string;
  readonly TopicArn: string;
  readonly MessageId: string;
  readonly Message: string;
  readonly Timestamp: string;
  readonly Token?: string;
  readonly MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

/** How every refusal of a message that is not an SNS notification begins. */
const NOT_SIGNED = 'delivery queue message is not a signed SNS notification';
const ENVELOPES_ONLY = '; the subscription must deliver SNS envelopes (raw message delivery off)';
const NOT_JSON = `${NOT_SIGNED}: the body is not JSON; expected an SNS envelope (the subscription must not use raw message delivery)`;

/**
 * The SNS envelope in an SQS message body, or a reason why it is not one. A missing Type means
 * Notification only for unsigned envelopes (SNS always sends it, and signs it).
 */
function parseEnvelope(body: string | undefined, unsigned: boolean): Envelope | string {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    return NOT_JSON;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${NOT_SIGNED}: the body is JSON but not an SNS envelope object (got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})`;
  }
  const v = value as Record<string, unknown>;
  const type = v.Type ?? (unsigned ? 'Notification' : undefined);
  if (typeof type !== 'string') return `${NOT_SIGNED}: SNS envelope field Type is ${type === undefined ? 'missing' : 'not a string'}${ENVELOPES_ONLY}`;
  for (const field of ['TopicArn', 'MessageId', 'Message'] as const) {
    if (typeof v[field] !== 'string') return `${NOT_SIGNED}: SNS envelope field ${field} is ${v[field] === undefined ? 'missing' : 'not a string'}${ENVELOPES_ONLY}`;
  }
  if (v.Timestamp !== undefined && typeof v.Timestamp !== 'string') return `${NOT_SIGNED}: SNS envelope field Timestamp must be an ISO 8601 string`;
  const attrs = v.MessageAttributes;
  if (attrs !== undefined && (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs))) {
    return `${NOT_SIGNED}: SNS envelope field MessageAttributes must be an object of {Type, Value}`;
  }
  // The parsed object is the consumer's own: completed in place rather than copied. Signed envelopes
  // are verified as received: a missing Timestamp is a verification failure, not ''.
  if (v.Type !== type) v.Type = type;
  if (unsigned && v.Timestamp === undefined) v.Timestamp = '';
  return v as unknown as Envelope;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}
