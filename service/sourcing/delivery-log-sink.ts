/**
 * Writes failure records of sourced packets to each PacketSource's delivery log group
 * (`DeliveryLogGroupArn`), as JSON log events in one log stream per gateway task and log group.
 *
 * The log group belongs to the PacketSource, possibly in another account: when the binding names
 * a role (`RoleArn`, `ExternalId`), the records are written as that role (which the PacketSource
 * construct allows to write its log group); without one, with the gateway's own credentials.
 * Records are batched per log group (PutLogEvents: at most 10,000 events and 1 MiB), flushed on a
 * short timer and on {@link flush}; nothing is awaited per packet and the buffer is bounded.
 * Records that cannot be written are reported once each, as DestinationFailed.
 */
import { CloudWatchLogsClient, CreateLogStreamCommand, InputLogEvent, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { STSClient } from '@aws-sdk/client-sts';
import { failureContextOf, serializeFailureRecord } from './failure-records';
import { identityKey, packetSourceRoleCredentials, RoleCredentialsProvider } from './packet-source-role';
import { LOG_GROUP_ARN, logGroupLocationFromArn } from '../../lib/private/arn';
import type { DeliveryLogSink, DeliveryLogTarget, FailureContext, FailureReporter } from '../contracts';

/** PutLogEvents limits: events per call, bytes per call (each event counts 26 bytes more than its message). */
const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD_BYTES = 26;
/** Largest message written; longer records leave out the original message. */
const MAX_MESSAGE_BYTES = 256 * 1024 - EVENT_OVERHEAD_BYTES;

export type { RoleCredentials, RoleCredentialsProvider } from './packet-source-role';

export interface CloudWatchDeliveryLogSinkOptions {
  /** Told (as DestinationFailed) about records that could not be written. */
  readonly failures?: FailureReporter;
  /** Log stream name in every log group: one per gateway task. */
  readonly streamName: string;
  /** CloudWatch Logs client for `region`, acting with `credentials` (undefined: the gateway's own). */
  readonly logsClient?: (region: string, credentials?: RoleCredentialsProvider) => CloudWatchLogsClient;
  /** STS client that assumes PacketSource roles (the gateway's own credentials). */
  readonly sts?: STSClient;
  /** Longest time a record waits before its batch is written, in milliseconds. @default 1000 */
  readonly flushIntervalMs?: number;
  /** Records held in memory at most; further ones are dropped and reported. @default 10000 */
  readonly maxBufferedRecords?: number;
  /** Records held for one log group at most, so that one unreachable group cannot take the others' room. @default 2000 */
  readonly maxBufferedPerGroup?: number;
  /** Clock for event timestamps. @default Date.now */
  readonly now?: () => number;
}

interface PendingEvent {
  readonly event: InputLogEvent;
  readonly bytes: number;
  readonly context: FailureContext;
}

/** Where one log group's events go, and who writes them. */
interface Group {
  readonly name: string;
  readonly region: string;
  readonly target: DeliveryLogTarget;
  readonly events: PendingEvent[];
  /** Timestamp of the last event queued: events of one stream must be in order, whatever the wall clock does. */
  lastTimestamp: number;
  /** Resolves once the log stream exists (created or found). */
  stream?: Promise<void>;
  /** One PutLogEvents at a time per stream keeps events in order. */
  writing?: Promise<void>;
}

/** A {@link DeliveryLogSink} writing to CloudWatch Logs. */
export class CloudWatchDeliveryLogSink implements DeliveryLogSink {
  private readonly failures?: FailureReporter;
  private readonly streamName: string;
  private readonly logsClient: (region: string, credentials?: RoleCredentialsProvider) => CloudWatchLogsClient;
  private readonly sts: STSClient;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly maxPerGroup: number;
  private readonly now: () => number;
  private readonly groups = new Map<string, Group>();
  private readonly clients = new Map<string, CloudWatchLogsClient>();
  private buffered = 0;
  private timer?: NodeJS.Timeout;

  constructor(opts: CloudWatchDeliveryLogSinkOptions) {
    this.failures = opts.failures;
    this.streamName = opts.streamName;
    this.logsClient = opts.logsClient ?? ((region, credentials) => new CloudWatchLogsClient({ region, credentials }));
    this.sts = opts.sts ?? new STSClient({});
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.maxBuffered = opts.maxBufferedRecords ?? 10_000;
    this.maxPerGroup = opts.maxBufferedPerGroup ?? 2_000;
    this.now = opts.now ?? Date.now;
  }

  /** Queues `record` for the log group of `target`; written within the flush interval. */
  write(target: DeliveryLogTarget, record: Record<string, unknown>): void {
    const context = failureContextOf(record);
    const location = logGroupLocationFromArn(target.logGroupArn);
    if (!location) {
      this.reportLost(target.logGroupArn, context, `'${target.logGroupArn}' is not a log group ARN (${LOG_GROUP_ARN.allowed})`);
      return;
    }
    if (this.buffered >= this.maxBuffered) {
      this.reportLost(target.logGroupArn, context, `the delivery-log buffer is full (${this.maxBuffered} records waiting)`);
      return;
    }
    const key = `${target.logGroupArn}\u0000${target.roleArn ?? ''}\u0000${target.externalId ?? ''}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { name: location.name, region: location.region, target, events: [], lastTimestamp: 0 };
      this.groups.set(key, group);
    }
    if (group.events.length >= this.maxPerGroup) {
      this.reportLost(target.logGroupArn, context, `${this.maxPerGroup} records already wait for this log group`);
      return;
    }
    const message = serializeFailureRecord(record, MAX_MESSAGE_BYTES);
    const timestamp = Math.max(this.now(), group.lastTimestamp);
    group.lastTimestamp = timestamp;
    group.events.push({ event: { timestamp, message }, bytes: Buffer.byteLength(message) + EVENT_OVERHEAD_BYTES, context });
    this.buffered++;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * Writes every queued record, including records queued meanwhile, and waits until all writes
   * have completed (each request is bounded by the clients' timeouts).
   */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (;;) {
      this.drain();
      const writing = [...this.groups.values()].map((g) => g.writing).filter((w): w is Promise<void> => w !== undefined);
      if (writing.length === 0 && this.buffered === 0) return;
      await Promise.all(writing);
    }
  }

  private drain(): void {
    for (const group of this.groups.values()) {
      if (group.events.length > 0 && !group.writing) this.writeFrom(group);
    }
  }

  /** Writes the group's queued events, batch after batch, then clears `writing`. */
  private writeFrom(group: Group): void {
    const writing = (async () => {
      while (group.events.length > 0) {
        let count = 0;
        let bytes = 0;
        while (count < group.events.length && count < MAX_BATCH_EVENTS && (count === 0 || bytes + group.events[count].bytes <= MAX_BATCH_BYTES)) {
          bytes += group.events[count].bytes;
          count++;
        }
        const batch = group.events.splice(0, count);
        this.buffered -= batch.length;
        await this.put(group, batch);
      }
    })().finally(() => {
      group.writing = undefined;
    });
    group.writing = writing;
  }

  private async put(group: Group, batch: readonly PendingEvent[]): Promise<void> {
    const logEvents = batch.map((e) => e.event);
    try {
      const client = this.clientFor(group);
      let out;
      try {
        await this.streamOf(group, client);
        out = await client.send(new PutLogEventsCommand({ logGroupName: group.name, logStreamName: this.streamName, logEvents }));
      } catch (err) {
        if ((err as Error)?.name !== 'ResourceNotFoundException') throw err;
        // the stream (or the group) was deleted since it was created here: create it again, once
        group.stream = undefined;
        await this.streamOf(group, client);
        out = await client.send(new PutLogEventsCommand({ logGroupName: group.name, logStreamName: this.streamName, logEvents }));
      }
      const rejected = out.rejectedLogEventsInfo;
      if (rejected) {
        batch.forEach((r, i) => {
          const why = i < (rejected.tooOldLogEventEndIndex ?? -1) ? 'older than the log group accepts'
            : i < (rejected.expiredLogEventEndIndex ?? -1) ? 'older than the log group\'s retention'
              : i >= (rejected.tooNewLogEventStartIndex ?? Infinity) ? 'too far in the future' : undefined;
          if (why) this.reportLost(group.target.logGroupArn, r.context, `CloudWatch Logs rejected the event: ${why}`);
        });
      }
    } catch (err) {
      const e = err as Error;
      for (const r of batch) this.reportLost(group.target.logGroupArn, r.context, `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
    }
  }

  /** Resolves once this task's stream exists in the group (created here, or found). */
  private streamOf(group: Group, client: CloudWatchLogsClient): Promise<void> {
    group.stream ??= this.createStream(client, group.name).catch((err: unknown) => {
      group.stream = undefined; // try again with the next batch
      throw err;
    });
    return group.stream;
  }

  private async createStream(client: CloudWatchLogsClient, logGroupName: string): Promise<void> {
    try {
      await client.send(new CreateLogStreamCommand({ logGroupName, logStreamName: this.streamName }));
    } catch (err) {
      if ((err as Error)?.name !== 'ResourceAlreadyExistsException') throw err;
    }
  }

  private clientFor(group: Group): CloudWatchLogsClient {
    const { roleArn, externalId } = group.target;
    const key = identityKey(group.region, group.target);
    let client = this.clients.get(key);
    if (!client) {
      client = this.logsClient(group.region, roleArn ? packetSourceRoleCredentials(this.sts, roleArn, externalId, 'packet-gateway-delivery-log') : undefined);
      this.clients.set(key, client);
    }
    return client;
  }

  private reportLost(logGroupArn: string, context: FailureContext, why: string): void {
    this.failures?.report(
      { code: 'DestinationFailed', reason: `failure record not written to delivery log group ${logGroupArn}: ${why}` },
      { ...context, destination: logGroupArn },
    );
  }
}
