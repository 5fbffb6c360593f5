/**
 * FailureReporter that writes one structured log record per undelivered packet and counts
 * failures by code (metric `Failures`, dimension `Code`).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import { FAILURE_CODES, Failure, FailureCode, FailureContext, FailureReporter, MetricsRecorder } from '../contracts';

/** Log message of every failure record; filter on it (or on `code`) in CloudWatch Logs Insights. */
export const FAILURE_LOG_MESSAGE = 'packet not delivered';

/** Failure records at this level; everything else about the packet is in `code`, `reason` and the identifiers. */
export class LoggingFailureReporter implements FailureReporter {
  private readonly counts = new Map<FailureCode, number>();
  /** Dimension objects are created once per code so the metrics recorder can cache their key. */
  private readonly dimensions: Readonly<Record<string, Readonly<Record<string, string>>>>;

  public constructor(private readonly logger: Logger, private readonly metrics?: MetricsRecorder) {
    const dims: Record<string, Readonly<Record<string, string>>> = {};
    for (const code of FAILURE_CODES) dims[code] = Object.freeze({ [MetricDimension.Code]: code });
    this.dimensions = dims;
  }

  public report(failure: Failure, context: FailureContext): void {
    this.counts.set(failure.code, (this.counts.get(failure.code) ?? 0) + 1);
    try {
      this.metrics?.increment(MetricName.Failures, 1, this.dimensions[failure.code]);
      this.logger.warn(FAILURE_LOG_MESSAGE, { code: failure.code, reason: failure.reason, ...context });
    } catch {
      // Reporting never throws into the packet path.
    }
  }

  /** Failures reported so far, by code (codes never reported are absent). */
  public countsByCode(): Readonly<Partial<Record<FailureCode, number>>> {
    return Object.fromEntries(this.counts);
  }

  /** Total failures reported so far. */
  public get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}
