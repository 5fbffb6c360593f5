/**
 * Forwards sourced entries whose flow is owned in another region to that region's delivery queue
 * (docs/FLEET.md "Global"): the SNS notification as received (its SNS signature authenticates it
 * there), with message attributes naming the entries the receiving region sends and the region
 * that forwarded it. Entries of one notification for one region that arrive in the same turn of
 * the event loop travel in one message. An entry counts as settled here once SQS accepted the
 * message; a send that fails leaves the entry to the caller's retry.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { formatForwardedEntries, FORWARDED_ENTRIES_ATTRIBUTE, FORWARDED_FROM_ATTRIBUTE } from '../../lib/private/global-forwarding';
import { MetricName } from '../../lib/private/metrics';
import type { MetricsRecorder, SendCallback } from '../contracts';

/** What sends a message to a queue of one region. */
export interface QueueSender {
  send(command: SendMessageCommand): Promise<unknown>;
}

export interface RegionForwarderOptions {
  /** This member's region (the `PacketGatewayForwardedFrom` attribute). */
  readonly region: string;
  /** Delivery queue URL of each peer region. */
  readonly queueUrls: ReadonlyMap<string, string>;
  /** SQS client for a region. */
  readonly sqs: (region: string) => QueueSender;
  readonly metrics: MetricsRecorder;
}

interface Batch {
  readonly region: string;
  readonly notification: object;
  readonly indexes: number[];
  readonly callbacks: SendCallback[];
}

export class RegionForwarder {
  private pending = new Map<object, Map<string, Batch>>();
  private scheduled = false;

  constructor(private readonly options: RegionForwarderOptions) {}

  /** Whether entries owned in `region` can be forwarded there (the gateway has a peer in it). */
  reaches(region: string): boolean {
    return this.options.queueUrls.has(region);
  }

  /**
   * Forwards entry `index` of `notification` to `region`'s delivery queue; `done(undefined)` once
   * SQS accepted it, `done(failure)` when it did not (the caller tries again or fails the entry).
   */
  forward(region: string, notification: object, index: number, done: SendCallback): void {
    let byRegion = this.pending.get(notification);
    if (!byRegion) {
      byRegion = new Map();
      this.pending.set(notification, byRegion);
    }
    let batch = byRegion.get(region);
    if (!batch) {
      batch = { region, notification, indexes: [], callbacks: [] };
      byRegion.set(region, batch);
    }
    batch.indexes.push(index);
    batch.callbacks.push(done);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const byRegion of pending.values()) {
      for (const batch of byRegion.values()) void this.send(batch);
    }
  }

  private async send(batch: Batch): Promise<void> {
    const queueUrl = this.options.queueUrls.get(batch.region)!;
    const command = new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(batch.notification),
      MessageAttributes: {
        [FORWARDED_ENTRIES_ATTRIBUTE]: { DataType: 'String', StringValue: formatForwardedEntries(batch.indexes) },
        [FORWARDED_FROM_ATTRIBUTE]: { DataType: 'String', StringValue: this.options.region },
      },
    });
    let failure: { code: 'SendFailed'; reason: string } | undefined;
    try {
      await this.options.sqs(batch.region).send(command);
      this.options.metrics.increment(MetricName.ForwardedToRegion, batch.indexes.length);
    } catch (err) {
      failure = { code: 'SendFailed', reason: `forwarding to the delivery queue of ${batch.region} failed: ${(err as Error)?.message ?? String(err)}` };
    }
    for (const done of batch.callbacks) done(failure);
  }
}
