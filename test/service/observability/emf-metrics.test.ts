import { EmfMetricsRecorder } from '../../../service/observability/emf-metrics';

describe('EmfMetricsRecorder', () => {
  function recorder(options: Partial<ConstructorParameters<typeof EmfMetricsRecorder>[0]> = {}) {
    const lines: Array<Record<string, unknown>> = [];
    const metrics = new EmfMetricsRecorder({ write: (line) => lines.push(JSON.parse(line)), now: () => 1_700_000_000_000, ...options });
    return { metrics, lines };
  }

  test('aggregates counters per dimension set and writes one EMF document per set', () => {
    const { metrics, lines } = recorder();
    const demo = { Listener: 'demo' };
    for (let i = 0; i < 1000; i++) metrics.increment('DatagramsIn', 1, demo);
    metrics.increment('RepliesOut', 3, demo);
    metrics.increment('Failures', 1, { Code: 'InvalidData' });
    expect(lines).toEqual([]);
    metrics.flush();
    expect(lines).toEqual([
      {
        _aws: {
          Timestamp: 1_700_000_000_000,
          CloudWatchMetrics: [{ Namespace: 'PacketGateway', Dimensions: [['Service', 'Listener']], Metrics: [{ Name: 'DatagramsIn', Unit: 'Count' }, { Name: 'RepliesOut', Unit: 'Count' }] }],
        },
        Service: 'packet-gateway',
        Listener: 'demo',
        DatagramsIn: 1000,
        RepliesOut: 3,
      },
      {
        _aws: { Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: 'PacketGateway', Dimensions: [['Service', 'Code']], Metrics: [{ Name: 'Failures', Unit: 'Count' }] }] },
        Service: 'packet-gateway',
        Code: 'InvalidData',
        Failures: 1,
      },
    ]);
    metrics.flush();
    expect(lines).toHaveLength(2);
  });

  test('a series repeated call after call counts in the interval it was recorded in, across flushes and interleaved series', () => {
    const { metrics, lines } = recorder();
    const demo = { Listener: 'demo' };
    const other = { Listener: 'other' };
    metrics.increment('DatagramsIn', 1, demo);
    metrics.increment('DatagramsIn', 1, demo);
    metrics.flush();
    metrics.increment('DatagramsIn', 5, demo);
    metrics.increment('DatagramsIn', 1, other);
    metrics.increment('RepliesOut', 1, demo);
    metrics.increment('DatagramsIn', 5, demo);
    metrics.flush();
    expect(lines.map((line) => [line.Listener, line.DatagramsIn, line.RepliesOut])).toEqual([['demo', 2, undefined], ['demo', 10, 1], ['other', 1, undefined]]);
  });

  test('observations keep at most 100 values per interval, with units from the name', () => {
    const { metrics, lines } = recorder();
    for (let i = 0; i < 5000; i++) metrics.observe('DestinationLatencyMs', i % 7);
    metrics.observe('BatchSize', 12);
    metrics.flush();
    const doc = lines[0] as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: unknown[] }> } };
    expect(doc._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: 'DestinationLatencyMs', Unit: 'Milliseconds' }, { Name: 'BatchSize', Unit: 'Count' }]);
    expect((doc.DestinationLatencyMs as number[]).length).toBe(100);
    expect(doc.BatchSize).toBe(12);
  });

  test('the number of series is bounded; overflow is counted', () => {
    const { metrics, lines } = recorder({ maxSeries: 2 });
    metrics.increment('A', 1, { K: '1' });
    metrics.increment('A', 1, { K: '2' });
    metrics.increment('A', 1, { K: '3' });
    metrics.increment('A', 1, { K: '4' });
    metrics.flush();
    expect(lines.filter((l) => 'A' in l)).toHaveLength(2);
    expect(lines.find((l) => 'MetricSeriesDropped' in l)?.MetricSeriesDropped).toBe(2);
  });

  test('never throws, even when writing fails or values are not finite', () => {
    const metrics = new EmfMetricsRecorder({ write: () => { throw new Error('stdout closed'); } });
    metrics.increment('X', Number.NaN);
    metrics.observe('Y', Infinity);
    metrics.increment('Z');
    expect(() => metrics.flush()).not.toThrow();
  });

  test('ignores values that are not finite (no series, no empty value list)', () => {
    const { metrics, lines } = recorder();
    metrics.increment('X', Number.NaN);
    metrics.observe('Y', Infinity);
    metrics.increment('Z');
    metrics.flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toHaveProperty('X');
    expect(lines[0]).not.toHaveProperty('Y');
    expect(lines[0].Z).toBe(1);
  });

  test('flushes periodically once started, and on stop', async () => {
    const { metrics, lines } = recorder({ flushIntervalSeconds: 0.02 });
    metrics.start();
    metrics.increment('Tick');
    await new Promise((r) => setTimeout(r, 60));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    metrics.increment('Tock');
    metrics.stop();
    expect(lines[lines.length - 1].Tock).toBe(1);
  });
});
