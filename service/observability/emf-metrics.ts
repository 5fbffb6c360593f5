/**
 * MetricsRecorder that aggregates in memory and writes CloudWatch Embedded Metric Format (EMF)
 * lines on a fixed interval: a counter becomes one summed value per interval, an observation a
 * bounded sample of at most 100 values. Recording is a map lookup and an addition; nothing is
 * written per packet.
 */
import { DEFAULT_METRICS_INTERVAL_SECONDS, METRICS_NAMESPACE, METRICS_SERVICE_DIMENSION, MetricName } from '../../lib/private/metrics';
import type { MetricsRecorder } from '../contracts';

/** EMF allows at most 100 values per metric and 100 metrics per document. */
const MAX_VALUES = 100;
const MAX_METRICS_PER_LINE = 100;

export interface EmfMetricsRecorderOptions {
  /** @default METRICS_NAMESPACE */
  readonly namespace?: string;
  /** Seconds between flushes. @default DEFAULT_METRICS_INTERVAL_SECONDS (60) */
  readonly flushIntervalSeconds?: number;
  /** Dimensions added to every metric. @default METRICS_SERVICE_DIMENSION (`Service`: SERVICE_NAME) */
  readonly defaultDimensions?: Readonly<Record<string, string>>;
  /** Receives each EMF document (one JSON line, no newline). @default - written to stdout */
  readonly write?: (line: string) => void;
  /** Distinct metric/dimension series kept per interval; more are counted in `MetricSeriesDropped`. @default 2000 */
  readonly maxSeries?: number;
  readonly now?: () => number;
}

interface Series {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly dimensionsKey: string;
  readonly counter: boolean;
  sum: number;
  count: number;
  /** Observations only: reservoir sample of at most MAX_VALUES values. */
  readonly samples: number[];
}

const NO_DIMENSIONS: Readonly<Record<string, string>> = Object.freeze({});

/** Aggregating EMF metrics recorder; call {@link start} for periodic flushes and {@link stop} to flush the rest. */
export class EmfMetricsRecorder implements MetricsRecorder {
  private readonly namespace: string;
  private readonly intervalMs: number;
  private readonly defaultDimensions: Readonly<Record<string, string>>;
  private readonly write: (line: string) => void;
  private readonly maxSeries: number;
  private readonly now: () => number;
  private series = new Map<string, Series>();
  /**
   * The interval's series by dimensions object and metric name: callers pass the same frozen
   * dimension objects on every call, so the hot path finds its series without building a key.
   */
  private byDimensions = new Map<object, Map<string, Series>>();
  private readonly dimensionKeys = new WeakMap<object, string>();
  /** The series of the last lookup: per-datagram counters repeat the same metric and dimensions. */
  private lastMetric = '';
  private lastDimensions?: object;
  private lastSeries?: Series;
  private droppedSeries = 0;
  private timer?: NodeJS.Timeout;

  public constructor(options: EmfMetricsRecorderOptions = {}) {
    this.namespace = options.namespace ?? METRICS_NAMESPACE;
    this.intervalMs = Math.max(0.01, options.flushIntervalSeconds ?? DEFAULT_METRICS_INTERVAL_SECONDS) * 1000;
    this.defaultDimensions = options.defaultDimensions ?? METRICS_SERVICE_DIMENSION;
    this.write = options.write ?? ((line) => process.stdout.write(line + '\n'));
    this.maxSeries = options.maxSeries ?? 2000;
    this.now = options.now ?? Date.now;
  }

  public increment(metric: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    if (!Number.isFinite(value)) return;
    const s = this.lookup(metric, dimensions, true);
    if (s === undefined) return;
    s.sum += value;
    s.count++;
  }

  public observe(metric: string, value: number, dimensions?: Readonly<Record<string, string>>): void {
    if (!Number.isFinite(value)) return;
    const s = this.lookup(metric, dimensions, false);
    if (s === undefined) return;
    s.sum += value;
    s.count++;
    if (s.samples.length < MAX_VALUES) {
      s.samples.push(value);
    } else {
      // Reservoir sampling keeps a uniform sample of the interval's observations.
      const slot = Math.floor(Math.random() * s.count);
      if (slot < MAX_VALUES) s.samples[slot] = value;
    }
  }

  /** Starts the periodic flush (the timer does not keep the process alive). */
  public start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic flush and writes what is left. */
  public stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** Writes one EMF line per dimension set with every series recorded since the last flush. */
  public flush(): void {
    const current = this.series;
    this.series = new Map();
    this.byDimensions = new Map();
    this.lastSeries = undefined;
    const dropped = this.droppedSeries;
    this.droppedSeries = 0;
    if (dropped > 0) {
      const dimensionsKey = this.dimensionsKeyOf(NO_DIMENSIONS);
      current.set('MetricSeriesDropped\u0000' + dimensionsKey, {
        name: MetricName.MetricSeriesDropped, dimensions: NO_DIMENSIONS, dimensionsKey, counter: true, sum: dropped, count: 1, samples: [],
      });
    }
    if (current.size === 0) return;
    const groups = new Map<string, Series[]>();
    for (const s of current.values()) {
      const group = groups.get(s.dimensionsKey);
      if (group) group.push(s);
      else groups.set(s.dimensionsKey, [s]);
    }
    const timestamp = this.now();
    for (const group of groups.values()) {
      for (let i = 0; i < group.length; i += MAX_METRICS_PER_LINE) {
        this.emit(group.slice(i, i + MAX_METRICS_PER_LINE), timestamp);
      }
    }
  }

  private emit(group: readonly Series[], timestamp: number): void {
    const dimensions = { ...this.defaultDimensions, ...group[0].dimensions };
    const doc: Record<string, unknown> = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: this.namespace,
            Dimensions: [Object.keys(dimensions)],
            Metrics: group.map((s) => ({ Name: s.name, Unit: unitOf(s.name) })),
          },
        ],
      },
      ...dimensions,
    };
    for (const s of group) doc[s.name] = s.counter ? s.sum : s.samples.length === 1 ? s.samples[0] : s.samples;
    try {
      this.write(JSON.stringify(doc));
    } catch {
      // Metrics never take the service down.
    }
  }

  private lookup(metric: string, dimensions: Readonly<Record<string, string>> | undefined, counter: boolean): Series | undefined {
    const dims = dimensions ?? NO_DIMENSIONS;
    if (dims === this.lastDimensions && metric === this.lastMetric && this.lastSeries !== undefined) return this.lastSeries;
    let byMetric = this.byDimensions.get(dims);
    const known = byMetric?.get(metric);
    if (known !== undefined) return this.remember(metric, dims, known);
    const key = this.keyOf(metric, dims);
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= this.maxSeries) {
        this.droppedSeries++;
        return undefined;
      }
      s = { name: metric, dimensions: dims, dimensionsKey: this.dimensionsKeyOf(dims), counter, sum: 0, count: 0, samples: [] };
      this.series.set(key, s);
    }
    if (byMetric === undefined) {
      // callers that build a new dimensions object per call are served by the keyed lookup alone
      if (this.byDimensions.size >= this.maxSeries) return s;
      byMetric = new Map();
      this.byDimensions.set(dims, byMetric);
    }
    byMetric.set(metric, s);
    return this.remember(metric, dims, s);
  }

  private remember(metric: string, dims: object, s: Series): Series {
    this.lastMetric = metric;
    this.lastDimensions = dims;
    this.lastSeries = s;
    return s;
  }

  private keyOf(metric: string, dims: Readonly<Record<string, string>>): string {
    return metric + '\u0000' + this.dimensionsKeyOf(dims);
  }

  /** Callers pass the same frozen dimension objects per Listener/destination, so the key is computed once per object. */
  private dimensionsKeyOf(dims: Readonly<Record<string, string>>): string {
    let key = this.dimensionKeys.get(dims);
    if (key === undefined) {
      key = Object.keys(dims)
        .sort()
        .map((k) => `${k}=${dims[k]}`)
        .join('\u0001');
      this.dimensionKeys.set(dims, key);
    }
    return key;
  }
}

function unitOf(metric: string): string {
  if (metric.endsWith('Ms')) return 'Milliseconds';
  if (metric.endsWith('Bytes')) return 'Bytes';
  return 'Count';
}
