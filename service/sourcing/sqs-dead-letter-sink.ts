/**
 * Sends failure records of sourced packets to each PacketSource's dead-letter queue, in
 * SendMessageBatch calls of up to 10 records, flushed on a short timer and on {@link flush}.
 * Nothing here is awaited per packet; the buffer is bounded. Each record's promise tells whether
 * the queue accepted it: records that fail for a reason that may pass (throttling, a network or
 * server error) are sent again after a growing pause, a bounded number of times. Queue URLs are
 * built on the endpoint the SQS client resolves (`AWS_ENDPOINT_URL_SQS`, FIPS, VPC endpoints).
 *
 * The queue belongs to the PacketSource, possibly in another account: when the binding names a
 * role (`RoleArn`, `ExternalId`), the records are sent as that role (which the PacketSource
 * construct allows to send to its queue, and to use the queue's KMS key); without one (local
 * mode), with the gateway's own credentials. The fleet has no permission on other queues.
 */
import { SendMessageBatchCommand, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { isThrottlingError } from '@smithy/core/retry';
import { queueLocationFromArn } from '../../lib/private/arn';
import { sqsEndpointUrl } from '../aws-clients';
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
  /**
   * Pauses before each further attempt of a record SQS did not take for a reason that may pass,
   * in milliseconds; their count bounds the attempts. @default [200, 1000, 3000]
   */
  readonly retryDelaysMs?: readonly number[];
}

/** Errors of SendMessageBatch that another attempt cannot fix (the message stays for redelivery instead). */
const PERMANENT_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'InvalidAddress',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);

/** Throttling, which passes: the SDK's own classification, and SQS's throttling by KMS (a client fault the SDK does not list). */
function isThrottling(err: Error): boolean {
  return err.name === 'KmsThrottled' || isThrottlingError(err as Parameters<typeof isThrottlingError>[0]);
}

interface QueuedRecord {
  readonly body: string;
  readonly bytes: number;
  readonly code: string;
  readonly context: FailureContext;
  /** Attempts made so far. */
  attempts: number;
  /** Settles the record's promise: true when the queue accepted it. */
  readonly settle: (accepted: boolean) => void;
}

/** Records waiting for one queue, to be sent as one identity. */
interface Outbox {
  readonly queueArn: string;
  readonly sender?: PacketSourceIdentity;
  readonly records: QueuedRecord[];
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
  private readonly retryDelaysMs: readonly number[];
  private readonly endpoints = new Map<SQSClient, Promise<string>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
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
    this.retryDelaysMs = opts.retryDelaysMs ?? [200, 1_000, 3_000];
  }

  /**
   * Queues `record` for `queueArn`, to be sent as `sender` (the PacketSource's role); sent within
   * the flush interval, or at once when a batch is full. Resolves true once the queue accepted it,
   * false when it was reported lost.
   */
  enqueue(queueArn: string, record: Record<string, unknown>, sender?: PacketSourceIdentity): Promise<boolean> {
    const context = failureContextOf(record);
    const code = typeof record.code === 'string' ? record.code : 'Unknown';
    if (this.buffered >= this.maxBuffered) {
      this.reportLost(queueArn, context, `the dead-letter buffer is full (${this.maxBuffered} records waiting)`);
      return Promise.resolve(false);
    }
    const body = serializeFailureRecord(record, MAX_BODY_BYTES);
    let settle!: (accepted: boolean) => void;
    const accepted = new Promise<boolean>((resolve) => (settle = resolve));
    this.push(queueArn, sender?.roleArn ? sender : undefined, { body, bytes: Buffer.byteLength(body), code, context, attempts: 0, settle });
    return accepted;
  }

  private push(queueArn: string, sender: PacketSourceIdentity | undefined, record: QueuedRecord): void {
    const key = identityKey(queueArn, sender);
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { queueArn, sender, records: [] };
      this.queues.set(key, queue);
    }
    queue.records.push(record);
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

  /**
   * Sends every queued record and waits until all sends, including earlier ones and their
   * retries, have completed.
   */
  async flush(): Promise<void> {
    do {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.drain();
      while (this.inFlight.size > 0) {
        await Promise.all([...this.inFlight]);
      }
      if (this.retryTimers.size > 0) await new Promise((r) => setTimeout(r, 10));
    } while (this.inFlight.size > 0 || this.retryTimers.size > 0 || this.buffered > 0);
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
    let client: SQSClient;
    try {
      const region = queueLocationFromArn(queueArn).region;
      client = sender?.roleArn ? this.clientOf(region, sender.roleArn, sender.externalId) : await this.clientFor(region);
      location = queueLocationFromArn(queueArn, await this.endpointOf(client));
    } catch (err) {
      for (const r of batch) this.lose(queueArn, r, (err as Error).message);
      return;
    }
    const entries: SendMessageBatchRequestEntry[] = batch.map((r, i) => ({
      Id: String(i),
      MessageBody: r.body,
      MessageAttributes: { FailureCode: { DataType: 'String', StringValue: r.code } },
    }));
    for (const r of batch) r.attempts++;
    try {
      const out = await client.send(new SendMessageBatchCommand({ QueueUrl: location.queueUrl, Entries: entries }));
      const failedIds = new Set<number>();
      for (const failed of out.Failed ?? []) {
        const r = batch[Number(failed.Id)];
        if (!r) continue;
        failedIds.add(Number(failed.Id));
        const why = `SQS rejected the record (${failed.Code ?? 'unknown error'}: ${failed.Message ?? 'no message'})`;
        if (failed.SenderFault) this.lose(queueArn, r, why);
        else this.retryOrLose(queueArn, sender, r, why);
      }
      for (let i = 0; i < batch.length; i++) if (!failedIds.has(i)) batch[i].settle(true);
    } catch (err) {
      const e = err as Error & { $fault?: string };
      const why = `SendMessageBatch failed (${e?.name}: ${e?.message})`;
      // SQS models its throttling errors (RequestThrottled, KmsThrottled) as client faults: they pass
      const permanent = PERMANENT_ERRORS.has(e?.name) || (e?.$fault === 'client' && !isThrottling(e));
      for (const r of batch) {
        if (permanent) this.lose(queueArn, r, why);
        else this.retryOrLose(queueArn, sender, r, why);
      }
    }
  }

  /** Queues `record` again after the next retry pause, or reports it lost when the attempts are used up. */
  private retryOrLose(queueArn: string, sender: PacketSourceIdentity | undefined, record: QueuedRecord, why: string): void {
    const delay = this.retryDelaysMs[record.attempts - 1];
    if (delay === undefined) {
      this.lose(queueArn, record, `${why}; gave up after ${record.attempts} attempts`);
      return;
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.push(queueArn, sender, record);
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }

  private lose(queueArn: string, record: QueuedRecord, why: string): void {
    this.reportLost(queueArn, record.context, why);
    record.settle(false);
  }

  /** The SQS endpoint of `client`, resolved once. */
  private endpointOf(client: SQSClient): Promise<string> {
    let endpoint = this.endpoints.get(client);
    if (!endpoint) {
      endpoint = sqsEndpointUrl(client);
      endpoint.catch(() => this.endpoints.delete(client));
      this.endpoints.set(client, endpoint);
    }
    return endpoint;
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
    try {
      this.failures?.report(
        { code: 'DestinationFailed', reason: `failure record not written to dead-letter queue ${queueArn}: ${why}` },
        { ...context, destination: queueArn },
      );
    } catch {
      // a reporter that throws must not stop the other records
    }
  }
}
