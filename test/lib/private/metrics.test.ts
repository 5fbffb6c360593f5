import { METRICS_NAMESPACE, METRICS_SERVICE_DIMENSION, MetricDimension, MetricName, SERVICE_NAME } from '../../../lib/private/metrics';
import { EmfMetricsRecorder } from '../../../service/observability/emf-metrics';

describe('metric contract', () => {
  test('each constant is its own name', () => {
    for (const [key, value] of Object.entries(MetricName)) expect(value).toBe(key);
    for (const [key, value] of Object.entries(MetricDimension)) expect(value).toBe(key);
  });

  test('the data plane emits under the shared namespace and Service dimension', () => {
    const lines: any[] = [];
    const metrics = new EmfMetricsRecorder({ write: (line) => lines.push(JSON.parse(line)), now: () => 1_700_000_000_000 });
    metrics.increment(MetricName.DatagramsIn, 2, { [MetricDimension.Listener]: 'demo' });
    metrics.flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(lines[0]._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining([MetricDimension.Service, MetricDimension.Listener]));
    expect(lines[0]).toMatchObject({ [MetricDimension.Service]: SERVICE_NAME, [MetricDimension.Listener]: 'demo', [MetricName.DatagramsIn]: 2 });
    expect(METRICS_SERVICE_DIMENSION).toEqual({ Service: 'packet-gateway' });
  });
});
