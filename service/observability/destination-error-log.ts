/**
 * Delivery errors of a destination with a `LogGroupName` (Proxylity's per-destination error log):
 * each failure record of that destination is also written, as a JSON log event, to its log group
 * in the gateway's account and region. The records go through a {@link DeliveryLogSink}, which
 * batches them (PutLogEvents), bounds what it holds and writes off the packet path; here, each
 * destination writes at most `maxRecordsPerSecond` records a second, and one summary record (written
 * with the destination's next error after that second) says how many more were left out. The gateway's own failure log and `Failures` metric keep every one.
 */
import type { DestinationRecord } from '../../lib/private/records';
import type { DeliveryLogSink, DeliveryLogTarget, Failure, FailureContext, FailureReporter } from '../contracts';

/** Records written per destination and second by default; the rest are counted in a summary. */
export const DEFAULT_DESTINATION_LOG_RECORDS_PER_SECOND = 20;

/** Log message (WARN, once per log group) when a destination's `LogGroupName` cannot be written: the gateway's account is not known. */
export const ACCOUNT_UNKNOWN_LOG_MESSAGE = 'destination log group not written: the gateway account is not known';

export interface DestinationErrorLogsOptions {
  /** Writes the records (batched, bounded). */
  readonly sink: DeliveryLogSink;
  /** The ARN of log group `name` in the gateway's account and region; undefined when the account is not known. */
  readonly logGroupArn: (name: string) => string | undefined;
  /** Told once per log group that cannot be written because its ARN is unknown. */
  readonly warn?: (message: string, attributes: Record<string, unknown>) => void;
  /** @default DEFAULT_DESTINATION_LOG_RECORDS_PER_SECOND */
  readonly maxRecordsPerSecond?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Gives each destination with a `LogGroupName` a failure reporter that also writes to that log group. */
export class DestinationErrorLogs {
  private readonly unknown = new Set<string>();

  public constructor(private readonly options: DestinationErrorLogsOptions) {}

  /** `failures` itself when `record` names no log group (or its ARN is unknown); else a reporter that also writes there. */
  public reporterFor(listener: string, record: DestinationRecord, failures: FailureReporter): FailureReporter {
    const name = record.LogGroupName;
    if (name === undefined) return failures;
    const arn = this.options.logGroupArn(name);
    if (arn === undefined) {
      if (!this.unknown.has(name)) {
        this.unknown.add(name);
        this.options.warn?.(ACCOUNT_UNKNOWN_LOG_MESSAGE, {
          listener, destination: record.Name, logGroupName: name,
        });
      }
      return failures;
    }
    const perSecond = this.options.maxRecordsPerSecond ?? DEFAULT_DESTINATION_LOG_RECORDS_PER_SECOND;
    return new DestinationErrorLog(failures, this.options.sink, { logGroupArn: arn }, perSecond, this.options.now ?? Date.now, listener, record.Name);
  }
}

/** A failure reporter that passes every record on and copies them, rate-limited, to one log group. */
class DestinationErrorLog implements FailureReporter {
  private windowStart = -Infinity;
  private written = 0;
  private leftOut = 0;

  public constructor(
    private readonly inner: FailureReporter,
    private readonly sink: DeliveryLogSink,
    private readonly target: DeliveryLogTarget,
    private readonly perSecond: number,
    private readonly now: () => number,
    private readonly listener: string,
    private readonly destination: string,
  ) {}

  public report(failure: Failure, context: FailureContext): void {
    this.inner.report(failure, context);
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.summarize(now);
      this.windowStart = now;
      this.written = 0;
    }
    if (this.written >= this.perSecond) {
      this.leftOut++;
      return;
    }
    this.written++;
    this.write({ timestamp: new Date(now).toISOString(), code: failure.code, reason: failure.reason, ...context });
  }

  /** One record for the records left out of the window that ended. */
  private summarize(now: number): void {
    if (this.leftOut === 0) return;
    this.write({
      timestamp: new Date(now).toISOString(),
      code: 'RateLimited',
      reason: `${this.leftOut} further delivery error record${this.leftOut === 1 ? '' : 's'} of this destination left out of this log group `
        + `(at most ${this.perSecond} a second; the gateway's own log has every one)`,
      listener: this.listener,
      destination: this.destination,
      leftOut: this.leftOut,
    });
    this.leftOut = 0;
  }

  private write(record: Record<string, unknown>): void {
    try {
      this.sink.write(this.target, record);
    } catch {
      // the log group holds copies: the gateway's own failure log already has the record
    }
  }
}
