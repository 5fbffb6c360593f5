/**
 * Amazon CloudWatch Logs: one log event per packet, as Proxylity writes them: the message is the
 * packet's `Data` (the payload in the destination's Formatter; `utf8` gives the payload as text),
 * the timestamp its receive time. Events go to one log stream per Listener, destination and
 * gateway task, `packet-gateway/<listener>/<destination>/<task>`, created on first use (and again
 * if it is deleted).
 *
 * `PutLogEvents` takes at most 10,000 events and 1 MiB per call (each event counts 26 bytes more
 * than its UTF-8 message), in chronological order, spanning at most 24 hours: the batch is sorted
 * by receive time and cut into calls within those limits. Events the service reports as rejected
 * (`rejectedLogEventsInfo`: too old, expired, too new) are failed packets; they would be rejected
 * again, so they are not retried. An empty payload gives no event (CloudWatch Logs refuses empty
 * messages) and fails its packet.
 */
import { CloudWatchLogsClient, CreateLogStreamCommand, InputLogEvent, PutLogEventsCommand, RejectedLogEventsInfo } from '@aws-sdk/client-cloudwatch-logs';
import { Destination, DestinationContext, DeliveryResult, PacketDeliveryFailure } from './destination';
import type { QueuedPacket } from './packet';
import { taskLabel } from './task-label';
import { logGroupLocationFromArn, LOG_GROUP_ARN } from '../../lib/private/arn';
import type { ResolvedDestinationRecord, ListenerRecord } from '../../lib/private/records';

/** PutLogEvents limits. */
export const LOGS_MAX_EVENTS = 10_000;
export const LOGS_MAX_BATCH_BYTES = 1_048_576;
export const LOGS_EVENT_OVERHEAD_BYTES = 26;
/** Largest event message (UTF-8 bytes). */
export const LOGS_MAX_MESSAGE_BYTES = 256 * 1024 - LOGS_EVENT_OVERHEAD_BYTES;
/** Longest time between the first and last event of one call. */
export const LOGS_MAX_SPAN_MS = 24 * 60 * 60 * 1000;

interface PendingEvent {
  readonly index: number;
  readonly event: InputLogEvent;
  readonly bytes: number;
}

export class CloudWatchLogsDestination implements Destination {
  public readonly type = 'logs' as const;
  public readonly name: string;
  public readonly logGroupName: string;
  public readonly logStreamName: string;
  private stream?: Promise<void>;

  /** `streamName` names this task's log stream. @default `packet-gateway/<listener>/<destination>/<task label>` */
  public constructor(record: ResolvedDestinationRecord, listenerName: string, private readonly client: CloudWatchLogsClient, streamName?: string) {
    this.name = record.Name;
    const group = record.Arn === undefined ? undefined : logGroupLocationFromArn(record.Arn);
    if (!group) throw new Error(`Arn ${JSON.stringify(record.Arn)} is not a log group ARN (allowed: ${LOG_GROUP_ARN.allowed})`);
    this.logGroupName = group.name;
    this.logStreamName = streamName ?? `packet-gateway/${listenerName}/${record.Name}/${taskLabel()}`;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const failed: PacketDeliveryFailure[] = [];
    const events: PendingEvent[] = [];
    for (let index = 0; index < batch.length; index++) {
      const p = batch[index];
      if (p.data.length === 0) {
        failed.push({ index, reason: 'the payload is empty and CloudWatch Logs does not accept empty log events' });
        continue;
      }
      const bytes = Buffer.byteLength(p.data, 'utf8');
      if (bytes > LOGS_MAX_MESSAGE_BYTES) {
        failed.push({ index, reason: `the log event would take ${bytes} bytes (allowed: at most ${LOGS_MAX_MESSAGE_BYTES})` });
        continue;
      }
      events.push({ index, event: { timestamp: p.receivedAt, message: p.data }, bytes: bytes + LOGS_EVENT_OVERHEAD_BYTES });
    }
    // chronological order within each call; stable, so packets of one millisecond keep their order
    events.sort((a, b) => a.event.timestamp! - b.event.timestamp!);
    const calls: Promise<PacketDeliveryFailure[]>[] = [];
    let start = 0;
    while (start < events.length) {
      let end = start;
      let bytes = 0;
      const first = events[start].event.timestamp!;
      while (end < events.length && end - start < LOGS_MAX_EVENTS
        && (end === start || (bytes + events[end].bytes <= LOGS_MAX_BATCH_BYTES && events[end].event.timestamp! - first <= LOGS_MAX_SPAN_MS))) {
        bytes += events[end].bytes;
        end++;
      }
      calls.push(this.put(events.slice(start, end)));
      start = end;
    }
    for (const f of await Promise.all(calls)) failed.push(...f);
    return failed.length > 0 ? { failed } : {};
  }

  /** One PutLogEvents call; the failures of its events. */
  private async put(events: readonly PendingEvent[]): Promise<PacketDeliveryFailure[]> {
    const logEvents = events.map((e) => e.event);
    try {
      let out;
      try {
        await this.streamExists();
        out = await this.client.send(new PutLogEventsCommand({ logGroupName: this.logGroupName, logStreamName: this.logStreamName, logEvents }));
      } catch (err) {
        if ((err as Error)?.name !== 'ResourceNotFoundException') throw err;
        // the stream was deleted since it was created here: create it again, once
        this.stream = undefined;
        await this.streamExists();
        out = await this.client.send(new PutLogEventsCommand({ logGroupName: this.logGroupName, logStreamName: this.logStreamName, logEvents }));
      }
      return out.rejectedLogEventsInfo ? rejectedEvents(events, out.rejectedLogEventsInfo) : [];
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const reason = `CloudWatch Logs PutLogEvents failed (${e?.name ?? 'Error'}): ${e?.message ?? String(err)}`;
      return events.map((ev) => ({ index: ev.index, reason }));
    }
  }

  /** Resolves once this task's log stream exists (created here, or found). */
  private streamExists(): Promise<void> {
    this.stream ??= this.createStream().catch((err: unknown) => {
      this.stream = undefined; // try again with the next call
      throw err;
    });
    return this.stream;
  }

  private async createStream(): Promise<void> {
    try {
      await this.client.send(new CreateLogStreamCommand({ logGroupName: this.logGroupName, logStreamName: this.logStreamName }));
    } catch (err) {
      if ((err as Error)?.name !== 'ResourceAlreadyExistsException') throw err;
    }
  }
}

/** The events of a call that CloudWatch Logs reported as rejected, with the reason it gave. */
function rejectedEvents(events: readonly PendingEvent[], info: RejectedLogEventsInfo): PacketDeliveryFailure[] {
  const failed: PacketDeliveryFailure[] = [];
  events.forEach((e, i) => {
    const why = i < (info.tooOldLogEventEndIndex ?? -1) ? 'older than the log group accepts (14 days)'
      : i < (info.expiredLogEventEndIndex ?? -1) ? 'older than the log group\'s retention'
        : i >= (info.tooNewLogEventStartIndex ?? Infinity) ? 'more than 2 hours in the future' : undefined;
    if (why) failed.push({ index: e.index, reason: `CloudWatch Logs rejected the log event: ${why}` });
  });
  return failed;
}

/** Creates a CloudWatch Logs destination with the client of the log group's region. */
export function createCloudWatchLogsDestination(
  record: ResolvedDestinationRecord, listener: ListenerRecord, context: DestinationContext,
): Destination {
  const group = record.Arn === undefined ? undefined : logGroupLocationFromArn(record.Arn);
  if (!group) throw new Error(`Arn ${JSON.stringify(record.Arn)} is not a log group ARN (allowed: ${LOG_GROUP_ARN.allowed})`);
  return new CloudWatchLogsDestination(record, listener.Name, context.cloudWatchLogsClient(group.region));
}
