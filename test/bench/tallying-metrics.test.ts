import { TallyingMetrics } from '../../bench/lib/gateway-kit';
import type { MetricsRecorder } from '../../service/contracts';

describe('TallyingMetrics', () => {
  test('totals each metric across repeated and interleaved calls, and forwards every call', () => {
    const forwarded: Array<[string, number]> = [];
    const inner: MetricsRecorder = { increment: (metric, value = 1) => forwarded.push([metric, value]), observe: () => undefined };
    const metrics = new TallyingMetrics(inner);
    metrics.increment('DatagramsIn');
    metrics.increment('DatagramsIn', 2);
    metrics.increment('PacketsDropped');
    metrics.increment('DatagramsIn');
    metrics.increment('PacketsDropped', 3);
    expect([metrics.total('DatagramsIn'), metrics.total('PacketsDropped'), metrics.total('RepliesOut')]).toEqual([4, 4, 0]);
    expect(forwarded).toEqual([['DatagramsIn', 1], ['DatagramsIn', 2], ['PacketsDropped', 1], ['DatagramsIn', 1], ['PacketsDropped', 3]]);
  });
});
