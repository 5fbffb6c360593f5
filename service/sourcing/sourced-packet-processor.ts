/**
 * Turns one SNS notification published to a PacketSource topic into datagrams sent from the
 * bound Listener (DESIGN.md "Sourced packet"): the notification's routing (EgressRegion, binding,
 * Enabled), then the message parsed by sourced-entry.ts and its datagrams handed to a
 * {@link SourcedDelivery}. Every entry that is not sent yields exactly one failure report and,
 * when the binding has a dead-letter queue or delivery log group, one failure record there. One
 * bad entry never stops the others, and nothing a record, a reporter, a sink or a Listener throws
 * escapes a packet's handling. Records carry a bounded copy of the entry (failure-records.ts),
 * never the publisher's value itself.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { recordedEntry, recordedMessage } from './failure-records';
import { SendDeadlines } from './send-deadlines';
import { deliverResult, EntryRouter, SourcedDelivery, SourcedResult } from './sourced-delivery';
import { describe, hasTimeToLive, parseSourcedEntry, parseSourcedMessage, SourcedEntryLimits } from './sourced-entry';
import { FORWARDED_ENTRIES_ATTRIBUTE, parseForwardedEntries } from '../../lib/private/global-forwarding';
import { MetricName } from '../../lib/private/metrics';
import { formatEndpoint } from '../../lib/private/network';
import type { PacketSourceRecord } from '../../lib/private/records';
import type {
  BindingLookup,
  DeadLetterSink,
  DeliveryLogSink,
  Failure,
  FailureCode,
  FailureContext,
  FailureReporter,
  ListenerRegistry,
  MetricsRecorder,
} from '../contracts';
import { DEFAULT_FAILURE_LOGS_PER_SECOND, FailureLogLimiter } from '../listeners/failure-log-limiter';
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
  /**
   * Rate limit of failure log records, per Listener: at most `perSecond` records a second are
   * logged, the rest counted (metric `Failures`, exact) and summarised once a second through
   * `logger`. Dead-letter and delivery-log records stay one per packet.
   * @default - every failure is logged
   */
  failureLog?: SourcedFailureLogOptions;
  /** Sends each entry from the fleet member owning its flow. @default - from this member's Listener */
  router?: EntryRouter;
}

/** How sourced failure logs are rate-limited. */
export interface SourcedFailureLogOptions {
  readonly logger: Pick<Logger, 'warn'>;
  /** @default DEFAULT_FAILURE_LOGS_PER_SECOND */
  readonly perSecond?: number;
}

/** Name under which failures of messages bound to no Listener are rate-limited. */
const NO_LISTENER = '(no listener)';

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
  /** Every entry of a message is sent or failed within this many milliseconds of its handling's start. */
  public readonly sendTimeoutMs: number;
  /** The send timeouts of every delivery in progress, under one timer. */
  private readonly deadlines: SendDeadlines;
  private readonly failureLog?: SourcedFailureLogOptions;
  /** One limiter per Listener name (bounded by the configuration). */
  private readonly limiters = new Map<string, FailureLogLimiter>();
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
    this.deadlines = new SendDeadlines(this.sendTimeoutMs);
    this.failureLog = opts.failureLog;
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
   * or reported as failed. `forwardedEntries` (the delivery-queue message's
   * `PacketGatewayForwardedEntries` attribute) marks a notification another region forwarded here
   * because this region owns the clients' flows: only the entries it lists are sent, whatever the
   * routing of the original message, and none is forwarded again.
   */
  handle(n: SnsNotification, forwardedEntries?: string): Promise<SourcedResult> {
    return new Promise((resolve) => this.handleThen(n, forwardedEntries, resolve));
  }

  /**
   * {@link handle} without a promise: `done` is called once, with the outcome, when each entry has
   * been sent or reported as failed and its dead-letter records answered (synchronously, before
   * this returns, when nothing was left pending). A `done` that throws is ignored.
   */
  handleThen(n: SnsNotification, forwardedEntries: string | undefined, done: (result: SourcedResult) => void): void {
    const records: Array<Promise<boolean>> = [];
    const finished = (result: SourcedResult): void => {
      if (records.length === 0) deliverResult(done, result);
      else void withRecordOutcome(result, records).then((r) => deliverResult(done, r));
    };
    let result: SourcedResult | undefined;
    try {
      result = this.process(n, records, finished, forwardedEntries);
    } catch (err) {
      // Defensive: a malformed envelope that slipped past the caller's checks must not crash anything.
      this.report(
        { code: 'InvalidMessage', reason: `notification could not be processed: ${errorText(err)}` },
        { topicArn: typeof n?.TopicArn === 'string' ? n.TopicArn : undefined, messageId: typeof n?.MessageId === 'string' ? n.MessageId : undefined },
      );
      result = { sent: 0, failed: 1 };
    }
    if (result) finished(result);
  }

  /**
   * Routes, validates and hands over the entries of `n`. Returns the outcome when it is known at
   * once; otherwise the delivery calls `finished` when its sends have completed.
   */
  private process(
    n: SnsNotification,
    records: Array<Promise<boolean>>,
    finished: (result: SourcedResult) => void,
    forwardedEntries?: string,
  ): SourcedResult | undefined {
    const topicArn = n.TopicArn;
    const egress = n.MessageAttributes?.EgressRegion;
    const forwarded = forwardedEntries !== undefined;
    if (!forwarded && egress !== undefined && egress !== null && egress.Value !== this.region) {
      if (typeof egress.Value !== 'string') {
        return this.rejectNotification(n, undefined, records, 'InvalidMessage', `MessageAttributes.EgressRegion must be a String attribute naming a region, got ${describe(egress.Value)}`);
      }
      const named = this.bindings.getPacketSource(topicArn);
      // The home region's gateway receives every message (its subscription has no filter) and answers for regions without a gateway.
      const regions = named?.EgressRegions;
      if (named && regions && (named.HomeRegion ?? this.region) === this.region && !regions.includes(egress.Value)) {
        return this.rejectNotification(n, named, records, 'UnknownRegion', `MessageAttributes.EgressRegion ${describe(egress.Value)} names a region without a gateway `
          + `for this PacketSource (allowed: ${regions.join(', ')})`);
      }
      this.metrics.increment(MetricName.SourcedSkipped);
      return NOTHING;
    }
    const binding = this.bindings.getPacketSource(topicArn);
    if (!binding) {
      return this.rejectNotification(n, undefined, records, 'UnknownTopic', `topic ${describe(topicArn)} is not bound to any Listener (no PacketSource for it)`);
    }
    if (!forwarded && egress === undefined && (binding.HomeRegion ?? this.region) !== this.region) {
      this.metrics.increment(MetricName.SourcedSkipped);
      return NOTHING;
    }
    if (binding.Enabled === false) {
      return this.rejectNotification(n, binding, records, 'SourceDisabled', `PacketSource for ${topicArn} is disabled (Enabled: false); its packets are not sent`);
    }

    const parsed = parseSourcedMessage(n.Message, this.maxEntries);
    if ('code' in parsed) return this.rejectNotification(n, binding, records, parsed.code, parsed.reason);
    const entries = parsed.entries;
    if (entries.length === 0) return NOTHING;
    const only = forwarded ? parseForwardedEntries(forwardedEntries, entries.length) : undefined;
    if (forwarded && !only) {
      return this.rejectNotification(n, binding, records, 'InvalidMessage', `message attribute ${FORWARDED_ENTRIES_ATTRIBUTE} must list entry indexes `
        + `below ${entries.length} separated by commas, got ${describe(forwardedEntries)}`);
    }

    const run = new SourcedDelivery({
      entryCount: entries.length,
      deadlines: this.deadlines,
      entryFailed: (index, remote, failure) => this.reportEntry(n, binding, records, index, entries[index], remote, failure),
      finished: (result) => this.countSent(result.sent),
      router: this.router,
      messageId: n.MessageId,
      // entries of a message without EgressRegion may go on to the region that owns their flow, once
      ...(egress === undefined && !forwarded ? { notification: n } : {}),
    });
    const listener = this.listeners.get(binding.ListenerName);
    // the publish time and the clock matter only to entries with TtlSeconds: read at the first one
    let timed = false;
    let publishedAt = Number.NaN;
    let now = 0;
    for (let i = 0; i < entries.length; i++) {
      if (only && !only.has(i)) continue; // sent or reported by the region that forwarded the rest
      let datagram: ReturnType<typeof parseSourcedEntry>;
      try {
        if (!timed && hasTimeToLive(entries[i])) {
          timed = true;
          publishedAt = Date.parse(n.Timestamp);
          now = this.now();
        }
        datagram = parseSourcedEntry(entries[i], parsed.fieldOf(i), publishedAt, now, this.limits);
      } catch (err) {
        run.fail(i, undefined, { code: 'InvalidMessage', reason: `${parsed.fieldOf(i) || 'message'} could not be read: ${errorText(err)}` });
        continue;
      }
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
    run.finishThen(finished);
    return undefined;
  }

  private rejectNotification(
    n: SnsNotification,
    binding: PacketSourceRecord | undefined,
    records: Array<Promise<boolean>>,
    code: FailureCode,
    reason: string,
  ): SourcedResult {
    this.report({ code, reason }, { listener: binding?.ListenerName, topicArn: n.TopicArn, messageId: n.MessageId });
    if (binding) {
      this.record(binding, records, {
        code,
        reason,
        topicArn: n.TopicArn,
        messageId: n.MessageId,
        listener: binding.ListenerName,
        failedAt: new Date(this.now()).toISOString(),
        message: recordedMessage(n.Message),
      });
    }
    return { sent: 0, failed: 1 };
  }

  /** Reports one failed entry (log record, dead-letter and delivery-log records). */
  private reportEntry(
    n: SnsNotification,
    binding: PacketSourceRecord,
    records: Array<Promise<boolean>>,
    index: number,
    entry: unknown,
    remote: string | undefined,
    failure: Failure,
  ): void {
    this.report(failure, { listener: binding.ListenerName, topicArn: n.TopicArn, messageId: n.MessageId, index, remote });
    this.record(binding, records, {
      code: failure.code,
      reason: failure.reason,
      topicArn: n.TopicArn,
      messageId: n.MessageId,
      index,
      listener: binding.ListenerName,
      remote,
      failedAt: new Date(this.now()).toISOString(),
      entry: recordedEntry(entry),
    });
  }

  /** Passes a failure to the reporter; a reporter that throws is not allowed to stop the packet's handling. */
  private report(failure: Failure, context: FailureContext): void {
    try {
      if (this.failureLog) this.limiterFor(context.listener ?? NO_LISTENER).reportWithContext(failure, context);
      else this.failures.report(failure, context);
    } catch {
      // the reporter's own problem; the other entries go on
    }
  }

  private limiterFor(listener: string): FailureLogLimiter {
    let limiter = this.limiters.get(listener);
    if (!limiter) {
      const { logger, perSecond } = this.failureLog!;
      const target = { failures: this.failures, logger, metrics: this.metrics };
      limiter = new FailureLogLimiter(listener, target, perSecond ?? DEFAULT_FAILURE_LOGS_PER_SECOND);
      this.limiters.set(listener, limiter);
    }
    return limiter;
  }

  /**
   * Writes a failure record to the binding's dead-letter queue and delivery log group, where it has
   * them. The dead-letter queue's answer (accepted or not) joins `records`.
   */
  private record(binding: PacketSourceRecord, records: Array<Promise<boolean>>, record: Record<string, unknown>): void {
    if (binding.DeadLetterQueueArn && this.deadLetters) {
      try {
        const sender = { roleArn: binding.RoleArn, externalId: binding.ExternalId };
        records.push(this.deadLetters.enqueue(binding.DeadLetterQueueArn, record, sender).catch(() => false));
      } catch {
        records.push(Promise.resolve(false));
      }
    }
    if (binding.DeliveryLogGroupArn && this.deliveryLog) {
      try {
        this.deliveryLog.write({ logGroupArn: binding.DeliveryLogGroupArn, roleArn: binding.RoleArn, externalId: binding.ExternalId }, record);
      } catch {
        // a delivery log is a copy for the publisher; the dead-letter queue and the failure log still have the record
      }
    }
  }

  private countSent(sent: number): void {
    if (sent > 0) this.metrics.increment(MetricName.SourcedSent, sent);
  }
}

/** `result` with the number of dead-letter records that were not accepted, when any. */
async function withRecordOutcome(result: SourcedResult, records: ReadonlyArray<Promise<boolean>>): Promise<SourcedResult> {
  let unrecorded = 0;
  for (const accepted of await Promise.all(records)) if (!accepted) unrecorded++;
  return unrecorded === 0 ? result : { ...result, unrecorded };
}

function errorText(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
  } catch {
    return 'unknown error';
  }
}

/** Epoch ms at which a valid entry's TtlSeconds elapses; 0 when it has none. */
function entryDeadline(entry: unknown, publishedAt: number): number {
  const ttl = (entry as { TtlSeconds?: unknown }).TtlSeconds;
  return typeof ttl === 'number' && ttl > 0 && !Number.isNaN(publishedAt) ? publishedAt + ttl * 1000 : 0;
}
