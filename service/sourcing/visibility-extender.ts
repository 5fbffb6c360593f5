/**
 * Keeps delivery-queue messages invisible while their entries are still waiting (a relay to the
 * flow's owner, a worker hand-off, forwarding to another region, a slow send). A message held past
 * `extendAfter` of its visibility timeout gets another full timeout (ChangeMessageVisibilityBatch,
 * up to 10 messages a call), so the queue does not deliver it again — to this task or another one —
 * while it is in flight, which would send its entries twice.
 *
 * Extension is bounded: a message is extended only until its hold deadline (the moment by which
 * every entry of the message is sent or failed), so it stays invisible at most one visibility
 * timeout past that deadline (time for its failure records), never for ever. One timer per held
 * message; nothing here runs per packet.
 */
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ConsumerLogger } from './delivery-queue-consumer';
import { inIntegerRange, SQS_VISIBILITY_TIMEOUT_SECONDS } from '../../lib/private/limits';

export interface VisibilityExtenderOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** The visibility timeout the messages were received with, and the one each extension sets, seconds. */
  readonly visibilityTimeoutSeconds: number;
  /**
   * Fraction of the visibility timeout after which a message still held is extended (greater than
   * 0, less than 1). @default 0.5
   */
  readonly extendAfter?: number;
  readonly logger: Pick<ConsumerLogger, 'debug' | 'warn'>;
  /** Clock in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** One message kept invisible. */
interface HeldMessage {
  readonly receiptHandle: string;
  readonly messageId?: string;
  /** Epoch ms after which the message is no longer extended. */
  readonly holdUntil: number;
  timer?: NodeJS.Timeout;
}

/** Log message (WARN) of a message still in progress past its entries' deadline: its visibility is no longer extended. */
export const PAST_DEADLINE_LOG_MESSAGE = 'delivery queue message still in progress past its entries\' deadline: its visibility is not extended any more';

/** Most entries of one ChangeMessageVisibilityBatch call. */
const BATCH_SIZE = 10;

/** Wait before a failed extension is tried again, milliseconds. */
const RETRY_MS = 1_000;

/** Extends the visibility of delivery-queue messages while they are held. */
export class VisibilityExtender {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly timeoutSeconds: number;
  private readonly extendAfterMs: number;
  private readonly logger: Pick<ConsumerLogger, 'debug' | 'warn'>;
  private readonly now: () => number;
  /** Held messages by receipt handle. */
  private readonly held = new Map<string, HeldMessage>();
  /** Stopped: messages handed to {@link hold} afterwards are not extended. */
  private stopped = false;
  /** Messages due for an extension, sent together on the next turn of the event loop. */
  private due: HeldMessage[] = [];
  private flushing?: NodeJS.Immediate;
  private readonly sending = new Set<Promise<void>>();

  /** Throws when visibilityTimeoutSeconds or extendAfter is out of range. */
  constructor(opts: VisibilityExtenderOptions) {
    if (opts.visibilityTimeoutSeconds < 1 || !inIntegerRange(opts.visibilityTimeoutSeconds, SQS_VISIBILITY_TIMEOUT_SECONDS)) {
      throw new Error(`visibilityTimeoutSeconds ${opts.visibilityTimeoutSeconds} is not a visibility timeout (allowed: integer 1–${SQS_VISIBILITY_TIMEOUT_SECONDS.max})`);
    }
    const extendAfter = opts.extendAfter ?? 0.5;
    if (!(extendAfter > 0 && extendAfter < 1)) throw new Error(`extendAfter ${extendAfter} is not a fraction of the visibility timeout (allowed: greater than 0, less than 1)`);
    this.sqs = opts.sqs;
    this.queueUrl = opts.queueUrl;
    this.timeoutSeconds = opts.visibilityTimeoutSeconds;
    this.extendAfterMs = Math.floor(extendAfter * opts.visibilityTimeoutSeconds * 1000);
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
  }

  /** Messages being kept invisible now. */
  get holding(): number {
    return this.held.size;
  }

  /**
   * Keeps the message of `receiptHandle`, received (made invisible for the visibility timeout) at
   * `receivedAt`, invisible until {@link release} or until `holdUntil` (epoch ms) has passed.
   */
  hold(receiptHandle: string | undefined, messageId: string | undefined, receivedAt: number, holdUntil: number): void {
    if (!receiptHandle || this.stopped || this.held.has(receiptHandle)) return;
    const message: HeldMessage = { receiptHandle, messageId, holdUntil };
    this.held.set(receiptHandle, message);
    this.schedule(message, receivedAt + this.extendAfterMs - this.now());
  }

  /** Stops extending the message of `receiptHandle` (it was deleted, or is left for redelivery). */
  release(receiptHandle: string | undefined): void {
    if (!receiptHandle) return;
    const message = this.held.get(receiptHandle);
    if (!message) return;
    clearTimeout(message.timer);
    this.held.delete(receiptHandle);
  }

  /** Releases every message, holds no new one, and waits for the extensions already sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const handle of [...this.held.keys()]) this.release(handle);
    this.due = [];
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }

  private schedule(message: HeldMessage, inMs: number): void {
    message.timer = setTimeout(() => this.dueNow(message), Math.max(0, inMs));
    message.timer.unref();
  }

  private dueNow(message: HeldMessage): void {
    message.timer = undefined;
    if (this.held.get(message.receiptHandle) !== message) return;
    if (this.now() >= message.holdUntil) {
      this.held.delete(message.receiptHandle);
      this.logger.warn(PAST_DEADLINE_LOG_MESSAGE, {
        messageId: message.messageId,
        holdUntil: new Date(message.holdUntil).toISOString(),
      });
      return;
    }
    this.due.push(message);
    if (this.due.length >= BATCH_SIZE) this.sendDue();
    else if (!this.flushing) this.flushing = setImmediate(() => this.sendDue());
  }

  private sendDue(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    while (this.due.length > 0) {
      const batch = this.due.splice(0, BATCH_SIZE).filter((m) => this.held.get(m.receiptHandle) === m);
      if (batch.length === 0) continue;
      const sent: Promise<void> = this.extend(batch).finally(() => this.sending.delete(sent));
      this.sending.add(sent);
    }
  }

  /** Gives each message of `batch` another visibility timeout, and schedules its next extension. */
  private async extend(batch: readonly HeldMessage[]): Promise<void> {
    const failed = new Map<string, string>();
    /** Entries SQS refused for the message itself (e.g. a receipt handle no longer valid): retrying cannot help. */
    const refused = new Set<string>();
    try {
      const out = await this.sqs.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle, VisibilityTimeout: this.timeoutSeconds })),
      }));
      for (const f of out.Failed ?? []) {
        failed.set(f.Id ?? '', `${f.Code}: ${f.Message}`);
        if (f.SenderFault) refused.add(f.Id ?? '');
      }
    } catch (err) {
      const e = err as Error;
      for (let i = 0; i < batch.length; i++) failed.set(String(i), `${e.name}: ${e.message}`);
    }
    for (let i = 0; i < batch.length; i++) {
      const message = batch[i];
      const error = failed.get(String(i));
      if (refused.has(String(i))) {
        this.logger.warn('ChangeMessageVisibility refused; the message is no longer extended and may be received again while in progress', { messageId: message.messageId, error });
        this.release(message.receiptHandle);
        continue;
      }
      if (error) {
        this.logger.warn('ChangeMessageVisibility failed; the message may be received again while in progress', { messageId: message.messageId, error });
      } else {
        this.logger.debug('delivery queue message visibility extended', { messageId: message.messageId, visibilityTimeoutSeconds: this.timeoutSeconds });
      }
      // Extended again one extension period later (a failed call: tried again within a second), while still held.
      if (this.held.get(message.receiptHandle) !== message) continue;
      this.schedule(message, error ? Math.min(this.extendAfterMs, RETRY_MS) : this.extendAfterMs);
    }
  }
}
