/**
 * Amazon Kinesis Data Streams: one packet per record, `PutRecords` with up to 500 records and
 * 5 MiB (data and partition keys) per call, the calls of a batch sent concurrently up to a bound.
 * Records Kinesis reports as failed (throughput exceeded, internal failure) are put again, alone,
 * a bounded number of times; what still fails is reported per packet.
 *
 * The partition key is the destination's `PartitionKeyExpression` evaluated over the payload and
 * rendered with `PartitionKeyFormatter` (hex by default, like Proxylity); without an expression,
 * or when it gives an empty key, each record gets a random key (records spread over all shards).
 * Keys longer than Kinesis's 256 characters are cut to 256.
 *
 * Requests name the stream by `StreamName`: the stream is in the fleet's account and region.
 */
import { randomUUID } from 'node:crypto';
import { KinesisClient, PutRecordsCommand, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { BatchRetryOptions, describeError, EntryFailure, writeBatch } from './batch-write';
import type { Destination, DestinationContext, DeliveryResult } from './destination';
import { destinationArn } from './destination-arn';
import type { QueuedPacket } from './packet';
import { packetBytes } from './packet-bytes';
import { payloadOfPacket } from './packet-payload';
import { KINESIS_STREAM_ARN, resourceNameOfArn } from '../../lib/private/arn';
import type { DestinationRecord, FormatterName, ListenerRecord } from '../../lib/private/records';
import { DEFAULT_FORMATTER } from '../formatter';

/** Kinesis limits per PutRecords call, and of a partition key. */
export const KINESIS_MAX_RECORDS = 500;
export const KINESIS_MAX_REQUEST_BYTES = 5 * 1024 * 1024;
export const KINESIS_MAX_PARTITION_KEY_LENGTH = 256;

/** Computes a record's partition key from the packet's payload. */
export type PartitionKeyFunction = (payload: Uint8Array) => string;

export interface KinesisDestinationOptions extends BatchRetryOptions {
  /** Partition key from the payload. @default - a random key per record */
  readonly partitionKey?: PartitionKeyFunction;
  /** Encoding of `Data` in the packets (to read the payload back). @default base64 */
  readonly formatter?: FormatterName;
}

export class KinesisDestination implements Destination {
  public readonly type = 'kinesis' as const;
  public readonly name: string;
  private readonly streamName: string;

  /** `region`: the region `client` sends to; the stream must be in it. */
  public constructor(
    record: DestinationRecord,
    private readonly client: KinesisClient,
    region: string,
    private readonly options: KinesisDestinationOptions = {},
  ) {
    this.name = record.Name;
    this.streamName = resourceNameOfArn(destinationArn(record, KINESIS_STREAM_ARN, 'a Kinesis stream ARN', region).arn)!;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const keys = batch.map((p) => this.partitionKeyOf(p));
    const data = packetBytes(batch, '');
    const failed = await writeBatch(batch.length, (indices) => this.put(data, keys, indices), {
      ...this.options,
      limits: { maxEntries: KINESIS_MAX_RECORDS, maxBytes: KINESIS_MAX_REQUEST_BYTES },
      sizeOf: (i) => data[i].length + Buffer.byteLength(keys[i]),
      callFailureReason: (err) => `Kinesis PutRecords failed ${describeError(err)}`,
    });
    return failed.length > 0 ? { failed } : {};
  }

  private partitionKeyOf(packet: QueuedPacket): string {
    const compute = this.options.partitionKey;
    if (compute) {
      const payload = payloadOfPacket(packet, this.options.formatter ?? DEFAULT_FORMATTER);
      const key = payload ? compute(payload) : '';
      if (key.length > 0) return key.length > KINESIS_MAX_PARTITION_KEY_LENGTH ? key.slice(0, KINESIS_MAX_PARTITION_KEY_LENGTH) : key;
    }
    return randomUUID();
  }

  private async put(data: readonly Uint8Array[], keys: readonly string[], indices: readonly number[]): Promise<EntryFailure[]> {
    const records: PutRecordsRequestEntry[] = indices.map((i) => ({ Data: data[i], PartitionKey: keys[i] }));
    const out = await this.client.send(new PutRecordsCommand({ StreamName: this.streamName, Records: records }));
    const failures: EntryFailure[] = [];
    // Results are in the order of the request's records.
    out.Records?.forEach((r, n) => {
      if (r.ErrorCode) {
        failures.push({
          index: indices[n],
          reason: `Kinesis rejected the record (${r.ErrorCode}): ${r.ErrorMessage ?? 'no message'}`,
          retriable: r.ErrorCode === 'ProvisionedThroughputExceededException' || r.ErrorCode === 'InternalFailure',
        });
      }
    });
    return failures;
  }
}

/** Creates a Kinesis destination using the shared client. */
export function createKinesisDestination(record: DestinationRecord, listener: ListenerRecord, context: DestinationContext): Destination {
  return new KinesisDestination(record, context.kinesisClient(), context.region, {
    formatter: record.Formatter ?? listener.Formatter ?? DEFAULT_FORMATTER,
  });
}
