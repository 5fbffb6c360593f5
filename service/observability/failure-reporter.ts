/**
 * FailureReporter that writes one structured log record per undelivered packet and counts
 * failures by code (metric `Failures`, dimension `Code`, plus `Listener` and, for sourced packets,
 * `PacketSource` when the failure names them).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import { FAILURE_CODES, Failure, FailureCode, FailureContext, FailureReporter, MetricsRecorder } from '../contracts';

/** Log message of every failure record; filter on it (or on `code`) in CloudWatch Logs Insights. */
export const FAILURE_LOG_MESSAGE = 'packet not delivered';

/**
 * Distinct Listener/PacketSource dimension sets kept; failures of further ones count under `Code`
 * alone, so a flood of made-up topic ARNs cannot grow the cache or the metric series without bound.
 */
const MAX_DIMENSION_SETS = 1000;

/** Failure records at this level; everything else about the packet is in `code`, `reason` and the identifiers. */
export class LoggingFailureReporter implements FailureReporter {
  private readonly counts = new Map<FailureCode, number>();
  /** Dimension objects are created once per code so the metrics recorder can cache their key. */
  private readonly dimensions: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Dimension objects by code, Listener and PacketSource ('' when absent), created once each. */
  private readonly scopedDimensions = new Map<FailureCode, Map<string, Map<string, Readonly<Record<string, string>>>>>();
  private scopedDimensionSets = 0;

  public constructor(private readonly logger: Logger, private readonly metrics?: MetricsRecorder) {
    const dims: Record<string, Readonly<Record<string, string>>> = {};
    for (const code of FAILURE_CODES) dims[code] = Object.freeze({ [MetricDimension.Code]: code });
    this.dimensions = dims;
  }

  public report(failure: Failure, context: FailureContext): void {
    this.counts.set(failure.code, (this.counts.get(failure.code) ?? 0) + 1);
    try {
      this.metrics?.increment(MetricName.Failures, 1, this.dimensionsOf(failure.code, context));
      this.logger.warn(FAILURE_LOG_MESSAGE, { code: failure.code, reason: failure.reason, ...context });
    } catch {
      // Reporting never throws into the packet path.
    }
  }

  /** The dimensions of a failure: its code, and the Listener and PacketSource it names; found without allocating once seen. */
  private dimensionsOf(code: FailureCode, context: FailureContext): Readonly<Record<string, string>> {
    const listener = context.listener ?? '';
    const source = context.topicArn ?? '';
    if (listener === '' && source === '') return this.dimensions[code];
    let byListener = this.scopedDimensions.get(code);
    let bySource = byListener?.get(listener);
    const found = bySource?.get(source);
    if (found) return found;
    if (this.scopedDimensionSets >= MAX_DIMENSION_SETS) return this.dimensions[code];
    if (!byListener) this.scopedDimensions.set(code, byListener = new Map());
    if (!bySource) byListener.set(listener, bySource = new Map());
    const dimensions = Object.freeze({
      [MetricDimension.Code]: code,
      ...(listener !== '' ? { [MetricDimension.Listener]: listener } : {}),
      ...(source !== '' ? { [MetricDimension.PacketSource]: source } : {}),
    });
    bySource.set(source, dimensions);
    this.scopedDimensionSets++;
    return dimensions;
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
