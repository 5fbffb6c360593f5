/**
 * Amazon SQS: one packet per message, `SendMessageBatch` with up to 10 messages and 256 KiB per
 * call. Entries SQS rejects are reported per packet; the others are delivered. FIFO queues get
 * the client endpoint as message group and the packet's Tag as deduplication id.
 */
import { SendMessageBatchCommand, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { Destination, DestinationContext, DeliveryResult, PacketDeliveryFailure } from './destination';
import type { QueuedPacket } from './packet';
import { queueLocationFromArn } from '../../lib/private/arn';
import { formatEndpoint } from '../../lib/private/network';
import type { DestinationRecord } from '../../lib/private/records';
import { sqsEndpointUrl } from '../aws-clients';

/** SQS limits per SendMessageBatch call. */
export const SQS_MAX_ENTRIES = 10;
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

export class SqsDestination implements Destination {
  public readonly type = 'sqs' as const;
  public readonly name: string;
  /** The queue URL: given, or built from the ARN on the endpoint the client resolves (once, on first delivery). */
  private queueUrl?: string;
  private readonly arn?: string;
  private readonly fifo: boolean;

  public constructor(record: DestinationRecord, private readonly client: SQSClient) {
    this.name = record.Name;
    if (!record.QueueUrl && !record.Arn) throw new Error(`destination ${record.Name}: Arn or QueueUrl is required for Type sqs`);
    if (record.QueueUrl) {
      this.queueUrl = record.QueueUrl;
    } else {
      queueLocationFromArn(record.Arn!); // throws, naming the value, when it is not a queue ARN
      this.arn = record.Arn;
    }
    this.fifo = (this.queueUrl ?? this.arn!).endsWith('.fifo');
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    if (this.queueUrl === undefined) {
      try {
        this.queueUrl = queueLocationFromArn(this.arn!, await sqsEndpointUrl(this.client)).queueUrl;
      } catch (err) {
        const reason = `SQS endpoint could not be resolved: ${(err as Error)?.message ?? String(err)}`;
        return { failed: batch.map((_, index) => ({ index, reason })) };
      }
    }
    const calls: Promise<PacketDeliveryFailure[]>[] = [];
    let start = 0;
    while (start < batch.length) {
      let end = start;
      let bytes = 0;
      while (end < batch.length && end - start < SQS_MAX_ENTRIES && (end === start || bytes + batch[end].bytes <= SQS_MAX_BATCH_BYTES)) {
        bytes += batch[end].bytes;
        end++;
      }
      calls.push(this.sendChunk(batch, start, end));
      start = end;
    }
    const failed = (await Promise.all(calls)).flat();
    return failed.length > 0 ? { failed } : {};
  }

  private async sendChunk(batch: readonly QueuedPacket[], start: number, end: number): Promise<PacketDeliveryFailure[]> {
    const entries: SendMessageBatchRequestEntry[] = [];
    for (let i = start; i < end; i++) {
      const p = batch[i];
      entries.push({
        Id: String(i),
        MessageBody: p.json,
        ...(this.fifo ? { MessageGroupId: formatEndpoint(p.remoteAddress, p.remotePort), MessageDeduplicationId: p.tag.slice(-64) } : {}),
      });
    }
    try {
      const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl!, Entries: entries }));
      return (out.Failed ?? []).map((f) => ({
        index: Number(f.Id),
        reason: `SQS rejected the message (${f.Code ?? 'unknown code'}${f.SenderFault ? ', sender fault' : ''}): ${f.Message ?? 'no message'}`,
      }));
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const reason = `SQS SendMessageBatch failed (${e?.name ?? 'Error'}): ${e?.message ?? String(err)}`;
      const failed: PacketDeliveryFailure[] = [];
      for (let i = start; i < end; i++) failed.push({ index: i, reason });
      return failed;
    }
  }
}

/** Creates an SQS destination using the shared client. */
export function createSqsDestination(record: DestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new SqsDestination(record, context.sqsClient());
}
