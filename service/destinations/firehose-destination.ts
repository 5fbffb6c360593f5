/**
 * Amazon Data Firehose: one packet per record, each record the packet's JSON and a newline, so the
 * objects Firehose writes (to S3 and the like) are newline-delimited JSON, one packet per line.
 * `PutRecordBatch` with up to 500 records and 4 MiB per call; records Firehose reports as failed
 * are put again, alone, a bounded number of times; what still fails is reported per packet.
 *
 * Requests name the delivery stream by `DeliveryStreamName`: the stream is in the fleet's account
 * and region.
 */
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { BatchRetryOptions, describeError, EntryFailure, writeBatch } from './batch-write';
import type { Destination, DestinationContext, DeliveryResult } from './destination';
import { destinationArn } from './destination-arn';
import type { QueuedPacket } from './packet';
import { packetBytes } from './packet-bytes';
import { FIREHOSE_DELIVERY_STREAM_ARN, resourceNameOfArn } from '../../lib/private/arn';
import type { ResolvedDestinationRecord } from '../../lib/private/records';

/** Firehose limits per PutRecordBatch call. */
export const FIREHOSE_MAX_RECORDS = 500;
export const FIREHOSE_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** What ends each record: newline-delimited JSON. */
export const FIREHOSE_RECORD_DELIMITER = '\n';

export class FirehoseDestination implements Destination {
  public readonly type = 'firehose' as const;
  public readonly name: string;
  private readonly deliveryStreamName: string;

  /** `region`: the region `client` sends to; the delivery stream must be in it. */
  public constructor(
    record: ResolvedDestinationRecord,
    private readonly client: FirehoseClient,
    region: string,
    private readonly retry: BatchRetryOptions = {},
  ) {
    this.name = record.Name;
    this.deliveryStreamName = resourceNameOfArn(destinationArn(record, FIREHOSE_DELIVERY_STREAM_ARN, 'a Firehose delivery stream ARN', region).arn)!;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const data = packetBytes(batch, FIREHOSE_RECORD_DELIMITER);
    const failed = await writeBatch(batch.length, (indices) => this.put(data, indices), {
      ...this.retry,
      limits: { maxEntries: FIREHOSE_MAX_RECORDS, maxBytes: FIREHOSE_MAX_REQUEST_BYTES },
      sizeOf: (i) => data[i].length,
      callFailureReason: (err) => `Firehose PutRecordBatch failed ${describeError(err)}`,
    });
    return failed.length > 0 ? { failed } : {};
  }

  private async put(data: readonly Uint8Array[], indices: readonly number[]): Promise<EntryFailure[]> {
    const out = await this.client.send(new PutRecordBatchCommand({
      DeliveryStreamName: this.deliveryStreamName,
      Records: indices.map((i) => ({ Data: data[i] })),
    }));
    const failures: EntryFailure[] = [];
    // Responses are in the order of the request's records.
    out.RequestResponses?.forEach((r, n) => {
      if (r.ErrorCode) {
        failures.push({
          index: indices[n],
          reason: `Firehose rejected the record (${r.ErrorCode}): ${r.ErrorMessage ?? 'no message'}`,
          retriable: r.ErrorCode === 'ServiceUnavailableException' || r.ErrorCode === 'InternalFailure',
        });
      }
    });
    return failures;
  }
}

/** Creates a Firehose destination using the shared client. */
export function createFirehoseDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new FirehoseDestination(record, context.firehoseClient(), context.region);
}
