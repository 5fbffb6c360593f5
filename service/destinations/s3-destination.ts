/**
 * Amazon S3: one object per batch, newline-delimited JSON (one packet per line, each line ending
 * in `\n`, content type `application/x-ndjson`), as Proxylity writes them. Object keys are
 * `KeyPrefix` + `KeyFormat` (lib/private/s3-object-key.ts), rendered when the object is written;
 * the default layout is
 * `<listener>/<destination>/yyyy/MM/dd/HH/yyyyMMddTHHmmssZ-<task>-<unique>.ndjson`.
 *
 * A batch is one `PutObject` (at most the batch size, 6 MiB, far under S3's 5 GB): it is written
 * whole or not at all. The SDK retries throttling and server errors; a call that still fails
 * fails every packet of the batch.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Destination, DestinationContext, DeliveryResult } from './destination';
import type { QueuedPacket } from './packet';
import { taskLabel } from './task-label';
import { bucketNameFromArn, S3_BUCKET_ARN } from '../../lib/private/arn';
import type { ResolvedDestinationRecord, ListenerRecord } from '../../lib/private/records';
import { S3_DEFAULT_KEY_FORMAT, S3ObjectKeys } from '../../lib/private/s3-object-key';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

export interface S3DestinationOptions {
  /** Time of the object keys, epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** `{task}` of the object keys. @default taskLabel() */
  readonly task?: string;
}

export class S3Destination implements Destination {
  public readonly type = 's3' as const;
  public readonly name: string;
  public readonly bucket: string;
  private readonly keys: S3ObjectKeys;
  private readonly now: () => number;

  public constructor(record: ResolvedDestinationRecord, listenerName: string, private readonly client: S3Client, options: S3DestinationOptions = {}) {
    this.name = record.Name;
    const bucket = record.Arn === undefined ? undefined : bucketNameFromArn(record.Arn);
    if (!bucket) throw new Error(`Arn ${JSON.stringify(record.Arn)} is not an S3 bucket ARN (allowed: ${S3_BUCKET_ARN.allowed})`);
    this.bucket = bucket;
    this.keys = new S3ObjectKeys(record.Arguments?.KeyPrefix ?? '', record.Arguments?.KeyFormat ?? S3_DEFAULT_KEY_FORMAT, {
      listener: listenerName,
      destination: record.Name,
      task: options.task ?? taskLabel(),
    });
    this.now = options.now ?? Date.now;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    if (batch.length === 0) return {};
    let body = '';
    for (const p of batch) body += p.json + '\n';
    const key = this.keys.key(this.now(), randomBytes(8).toString('hex'));
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: NDJSON_CONTENT_TYPE }));
      return {};
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const reason = `S3 PutObject of ${key} failed (${e?.name ?? 'Error'}): ${e?.message ?? String(err)}`;
      return { failed: batch.map((_, index) => ({ index, reason })) };
    }
  }
}

/** Creates an S3 destination using the shared client. */
export function createS3Destination(record: ResolvedDestinationRecord, listener: ListenerRecord, context: DestinationContext): Destination {
  return new S3Destination(record, listener.Name, context.s3Client());
}
