/**
 * Turns one SNS notification published to a PacketSource topic into datagrams sent from the
 * bound Listener (DESIGN.md "Sourced packet"): the notification's routing (EgressRegion, binding,
 * Enabled), then the message parsed by sourced-entry.ts and its datagrams handed to a
 * {@link SourcedDelivery}. Every entry that is not sent yields exactly one failure report and,
 * when the binding has a dead-letter queue or delivery log group, one failure record there. One
 * bad entry never stops the others.
 */
import { EntryRouter, SourcedDelivery, SourcedResult } from './sourced-delivery';
import { describe, parseSourcedEntry, parseSourcedMessage, SourcedEntryLimits } from './sourced-entry';
import { MetricName } from '../../lib/private/metrics';
import { formatEndpoint } from '../../lib/private/network';
import type { PacketSourceRecord } from '../../lib/private/records';
import type {
  BindingLookup,
  DeadLetterSink,
  DeliveryLogSink,
  Failure,
  FailureCode,
  FailureReporter,
  ListenerRegistry,
  MetricsRecorder,
} from '../contracts';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../listeners/listener-socket';

export type { SourcedResult } from './sourced-delivery';

/** An SNS notification, as SNS delivers it to an SQS subscription (raw message delivery off). */
export interface SnsNotification {
  /** `Notification` for published messages. */
  Type?: string;
  MessageId: string;
  TopicArn: string;
  /** The published message body: a `SourcedMessage` (lib/handler.ts) as JSON text. */
  Message: string;
  /** Publish time, ISO 8601. */
  Timestamp: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

export interface SourcedPacketProcessorOptions {
  /** Running Listeners; packets leave from the bound Listener's socket. */
  listeners: ListenerRegistry;
  /** PacketSource bindings by topic ARN. */
  bindings: BindingLookup;
  /** One report per entry that is not sent. */
  failures: FailureReporter;
  /** `SourcedSent` and `SourcedSkipped` counters. */
  metrics: MetricsRecorder;
  /** Failure records for bindings with a `DeadLetterQueueArn`. @default - none written */
  deadLetters?: DeadLetterSink;
  /** Failure records for bindings with a `DeliveryLogGroupArn`. @default - none written */
  deliveryLog?: DeliveryLogSink;
  /** Region of this gateway, compared with the `EgressRegion` attribute and the binding's HomeRegion. */
  region: string;
  /** Clock in epoch milliseconds (TtlSeconds, failure timestamps). @default Date.now */
  now?: () => number;
  /** Largest decoded payload in bytes. @default MAX_UDP_PAYLOAD_BYTES */
  maxPayloadBytes?: number;
  /** Most entries in one `Messages` array; larger messages are rejected whole. @default 1000 */
  maxEntriesPerMessage?: number;
  /** Sends not completed within this many milliseconds fail with SendFailed. @default 30000 */
  sendTimeoutMs?: number;
  /** Sends each entry from the fleet member owning its flow. @default - from this member's Listener */
  router?: EntryRouter;
}

const NOTHING: SourcedResult = Object.freeze({ sent: 0, failed: 0 });

/** Validates sourced packets and sends them from their PacketSource's Listener. */
export class SourcedPacketProcessor {
  private readonly listeners: ListenerRegistry;
  private readonly bindings: BindingLookup;
  private readonly failures: FailureReporter;
  private readonly metrics: MetricsRecorder;
  private readonly deadLetters?: DeadLetterSink;
  private readonly deliveryLog?: DeliveryLogSink;
  private readonly region: string;
  private readonly now: () => number;
  private readonly limits: SourcedEntryLimits;
  private readonly maxEntries: number;
  private readonly sendTimeoutMs: number;
  private readonly router?: EntryRouter;

  constructor(opts: SourcedPacketProcessorOptions) {
    this.listeners = opts.listeners;
    this.bindings = opts.bindings;
    this.failures = opts.failures;
    this.metrics = opts.metrics;
    this.deadLetters = opts.deadLetters;
    this.deliveryLog = opts.deliveryLog;
    this.region = opts.region;
    this.now = opts.now ?? Date.now;
    this.limits = { maxPayloadBytes: opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES };
    this.maxEntries = opts.maxEntriesPerMessage ?? 1000;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? 30_000;
    this.router = opts.router;
  }

  /** True when `topicArn` is bound to a Listener (used by the local SNS endpoint to answer NotFound). */
  hasTopic(topicArn: string): boolean {
    return this.bindings.getPacketSource(topicArn) !== undefined;
  }

  /** Every bound topic, when the bindings can be enumerated (see {@link BindingLookup.listPacketSources}). */
  listTopicArns(): readonly string[] | undefined {
    return this.bindings.listPacketSources?.().map((s) => s.TopicArn);
  }

  /**
   * Validates and sends every entry of `n`. Resolves, never rejects, once each entry has been sent
   * or reported as failed.
   */
  handle(n: SnsNotification): Promise<SourcedResult> {
    try {
      return this.process(n);
    } catch (err) {
      // Defensive: a malformed envelope that slipped past the caller's checks must not crash anything.
      this.failures.report(
        { code: 'InvalidMessage', reason: `notification could not be processed: ${(err as Error).message}` },
        { topicArn: typeof n?.TopicArn === 'string' ? n.TopicArn : undefined, messageId: typeof n?.MessageId === 'string' ? n.MessageId : undefined },
      );
      return Promise.resolve({ sent: 0, failed: 1 });
    }
  }

  private process(n: SnsNotification): Promise<SourcedResult> {
    const topicArn = n.TopicArn;
    const egress = n.MessageAttributes?.EgressRegion;
    if (egress !== undefined && egress !== null && egress.Value !== this.region) {
      if (typeof egress.Value !== 'string') {
        return this.rejectNotification(n, undefined, 'InvalidMessage', `MessageAttributes.EgressRegion must be a String attribute naming a region, got ${describe(egress.Value)}`);
      }
      this.metrics.increment(MetricName.SourcedSkipped);
      return Promise.resolve(NOTHING);
    }
    const binding = this.bindings.getPacketSource(topicArn);
    if (!binding) {
      return this.rejectNotification(n, undefined, 'UnknownTopic', `topic ${describe(topicArn)} is not bound to any Listener (no PacketSource for it)`);
    }
    if (egress === undefined && (binding.HomeRegion ?? this.region) !== this.region) {
      this.metrics.increment(MetricName.SourcedSkipped);
      return Promise.resolve(NOTHING);
    }
    if (binding.Enabled === false) {
      return this.rejectNotification(n, binding, 'SourceDisabled', `PacketSource for ${topicArn} is disabled (Enabled: false); its packets are not sent`);
    }

    const parsed = parseSourcedMessage(n.Message, this.maxEntries);
    if ('code' in parsed) return this.rejectNotification(n, binding, parsed.code, parsed.reason);
    const entries = parsed.entries;
    if (entries.length === 0) return Promise.resolve(NOTHING);

    const run = new SourcedDelivery({
      entryCount: entries.length,
      sendTimeoutMs: this.sendTimeoutMs,
      entryFailed: (index, remote, failure) => this.reportEntry(n, binding, index, entries[index], remote, failure),
      finished: (result) => this.countSent(result.sent),
      router: this.router,
      messageId: n.MessageId,
    });
    const listener = this.listeners.get(binding.ListenerName);
    const publishedAt = Date.parse(n.Timestamp);
    const now = this.now();
    for (let i = 0; i < entries.length; i++) {
      const datagram = parseSourcedEntry(entries[i], parsed.fieldOf(i), publishedAt, now, this.limits);
      if ('code' in datagram) {
        run.fail(i, datagram.remote, datagram);
        continue;
      }
      if (!listener) {
        run.fail(i, formatEndpoint(datagram.address, datagram.port), { code: 'SendFailed', reason: `Listener '${binding.ListenerName}' is not running on this gateway` });
        continue;
      }
      run.send(listener, i, datagram, this.router ? entryDeadline(entries[i], publishedAt) : 0);
    }
    return run.finish();
  }

  private rejectNotification(n: SnsNotification, binding: PacketSourceRecord | undefined, code: FailureCode, reason: string): Promise<SourcedResult> {
    this.failures.report({ code, reason }, { listener: binding?.ListenerName, topicArn: n.TopicArn, messageId: n.MessageId });
    if (binding) {
      this.record(binding, {
        code,
        reason,
        topicArn: n.TopicArn,
        messageId: n.MessageId,
        listener: binding.ListenerName,
        failedAt: new Date(this.now()).toISOString(),
        message: n.Message,
      });
    }
    return Promise.resolve({ sent: 0, failed: 1 });
  }

  /** Reports one failed entry (log record, dead-letter and delivery-log records). */
  private reportEntry(
    n: SnsNotification,
    binding: PacketSourceRecord,
    index: number,
    entry: unknown,
    remote: string | undefined,
    failure: Failure,
  ): void {
    this.failures.report(failure, { listener: binding.ListenerName, topicArn: n.TopicArn, messageId: n.MessageId, index, remote });
    this.record(binding, {
      code: failure.code,
      reason: failure.reason,
      topicArn: n.TopicArn,
      messageId: n.MessageId,
      index,
      listener: binding.ListenerName,
      remote,
      failedAt: new Date(this.now()).toISOString(),
      entry,
    });
  }

  /** Writes a failure record to the binding's dead-letter queue and delivery log group, where it has them. */
  private record(binding: PacketSourceRecord, record: Record<string, unknown>): void {
    if (binding.DeadLetterQueueArn && this.deadLetters) this.deadLetters.enqueue(binding.DeadLetterQueueArn, record);
    if (binding.DeliveryLogGroupArn && this.deliveryLog) {
      this.deliveryLog.write({ logGroupArn: binding.DeliveryLogGroupArn, roleArn: binding.RoleArn, externalId: binding.ExternalId }, record);
    }
  }

  private countSent(sent: number): void {
    if (sent > 0) this.metrics.increment(MetricName.SourcedSent, sent);
  }
}

/** Epoch ms at which a valid entry's TtlSeconds elapses; 0 when it has none. */
function entryDeadline(entry: unknown, publishedAt: number): number {
  const ttl = (entry as { TtlSeconds?: unknown }).TtlSeconds;
  return typeof ttl === 'number' && ttl > 0 && !Number.isNaN(publishedAt) ? publishedAt + ttl * 1000 : 0;
}
