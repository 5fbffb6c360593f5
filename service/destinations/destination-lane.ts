/**
 * One destination of one Listener: its batcher, its delivery slots, and what happens with the
 * outcome (replies routed, failures reported per packet, latency and batch size observed).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import { formatEndpoint } from '../../lib/private/network';
import type { DestinationRecord, FormatterName } from '../../lib/private/records';
import type { FailureReporter, MetricsRecorder } from '../contracts';
import { Batcher } from './batcher';
import type { DeliveryResult, Destination, ReplySink } from './destination';
import { messagesOverheadBytes, QueuedPacket } from './packet';
import type { ReplyRouter, ReplySource } from '../replies/reply-router';

/** Defaults of a destination's batching and queue limits. */
export const DEFAULT_BATCH_COUNT = 100;
export const DEFAULT_BATCH_TIMEOUT_SECONDS = 0.05;
export const DEFAULT_BATCH_SIZE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_QUEUED_PACKETS = 10_000;
export const DEFAULT_MAX_IN_FLIGHT_BATCHES = 4;

/** Log message (WARN) of a failed batch, once per batch, with its error; each packet's failure record names the batch. */
export const BATCH_FAILED_LOG_MESSAGE = 'destination batch failed';

/** Log message (WARN) of packets dropped because the destination's queue was full, at most one per interval. */
export const QUEUE_FULL_LOG_MESSAGE = 'packets dropped: destination queue full';

/** Log message (WARN) of the packets a stopping gateway could not deliver by its stop deadline. */
export const STOP_DEADLINE_LOG_MESSAGE = 'packets not delivered before the stop deadline';

/** Seconds between two log records about packets dropped on a full queue. */
const DROP_LOG_INTERVAL_MS = 5000;

export interface DestinationLaneOptions {
  readonly listener: string;
  readonly record: DestinationRecord;
  readonly formatter: FormatterName;
  readonly destination: Destination;
  readonly replies: ReplyRouter;
  readonly failures: FailureReporter;
  readonly metrics: MetricsRecorder;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class DestinationLane {
  public readonly formatter: FormatterName;
  private readonly batcher: Batcher<QueuedPacket>;
  private readonly dims: Readonly<Record<string, string>>;
  private readonly now: () => number;
  private droppedSinceLog = 0;
  private lastDropLog = -Infinity;
  private dropLogTimer?: NodeJS.Timeout;
  /** Set once undelivered packets were given up and recorded: later outcomes add no second record. */
  private abandoned = false;
  /** Batches whose delivery threw, numbered for the log record that carries their error. */
  private failedBatches = 0;
  /** Whom replies are attributed to (and, with MetricsEnabled, counted for). */
  private readonly replySource: ReplySource;
  /** The record's MetricsEnabled: traffic counted per destination. */
  private readonly metricsEnabled: boolean;

  public constructor(private readonly options: DestinationLaneOptions) {
    const batching = options.record.Batching ?? {};
    this.formatter = options.formatter;
    this.now = options.now ?? Date.now;
    this.dims = Object.freeze({ [MetricDimension.Listener]: options.listener, [MetricDimension.Destination]: options.record.Name });
    this.metricsEnabled = options.record.MetricsEnabled === true;
    this.replySource = Object.freeze({
      listener: options.listener,
      destination: options.destination.name,
      formatter: options.formatter,
      ...(this.metricsEnabled ? { destinationMetrics: this.dims } : {}),
    });
    this.batcher = new Batcher<QueuedPacket>({
      count: batching.Count ?? DEFAULT_BATCH_COUNT,
      timeoutMs: (batching.TimeoutInSeconds ?? DEFAULT_BATCH_TIMEOUT_SECONDS) * 1000,
      sizeBytes: batching.SizeInBytes ?? DEFAULT_BATCH_SIZE_BYTES,
      maxQueued: options.record.MaxQueuedPackets ?? DEFAULT_MAX_QUEUED_PACKETS,
      maxInFlight: options.record.MaxInFlightBatches ?? DEFAULT_MAX_IN_FLIGHT_BATCHES,
      overheadBytes: messagesOverheadBytes,
      deliver: (batch) => this.deliver(batch),
      onDrop: () => this.dropped(),
    });
  }

  public get name(): string {
    return this.options.record.Name;
  }

  /** Packets waiting and deliveries in progress. */
  public get queued(): number {
    return this.batcher.queued;
  }

  public get inFlight(): number {
    return this.batcher.inFlight;
  }

  /**
   * Queues a packet; returns false when it was dropped (queue full). `payload` is the datagram's
   * payload, from which a destination with a {@link Destination.packetKey} keys the packet.
   */
  public enqueue(packet: QueuedPacket, payload?: Uint8Array): boolean {
    const keyOf = this.options.destination.packetKey;
    if (keyOf !== undefined && payload !== undefined) return this.batcher.enqueue(keyed(packet, keyOf, payload));
    return this.batcher.enqueue(packet);
  }

  /** Delivers what is queued and waits for every delivery in progress. */
  public async drain(): Promise<void> {
    await this.batcher.drain();
    this.logDrops(true);
  }

  /**
   * Drains, then releases the destination. With `deadlineMs`, what is not delivered by then is
   * given up: one DestinationFailed record per packet still waiting, and per packet of a delivery
   * still in progress (its outcome is unknown; replies that arrive later are still routed).
   */
  public async close(deadlineMs?: number): Promise<void> {
    if (deadlineMs === undefined) {
      await this.drain();
    } else if (!(await settlesWithin(this.drain(), deadlineMs))) {
      this.abandon(deadlineMs);
    }
    await this.options.destination.close?.();
  }

  private abandon(deadlineMs: number): void {
    const { waiting, delivering } = this.batcher.abandon();
    this.abandoned = true;
    const name = this.options.destination.name;
    const prefix = `${this.options.destination.type} destination ${name}`;
    const notSent = { code: 'DestinationFailed' as const, reason: `${prefix}: not delivered: the gateway stopped (stop deadline ${deadlineMs} ms)` };
    const unknown = { code: 'DestinationFailed' as const, reason: `${prefix}: delivery still in progress at the stop deadline (${deadlineMs} ms); outcome unknown` };
    for (const packet of waiting) this.reportAbandoned(notSent, packet);
    for (const packet of delivering) this.reportAbandoned(unknown, packet);
    if (waiting.length + delivering.length > 0) {
      this.options.logger.warn(STOP_DEADLINE_LOG_MESSAGE, {
        listener: this.options.listener,
        destination: name,
        waiting: waiting.length,
        inProgress: delivering.length,
        deadlineMs,
      });
    }
  }

  private reportAbandoned(failure: { code: 'DestinationFailed'; reason: string }, packet: QueuedPacket): void {
    const { failures, listener, destination } = this.options;
    try {
      const remote = formatEndpoint(packet.remoteAddress, packet.remotePort);
      failures.report(failure, { listener, destination: destination.name, remote, tag: packet.tag });
    } catch {
      // one record that cannot be written must not stop the others
    }
  }

  private async deliver(batch: QueuedPacket[]): Promise<void> {
    const { destination, failures, metrics, listener } = this.options;
    metrics.observe(MetricName.BatchSize, batch.length, this.dims);
    const started = this.now();
    let result;
    try {
      result = await destination.deliver(batch, this.replySink());
    } catch (err) {
      metrics.observe(MetricName.DestinationLatencyMs, this.now() - started, this.dims);
      if (this.abandoned) return;
      // The error text may quote payloads (a handler's exception): logged once per batch, truncated;
      // each packet's failure record names the batch instead of repeating it.
      const batchNumber = ++this.failedBatches;
      this.options.logger.warn(BATCH_FAILED_LOG_MESSAGE, {
        listener,
        destination: destination.name,
        batch: batchNumber,
        packets: batch.length,
        error: truncated(errorText(err)),
      });
      const reason = `${destination.type} destination ${destination.name}: batch ${batchNumber} of ${batch.length} packet${batch.length === 1 ? '' : 's'} failed `
        + `(its error is logged once, as "${BATCH_FAILED_LOG_MESSAGE}")`;
      for (const packet of batch) {
        failures.report({ code: 'DestinationFailed', reason }, { listener, destination: destination.name, remote: formatEndpoint(packet.remoteAddress, packet.remotePort), tag: packet.tag });
      }
      return;
    }
    metrics.observe(MetricName.DestinationLatencyMs, this.now() - started, this.dims);
    if (this.metricsEnabled) this.countAccepted(batch, result.failed);
    if (result.failed && !this.abandoned) {
      for (const f of result.failed) {
        const packet = batch[f.index];
        failures.report(
          { code: 'DestinationFailed', reason: `${destination.type} destination ${destination.name}: ${f.reason}` },
          packet
            ? { listener, destination: destination.name, remote: formatEndpoint(packet.remoteAddress, packet.remotePort), tag: packet.tag }
            : { listener, destination: destination.name, index: f.index },
        );
      }
    }
    if (result.responseError) {
      failures.report({ code: 'ReplyInvalid', reason: result.responseError }, { listener, destination: destination.name });
    }
    if (result.response !== undefined) {
      this.options.replies.route(result.response, this.replySource);
    }
    for (const response of result.responses ?? []) {
      this.options.replies.route(response, this.replySource);
    }
  }

  /** Routes each reply of a streaming destination as it arrives; numbered in stream order for failure records. */
  private replySink(): ReplySink {
    const { replies, failures, listener, destination } = this.options;
    const source = this.replySource;
    let index = 0;
    return {
      reply: (entry) => {
        replies.routeReply(entry, index++, source);
      },
      invalid: (reason) => failures.report({ code: 'ReplyInvalid', reason: `${destination.type} destination ${destination.name}: ${reason}` }, { listener, destination: destination.name }),
    };
  }

  /** `PacketsIn` and `BytesIn` of a delivered batch: its packets less those the destination reported failed. */
  private countAccepted(batch: readonly QueuedPacket[], failed: DeliveryResult['failed']): void {
    let packets = 0;
    let bytes = 0;
    for (let i = 0; i < batch.length; i++) {
      if (failed !== undefined && failed.length > 0 && failed.some((f) => f.index === i)) continue;
      packets++;
      bytes += batch[i].dataBytes ?? 0;
    }
    this.options.metrics.increment(MetricName.PacketsIn, packets, this.dims);
    this.options.metrics.increment(MetricName.BytesIn, bytes, this.dims);
  }

  private dropped(): void {
    this.options.metrics.increment(MetricName.PacketsDropped, 1, this.dims);
    this.droppedSinceLog++;
    this.logDrops(false);
  }

  /**
   * Full-queue drops are logged as one record per interval carrying the count, not one per
   * packet: under overload, a log line per dropped packet would add to the overload.
   */
  private logDrops(force: boolean): void {
    if (this.droppedSinceLog === 0) return;
    const now = this.now();
    const wait = this.lastDropLog + DROP_LOG_INTERVAL_MS - now;
    if (!force && wait > 0) {
      if (!this.dropLogTimer) {
        this.dropLogTimer = setTimeout(() => {
          this.dropLogTimer = undefined;
          this.logDrops(true);
        }, wait);
        this.dropLogTimer.unref();
      }
      return;
    }
    if (this.dropLogTimer) {
      clearTimeout(this.dropLogTimer);
      this.dropLogTimer = undefined;
    }
    this.options.logger.warn(QUEUE_FULL_LOG_MESSAGE, {
      code: 'RateLimited',
      listener: this.options.listener,
      destination: this.options.record.Name,
      dropped: this.droppedSinceLog,
      maxQueuedPackets: this.options.record.MaxQueuedPackets ?? DEFAULT_MAX_QUEUED_PACKETS,
    });
    this.droppedSinceLog = 0;
    this.lastDropLog = now;
  }
}

/** The packet with its destination key; a key function that throws leaves the packet without a key. */
function keyed(packet: QueuedPacket, keyOf: (payload: Uint8Array) => string | undefined, payload: Uint8Array): QueuedPacket {
  let key: string | undefined;
  try {
    key = keyOf(payload);
  } catch {
    key = undefined;
  }
  return { ...packet, key };
}

/** True when `work` settled within `ms`. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  const settled = await Promise.race([work.then(() => true, () => true), late]);
  clearTimeout(timer);
  return settled;
}

/** Characters of a batch error kept in its log record. */
const MAX_BATCH_ERROR_LENGTH = 200;

function errorText(err: unknown): string {
  try {
    return (err as Error)?.message ?? String(err);
  } catch {
    return 'unknown error';
  }
}

function truncated(text: string): string {
  return text.length <= MAX_BATCH_ERROR_LENGTH ? text : `${text.slice(0, MAX_BATCH_ERROR_LENGTH)}… (${text.length} characters)`;
}
