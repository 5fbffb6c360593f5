/**
 * Amazon Kinesis Data Streams: one packet per record, `PutRecords` with up to 500 records and
 * 5 MiB (data and partition keys) per call, the calls of a batch sent concurrently up to a bound.
 * Records Kinesis reports as failed (throughput exceeded, internal failure) are put again, alone,
 * a bounded number of times; what still fails is reported per packet.
 *
 * The partition key is the destination's `Arguments.PartitionKeyExpression` evaluated over the payload and
 * rendered with `PartitionKeyFormatter` (hex by default, like Proxylity); without an expression,
 * or when it gives an empty key, each record gets a random key (records spread over all shards).
 * Keys longer than Kinesis's 256 characters are cut to 256.
 *
 * Requests name the stream by `StreamName`: the stream is in the fleet's account and region.
 */
import { randomUUID } from 'node:crypto';
import { KinesisClient, PutRecordsCommand, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { BatchRetryOptions, describeError, EntryFailure, writeBatch } from './batch-write';
import type { Destination, DestinationContext, DeliveryResult, PacketDeliveryFailure } from './destination';
import { destinationArn } from './destination-arn';
import type { QueuedPacket } from './packet';
import { PacketArgument, packetArgumentOf } from './packet-argument';
import { packetBytes } from './packet-bytes';
import { payloadOfPacket } from './packet-payload';
import { KINESIS_STREAM_ARN, resourceNameOfArn } from '../../lib/private/arn';
import type { ResolvedDestinationRecord, FormatterName, ListenerRecord } from '../../lib/private/records';
import type { Failure } from '../contracts';
import { DEFAULT_FORMATTER } from '../formatter';

/** Kinesis limits per PutRecords call, and of a partition key. */
export const KINESIS_MAX_RECORDS = 500;
export const KINESIS_MAX_REQUEST_BYTES = 5 * 1024 * 1024;
export const KINESIS_MAX_PARTITION_KEY_LENGTH = 256;

export interface KinesisDestinationOptions extends BatchRetryOptions {
  /** Partition key from the payload (the compiled `PartitionKeyExpression`). @default - a random key per record */
  readonly partitionKey?: PacketArgument;
  /** Encoding of `Data` in the packets (to read the payload back). @default base64 */
  readonly formatter?: FormatterName;
}

export class KinesisDestination implements Destination {
  public readonly type = 'kinesis' as const;
  public readonly name: string;
  private readonly streamName: string;

  /** `region`: the region `client` sends to; the stream must be in it. */
  public constructor(
    record: ResolvedDestinationRecord,
    private readonly client: KinesisClient,
    region: string,
    private readonly options: KinesisDestinationOptions = {},
  ) {
    this.name = record.Name;
    this.streamName = resourceNameOfArn(destinationArn(record, KINESIS_STREAM_ARN, 'a Kinesis stream ARN', region).arn)!;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const keys: string[] = new Array(batch.length);
    // Packets whose key cannot be rendered (bytes its Formatter cannot represent) are not put.
    const unkeyed: PacketDeliveryFailure[] = [];
    const keyed: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      const key = this.partitionKeyOf(batch[i]);
      if (typeof key === 'string') {
        keys[i] = key;
        keyed.push(i);
      } else {
        unkeyed.push({ index: i, reason: key.reason });
      }
    }
    const data = packetBytes(batch, '');
    const failed = await writeBatch(keyed.length, (indices) => this.put(data, keys, indices.map((n) => keyed[n]), indices), {
      ...this.options,
      limits: { maxEntries: KINESIS_MAX_RECORDS, maxBytes: KINESIS_MAX_REQUEST_BYTES },
      sizeOf: (n) => data[keyed[n]].length + Buffer.byteLength(keys[keyed[n]]),
      callFailureReason: (err) => `Kinesis PutRecords failed ${describeError(err)}`,
    });
    const all = unkeyed.concat(failed.map((f) => ({ index: keyed[f.index], reason: f.reason }))).sort((a, b) => a.index - b.index);
    return all.length > 0 ? { failed: all } : {};
  }

  /** The packet's partition key: the expression's, cut to Kinesis's limit, or a random one when there is none or it is empty. */
  private partitionKeyOf(packet: QueuedPacket): string | Failure {
    const compute = this.options.partitionKey;
    if (compute) {
      const payload = payloadOfPacket(packet, this.options.formatter ?? DEFAULT_FORMATTER);
      const key = payload ? compute(payload) : '';
      if (typeof key !== 'string') return key;
      if (key.length > 0) return key.length > KINESIS_MAX_PARTITION_KEY_LENGTH ? key.slice(0, KINESIS_MAX_PARTITION_KEY_LENGTH) : key;
    }
    return randomUUID();
  }

  /** Puts the packets at `packets` (batch indexes); failures name them by `ids` (indexes of writeBatch's count). */
  private async put(
    data: readonly Uint8Array[],
    keys: readonly string[],
    packets: readonly number[],
    ids: readonly number[],
  ): Promise<EntryFailure[]> {
    const records: PutRecordsRequestEntry[] = packets.map((i) => ({ Data: data[i], PartitionKey: keys[i] }));
    const out = await this.client.send(new PutRecordsCommand({ StreamName: this.streamName, Records: records }));
    const failures: EntryFailure[] = [];
    // Results are in the order of the request's records.
    out.Records?.forEach((r, n) => {
      if (r.ErrorCode) {
        failures.push({
          index: ids[n],
          reason: `Kinesis rejected the record (${r.ErrorCode}): ${r.ErrorMessage ?? 'no message'}`,
          retriable: r.ErrorCode === 'ProvisionedThroughputExceededException' || r.ErrorCode === 'InternalFailure',
        });
      }
    });
    return failures;
  }
}

/** Creates a Kinesis destination using the shared client. */
export function createKinesisDestination(record: ResolvedDestinationRecord, listener: ListenerRecord, context: DestinationContext): Destination {
  const partitionKey = packetArgumentOf(record.Arguments, 'PartitionKey');
  return new KinesisDestination(record, context.kinesisClient(), context.region, {
    partitionKey,
    formatter: record.Formatter ?? listener.Formatter ?? DEFAULT_FORMATTER,
  });
}
