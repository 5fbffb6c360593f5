/**
 * Amazon SNS: one packet per message, `PublishBatch` with up to 10 messages and 256 KiB per call.
 * Messages SNS rejects for a reason of its own (not a sender fault) are published again, alone
 * with the other such messages, a bounded number of times; what still fails is reported per
 * packet and the rest is delivered. FIFO topics get the client endpoint as message group and the
 * packet's Tag as deduplication id, like FIFO queues.
 */
import { PublishBatchCommand, PublishBatchRequestEntry, SNSClient } from '@aws-sdk/client-sns';
import { BatchRetryOptions, describeError, EntryFailure, writeBatch } from './batch-write';
import type { Destination, DestinationContext, DeliveryResult } from './destination';
import { destinationArn } from './destination-arn';
import type { QueuedPacket } from './packet';
import { isFifoArn, SNS_TOPIC_ARN } from '../../lib/private/arn';
import { formatEndpoint } from '../../lib/private/network';
import type { ResolvedDestinationRecord } from '../../lib/private/records';

/** SNS limits per PublishBatch call. */
export const SNS_MAX_ENTRIES = 10;
export const SNS_MAX_BATCH_BYTES = 256 * 1024;

export class SnsDestination implements Destination {
  public readonly type = 'sns' as const;
  public readonly name: string;
  private readonly topicArn: string;
  private readonly fifo: boolean;

  /** `region`: the region `client` sends to; the topic must be in it. */
  public constructor(
    record: ResolvedDestinationRecord, private readonly client: SNSClient, region: string, private readonly retry: BatchRetryOptions = {},
  ) {
    this.name = record.Name;
    this.topicArn = destinationArn(record, SNS_TOPIC_ARN, 'an SNS topic ARN', region).arn;
    this.fifo = isFifoArn(this.topicArn);
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const failed = await writeBatch(batch.length, (indices) => this.publish(batch, indices), {
      ...this.retry,
      limits: { maxEntries: SNS_MAX_ENTRIES, maxBytes: SNS_MAX_BATCH_BYTES },
      sizeOf: (i) => batch[i].bytes,
      callFailureReason: (err) => `SNS PublishBatch failed ${describeError(err)}`,
    });
    return failed.length > 0 ? { failed } : {};
  }

  private async publish(batch: readonly QueuedPacket[], indices: readonly number[]): Promise<EntryFailure[]> {
    const entries: PublishBatchRequestEntry[] = indices.map((i) => {
      const p = batch[i];
      return {
        Id: String(i),
        Message: p.json,
        ...(this.fifo ? { MessageGroupId: formatEndpoint(p.remoteAddress, p.remotePort), MessageDeduplicationId: p.tag.slice(-64) } : {}),
      };
    });
    const out = await this.client.send(new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: entries }));
    return (out.Failed ?? []).map((f) => ({
      index: Number(f.Id),
      reason: `SNS rejected the message (${f.Code ?? 'unknown code'}${f.SenderFault ? ', sender fault' : ''}): ${f.Message ?? 'no message'}`,
      retriable: !f.SenderFault,
    }));
  }
}

/** Creates an SNS destination using the shared client. */
export function createSnsDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new SnsDestination(record, context.snsClient(), context.region);
}
