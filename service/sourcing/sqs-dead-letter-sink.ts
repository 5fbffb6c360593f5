/**
 * Sends failure records of sourced packets to each PacketSource's dead-letter queue, in
 * SendMessageBatch calls of up to 10 records, flushed on a short timer and on {@link flush}.
 * Nothing here is awaited per packet; the buffer is bounded.
 *
 * The queue belongs to the PacketSource, possibly in another account: when the binding names a
 * role (`RoleArn`, `ExternalId`), the records are sent as that role (which the PacketSource
 * construct allows to send to its queue, and to use the queue's KMS key); without one (local
 * mode), with the gateway's own credentials. The fleet has no permission on other queues.
 */
import { SendMessageBatchCommand, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { queueLocationFromArn } from '../../lib/private/arn';
import type { DeadLetterSink, FailureContext, FailureReporter } from '../contracts';
import { failureContextOf, serializeFailureRecord } from './failure-records';
import { identityKey, packetSourceRoleCredentials, PacketSourceIdentity, RoleCredentialsProvider } from './packet-source-role';

/** SQS limits: 10 messages per batch, 256 KiB per message and per batch. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;
/** Room left for the message attributes that accompany each body. */
const MAX_BODY_BYTES = MAX_BATCH_BYTES - 1024;

export interface SqsDeadLetterSinkOptions {
  /** Client for the gateway's own region; also used for queues in that region. */
  readonly sqs: SQSClient;
  /** Told (as DestinationFailed) about records that could not be delivered to their queue. */
  readonly failures?: FailureReporter;
  /** Client for a queue in another region, with the gateway's own credentials. @default - a new SQSClient for that region, kept for reuse */
  readonly clientForRegion?: (region: string) => SQSClient;
  /** Client for `region` acting with `credentials` (a PacketSource's role). @default - a new SQSClient, kept for reuse */
  readonly clientAs?: (region: string, credentials: RoleCredentialsProvider) => SQSClient;
  /** STS client that assumes PacketSource roles (the gateway's own credentials). @default - a new STSClient */
  readonly sts?: STSClient;
  /** Longest time a record waits before its batch is sent, in milliseconds. @default 100 */
  readonly flushIntervalMs?: number;
  /** Records held in memory at most; further ones are dropped and reported. @default 10000 */
  readonly maxBufferedRecords?: number;
}

/** Records waiting for one queue, to be sent as one identity. */
interface Outbox {
  readonly queueArn: string;
  readonly sender?: PacketSourceIdentity;
  readonly records: QueuedRecord[];
}

interface QueuedRecord {
  readonly body: string;
  readonly bytes: number;
  readonly code: string;
  readonly context: FailureContext;
}

/** A {@link DeadLetterSink} writing JSON failure records to SQS queues named by ARN. */
export class SqsDeadLetterSink implements DeadLetterSink {
  private readonly sqs: SQSClient;
  private readonly failures?: FailureReporter;
  private readonly clientForRegion: (region: string) => SQSClient;
  private readonly clientAs: (region: string, credentials: RoleCredentialsProvider) => SQSClient;
  private readonly sts: () => STSClient;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly queues = new Map<string, Outbox>();
  private readonly clients = new Map<string, SQSClient>();
  private readonly inFlight = new Set<Promise<void>>();
  private ownRegion?: Promise<string>;
  private buffered = 0;
  private timer?: NodeJS.Timeout;

  constructor(opts: SqsDeadLetterSinkOptions) {
    this.sqs = opts.sqs;
    this.failures = opts.failures;
    this.clientForRegion = opts.clientForRegion ?? ((region) => new SQSClient({ region }));
    this.clientAs = opts.clientAs ?? ((region, credentials) => new SQSClient({ region, credentials }));
    let sts = opts.sts;
    this.sts = () => (sts ??= new STSClient({}));
    this.flushIntervalMs = opts.flushIntervalMs ?? 100;
    this.maxBuffered = opts.maxBufferedRecords ?? 10_000;
  }

  /**
   * Queues `record` for `queueArn`, to be sent as `sender` (the PacketSource's role); sent within
   * the flush interval, or at once when a batch is full.
   */
  enqueue(queueArn: string, record: Record<string, unknown>, sender?: PacketSourceIdentity): void {
    const context = failureContextOf(record);
    const code = typeof record.code === 'string' ? record.code : 'Unknown';
    if (this.buffered >= this.maxBuffered) {
      this.reportLost(queueArn, context, `the dead-letter buffer is full (${this.maxBuffered} records waiting)`);
      return;
    }
    const body = serializeFailureRecord(record, MAX_BODY_BYTES);
    const key = identityKey(queueArn, sender);
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { queueArn, sender: sender?.roleArn ? sender : undefined, records: [] };
      this.queues.set(key, queue);
    }
    queue.records.push({ body, bytes: Buffer.byteLength(body), code, context });
    this.buffered++;
    if (queue.records.length >= MAX_BATCH_ENTRIES) {
      this.sendFrom(key, queue);
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Sends every queued record and waits until all sends, including earlier ones, have completed. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.drain();
    while (this.inFlight.size > 0) {
      await Promise.all([...this.inFlight]);
    }
  }

  private drain(): void {
    for (const [key, queue] of this.queues) {
      while (queue.records.length > 0) this.sendFrom(key, queue);
    }
  }

  /** Takes one batch (≤ 10 records, ≤ 256 KiB) off the front of `queue` and sends it. */
  private sendFrom(key: string, queue: Outbox): void {
    const records = queue.records;
    let count = 0;
    let bytes = 0;
    while (count < records.length && count < MAX_BATCH_ENTRIES && (count === 0 || bytes + records[count].bytes <= MAX_BATCH_BYTES)) {
      bytes += records[count].bytes;
      count++;
    }
    const batch = records.splice(0, count);
    this.buffered -= batch.length;
    if (records.length === 0) this.queues.delete(key);
    const sending = this.sendBatch(queue.queueArn, queue.sender, batch).finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  private async sendBatch(queueArn: string, sender: PacketSourceIdentity | undefined, batch: readonly QueuedRecord[]): Promise<void> {
    let location;
    try {
      location = queueLocationFromArn(queueArn);
    } catch (err) {
      for (const r of batch) this.reportLost(queueArn, r.context, (err as Error).message);
      return;
    }
    const entries: SendMessageBatchRequestEntry[] = batch.map((r, i) => ({
      Id: String(i),
      MessageBody: r.body,
      MessageAttributes: { FailureCode: { DataType: 'String', StringValue: r.code } },
    }));
    try {
      const client = sender?.roleArn ? this.clientOf(location.region, sender.roleArn, sender.externalId) : await this.clientFor(location.region);
      const out = await client.send(new SendMessageBatchCommand({ QueueUrl: location.queueUrl, Entries: entries }));
      for (const failed of out.Failed ?? []) {
        const r = batch[Number(failed.Id)];
        if (r) this.reportLost(queueArn, r.context, `SQS rejected the record (${failed.Code ?? 'unknown error'}: ${failed.Message ?? 'no message'})`);
      }
    } catch (err) {
      const e = err as Error;
      for (const r of batch) this.reportLost(queueArn, r.context, `SendMessageBatch failed (${e.name}: ${e.message})`);
    }
  }

  private async clientFor(region: string): Promise<SQSClient> {
    this.ownRegion ??= Promise.resolve(this.sqs.config.region()).catch(() => '');
    if (region === (await this.ownRegion)) return this.sqs;
    let client = this.clients.get(region);
    if (!client) {
      client = this.clientForRegion(region);
      this.clients.set(region, client);
    }
    return client;
  }

  /** A client of `region` acting as the PacketSource's role; kept per region and role. */
  private clientOf(region: string, roleArn: string, externalId: string | undefined): SQSClient {
    const key = identityKey(region, { roleArn, externalId });
    let client = this.clients.get(key);
    if (!client) {
      client = this.clientAs(region, packetSourceRoleCredentials(this.sts(), roleArn, externalId, 'packet-gateway-dead-letter'));
      this.clients.set(key, client);
    }
    return client;
  }

  private reportLost(queueArn: string, context: FailureContext, why: string): void {
    this.failures?.report(
      { code: 'DestinationFailed', reason: `failure record not written to dead-letter queue ${queueArn}: ${why}` },
      { ...context, destination: queueArn },
    );
  }
}
