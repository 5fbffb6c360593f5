/**
 * Failure records of a Listener's own making (dropped datagrams, refused or failed sends that
 * have no callback) and of the sourced packets sent from it, passed to the FailureReporter at a
 * bounded rate.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import type { Failure, FailureCode, FailureContext, FailureReporter, MetricsRecorder } from '../contracts';

/** Failure records logged per second per Listener by default; the rest are counted and summarised. */
export const DEFAULT_FAILURE_LOGS_PER_SECOND = 50;

/** Where a {@link FailureLogLimiter} writes. */
export interface FailureLogOptions {
  /** Receives each record within the rate. @default - records are only counted */
  readonly failures?: FailureReporter;
  readonly logger: Pick<Logger, 'warn'>;
  readonly metrics?: MetricsRecorder;
}

/**
 * Passes failure records to the FailureReporter, at most `perSecond` per second: a flood of
 * garbage must not become a flood of log lines. The rest are counted (metric `Failures`) and
 * summarised in one log record at the end of each second in which any were suppressed.
 */
export class FailureLogLimiter {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed: Partial<Record<FailureCode, number>> = {};
  private suppressedTotal = 0;
  /** Writes the summary when the window ends, also when no further failure arrives. */
  private summaryTimer?: NodeJS.Timeout;
  /** Metric dimensions per failure code, one object each (the recorder keys its series by object). */
  private readonly dimensions = new Map<FailureCode, Readonly<Record<string, string>>>();

  constructor(
    private readonly listener: string,
    private readonly options: FailureLogOptions,
    private readonly perSecond: number,
  ) {}

  report(failure: Failure, address: string | undefined, port: number | undefined, peerKey: string | undefined): void {
    if (!this.admit()) {
      this.suppress(failure);
      return;
    }
    const remote = address === undefined ? undefined : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    this.options.failures?.report(failure, {
      listener: this.listener,
      ...(remote === undefined ? {} : { remote }),
      ...(peerKey === undefined ? {} : { peerKey }),
    });
  }

  /** Like {@link report}, for a failure whose identifiers are already assembled (sourced packets). */
  reportWithContext(failure: Failure, context: FailureContext): void {
    if (this.admit()) this.options.failures?.report(failure, context);
    else this.suppress(failure);
  }

  /** True when one more record fits in the current second. */
  private admit(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.flush();
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perSecond) return false;
    this.inWindow++;
    return true;
  }

  /** Counts a record left out of the log (metric and summary). */
  private suppress(failure: Failure): void {
    const now = Date.now();
    this.suppressed[failure.code] = (this.suppressed[failure.code] ?? 0) + 1;
    this.suppressedTotal++;
    if (this.summaryTimer === undefined) {
      this.summaryTimer = setTimeout(() => this.flush(), Math.max(0, this.windowStart + 1000 - now));
      this.summaryTimer.unref();
    }
    let dims = this.dimensions.get(failure.code);
    if (dims === undefined) {
      dims = Object.freeze({ [MetricDimension.Code]: failure.code });
      this.dimensions.set(failure.code, dims);
    }
    this.options.metrics?.increment(MetricName.Failures, 1, dims);
  }

  /** Logs the summary of suppressed records, if any. */
  flush(): void {
    if (this.summaryTimer !== undefined) clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    if (this.suppressedTotal === 0) return;
    this.options.logger.warn('packet failure records suppressed (rate limit)', { listener: this.listener, suppressed: this.suppressedTotal, byCode: this.suppressed });
    this.suppressed = {};
    this.suppressedTotal = 0;
  }
}
