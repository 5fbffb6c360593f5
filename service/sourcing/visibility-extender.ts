/**
 * Keeps delivery-queue messages invisible while their entries are still waiting (a relay to the
 * flow's owner, a worker hand-off, forwarding to another region, a slow send). A message held past
 * `extendAfter` of its visibility timeout gets another full timeout (ChangeMessageVisibilityBatch,
 * up to 10 messages a call), so the queue does not deliver it again — to this task or another one —
 * while it is in flight, which would send its entries twice. Each extension is followed by the
 * next one period later while the message is still held; a failed call is tried again within a
 * second; an entry SQS refuses (a receipt handle no longer valid) is released.
 *
 * Extension is bounded: a message is extended only until its hold deadline (the moment by which
 * every entry of the message is sent or failed), so it stays invisible at most one visibility
 * timeout past that deadline (time for its failure records), never for ever; one still held then
 * is dropped with a warning.
 *
 * Held messages wait in one list ordered by the time their next extension is due, under one timer
 * armed for the earliest of them (service/due-list.ts). Messages are held in about the order they
 * are received, and an extension is due one period after the previous one, so a message joins at
 * the tail in O(1); a rare earlier one (a retry after a failed call, a message held late after its
 * signature check) is inserted in order, walking from the nearer end. Releasing a message unlinks
 * it at once, so a released message keeps no memory for an extension period, and nothing is
 * allocated or armed per message while the timer is already set for an earlier time: a hold and
 * its release cost a few field writes. Nothing here runs per packet.
 */
import { ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ConsumerLogger } from './delivery-queue-consumer';
import { inIntegerRange, SQS_VISIBILITY_TIMEOUT_SECONDS } from '../../lib/private/limits';
import { DueEntry, DueList } from '../due-list';

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

/**
 * A message kept invisible, as {@link VisibilityExtender.hold} returns it: the caller hands it
 * back to {@link VisibilityExtender.release}.
 */
export interface VisibilityHold {
  readonly receiptHandle: string;
  readonly messageId?: string;
}

/**
 * One message kept invisible, and its place in the list of held messages by the epoch ms its next
 * extension is due (listed while waiting, not while its extension is being sent).
 */
interface HeldMessage extends VisibilityHold, DueEntry {
  /** Epoch ms after which the message is no longer extended. */
  readonly holdUntil: number;
  /** False once released (by the caller, a refusal, its deadline or stop). */
  held: boolean;
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
  /** Messages held now (listed or being extended). */
  private heldCount = 0;
  /** The held messages waiting for their next extension, by due time, under the one timer. */
  private readonly due: DueList<HeldMessage>;
  /** Stopped: messages handed to {@link hold} afterwards are not extended. */
  private stopped = false;
  private readonly sending = new Set<Promise<void>>();
  /** The messages of the extension calls in progress (unlisted until their answer). */
  private readonly extending = new Set<readonly HeldMessage[]>();

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
    this.due = new DueList((now) => this.wake(now), this.now);
  }

  /** Messages being kept invisible now. */
  get holding(): number {
    return this.heldCount;
  }

  /**
   * Keeps the message of `receiptHandle`, received (made invisible for the visibility timeout) at
   * `receivedAt`, invisible until {@link release} or until `holdUntil` (epoch ms) has passed.
   * Returns what to release, or undefined when nothing is held (no receipt handle, or stopped).
   */
  hold(receiptHandle: string | undefined, messageId: string | undefined, receivedAt: number, holdUntil: number): VisibilityHold | undefined {
    if (!receiptHandle || this.stopped) return undefined;
    const dueAt = receivedAt + this.extendAfterMs;
    const message: HeldMessage = {
      dueAt, listed: false, previousDue: undefined, nextDue: undefined, receiptHandle, messageId, holdUntil, held: true,
    };
    this.heldCount++;
    this.due.insert(message);
    return message;
  }

  /** Stops extending a held message (it was deleted, or is left for redelivery); releasing it again does nothing. */
  release(hold: VisibilityHold | undefined): void {
    const message = hold as HeldMessage | undefined;
    if (!message?.held) return;
    message.held = false;
    this.heldCount--;
    this.due.remove(message);
  }

  /** Releases every message, holds no new one, and waits for the extensions already sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (let first = this.due.first; first; first = this.due.first) this.release(first);
    for (const batch of this.extending) for (const message of batch) this.release(message);
    this.due.stopTimer();
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }

  /**
   * The timer, at `now`: every listed message due is extended (in calls of up to
   * {@link BATCH_SIZE}) or, past its hold deadline, dropped; the list arms the timer again for the
   * next one, and leaves it off while none is listed.
   */
  private wake(now: number): void {
    let batch: HeldMessage[] | undefined;
    for (let message = this.due.takeDue(now); message; message = this.due.takeDue(now)) {
      if (now >= message.holdUntil) {
        message.held = false;
        this.heldCount--;
        this.logger.warn(PAST_DEADLINE_LOG_MESSAGE, {
          messageId: message.messageId,
          holdUntil: new Date(message.holdUntil).toISOString(),
        });
        continue;
      }
      (batch ??= []).push(message);
      if (batch.length === BATCH_SIZE) {
        this.send(batch);
        batch = undefined;
      }
    }
    if (batch) this.send(batch);
  }

  private send(batch: readonly HeldMessage[]): void {
    this.extending.add(batch);
    const sent: Promise<void> = this.extend(batch).finally(() => {
      this.extending.delete(batch);
      this.sending.delete(sent);
    });
    this.sending.add(sent);
  }

  /** Gives each message of `batch` another visibility timeout, and lists it again for its next extension. */
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
        this.release(message);
        continue;
      }
      if (error) {
        this.logger.warn('ChangeMessageVisibility failed; the message may be received again while in progress', { messageId: message.messageId, error });
      } else {
        this.logger.debug('delivery queue message visibility extended', { messageId: message.messageId, visibilityTimeoutSeconds: this.timeoutSeconds });
      }
      // Extended again one extension period later (a failed call: tried again within a second), while still held.
      if (!message.held) continue;
      message.dueAt = this.now() + (error ? Math.min(this.extendAfterMs, RETRY_MS) : this.extendAfterMs);
      this.due.insert(message);
    }
  }
}
