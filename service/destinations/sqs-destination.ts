/**
 * Amazon SQS: one packet per message, `SendMessageBatch` with up to 10 messages and 256 KiB per
 * call. Entries SQS rejects are reported per packet; the others are delivered. FIFO queues get
 * the client endpoint as message group and the packet's Tag as deduplication id.
 *
 * The queue URL is where the SDK sends each request, signed with the fleet's credentials, so it is
 * never taken from the record: it is built from the queue (the record's `Arn`, or the queue its
 * validated `QueueUrl` names) on the endpoint the SDK resolves for the client: AWS's regional
 * endpoint, or the configured endpoint (`AWS_ENDPOINT_URL_SQS`, a client `endpoint`) in tests
 * and labs.
 */
import { SendMessageBatchCommand, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { Destination, DestinationContext, DeliveryResult, PacketDeliveryFailure } from './destination';
import type { QueuedPacket } from './packet';
import { awsSqsEndpointRegion, queueLocationFromArn, queueOfUrl, SQS_QUEUE_URL_ALLOWED } from '../../lib/private/arn';
import { formatEndpoint } from '../../lib/private/network';
import type { ResolvedDestinationRecord } from '../../lib/private/records';
import { sqsEndpointUrl } from '../aws-clients';

/** SQS limits per SendMessageBatch call. */
export const SQS_MAX_ENTRIES = 10;
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

/** The queue of an SQS destination record: its account and name, and its URL on AWS's regional endpoint when the record names one. */
interface DestinationQueue {
  readonly account: string;
  readonly name: string;
  readonly awsUrl?: string;
}

function queueOfRecord(record: ResolvedDestinationRecord): DestinationQueue {
  if (record.Arn) {
    const { queueUrl } = queueLocationFromArn(record.Arn);
    const [, , , , account, name] = record.Arn.split(':');
    return { awsUrl: queueUrl, account, name };
  }
  if (record.QueueUrl) {
    // Only the path is used: the request goes to the endpoint the SDK resolves (validated records name AWS's, or a configured one).
    let origin = '';
    try {
      origin = new URL(record.QueueUrl).origin;
    } catch {
      // reported below
    }
    const queue = queueOfUrl(record.QueueUrl, origin ? [origin] : []);
    if (!queue) throw new Error(`destination ${record.Name}: QueueUrl ${JSON.stringify(record.QueueUrl)} is not the URL of an SQS queue (allowed: ${SQS_QUEUE_URL_ALLOWED})`);
    return { account: queue.account, name: queue.name, awsUrl: queue.region ? `https://${queue.host}/${queue.account}/${queue.name}` : undefined };
  }
  throw new Error(`destination ${record.Name}: Arn or QueueUrl is required for Type sqs`);
}

export class SqsDestination implements Destination {
  public readonly type = 'sqs' as const;
  public readonly name: string;
  private readonly queue: DestinationQueue;
  private readonly fifo: boolean;
  private queueUrl?: Promise<string>;

  public constructor(record: ResolvedDestinationRecord, private readonly client: SQSClient) {
    this.name = record.Name;
    this.queue = queueOfRecord(record);
    this.fifo = this.queue.name.endsWith('.fifo');
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    let queueUrl: string;
    try {
      queueUrl = await (this.queueUrl ??= this.resolveQueueUrl().catch((err: unknown) => {
        this.queueUrl = undefined; // resolve again with the next batch
        throw err;
      }));
    } catch (err) {
      const reason = `the SQS endpoint could not be resolved: ${(err as Error)?.message ?? String(err)}`;
      return { failed: batch.map((_, index) => ({ index, reason })) };
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
      calls.push(this.sendChunk(queueUrl, batch, start, end));
      start = end;
    }
    const failed = (await Promise.all(calls)).flat();
    return failed.length > 0 ? { failed } : {};
  }

  private async sendChunk(queueUrl: string, batch: readonly QueuedPacket[], start: number, end: number): Promise<PacketDeliveryFailure[]> {
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
      const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
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

  /**
   * The queue's URL on the endpoint the SDK resolves for the client: the queue's AWS URL when that
   * is an AWS SQS endpoint, else the same account and queue on the configured endpoint.
   */
  private async resolveQueueUrl(): Promise<string> {
    let endpoint: URL;
    try {
      endpoint = new URL(await sqsEndpointUrl(this.client));
    } catch (err) {
      if (this.queue.awsUrl) return this.queue.awsUrl;
      throw err;
    }
    if (this.queue.awsUrl && awsSqsEndpointRegion(endpoint.hostname)) return this.queue.awsUrl;
    return `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, '')}/${this.queue.account}/${this.queue.name}`;
  }
}

/** Creates an SQS destination using the shared client (the one of the record's Role when it has one). */
export function createSqsDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new SqsDestination(record, context.sqsClient(record.Role));
}
