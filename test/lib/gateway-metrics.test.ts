import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ACCOUNT, ensureAssets, REGION, testStack } from './support';
import { Destination, Listener, PacketGateway } from '../../lib';

beforeAll(ensureAssets);

const FLEET = { Service: 'packet-gateway', Gateway: 'Stack/Gateway' };

function gatewayWithListener(stack: Stack = testStack()): { stack: Stack; gw: PacketGateway; listener: Listener } {
  const gw = new PacketGateway(stack, 'Gateway');
  const fn = lambda.Function.fromFunctionArn(gw, 'Fn', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
  const listener = gw.addListener('Ingest', { port: 5555, destinations: [Destination.lambda(fn)] });
  return { stack, gw, listener };
}

describe('metrics of the fleet', () => {
  test.each([
    ['metricRelayed', 'Relayed'],
    ['metricOwnerLookups', 'OwnerLookups'],
    ['metricOwnerCacheHits', 'OwnerCacheHits'],
    ['metricReceiveBufferDrops', 'ReceiveBufferDrops'],
    ['metricSourcedSent', 'SourcedSent'],
    ['metricSourcedSkipped', 'SourcedSkipped'],
    ['metricForwardedToRegion', 'ForwardedToRegion'],
    ['metricRelayServed', 'RelayServed'],
    ['metricMetricSeriesDropped', 'MetricSeriesDropped'],
  ] as const)('%s sums %s of this gateway per minute', (method, metricName) => {
    const { gw } = gatewayWithListener();
    const metric = gw[method]();
    expect(metric.namespace).toBe('PacketGateway');
    expect(metric.metricName).toBe(metricName);
    expect(metric.dimensions).toEqual(FLEET);
    expect(metric.statistic).toBe('Sum');
    expect(metric.period.toSeconds()).toBe(60);
  });

  test('relay latency is an average in milliseconds, a percentile when asked', () => {
    const { gw } = gatewayWithListener();
    const metric = gw.metricRelayLatency();
    expect(metric.metricName).toBe('RelayLatencyMs');
    expect(metric.dimensions).toEqual(FLEET);
    expect(metric.statistic).toBe('Average');
    expect(metric.unit).toBe(cloudwatch.Unit.MILLISECONDS);
    expect(gw.metricRelayLatency({ statistic: 'p99' }).statistic).toBe('p99');
  });

  test('relay failures of one reason carry the Reason dimension; of every reason, a query over the gateway', () => {
    const { gw } = gatewayWithListener();
    const timeouts = gw.metricRelayFailures('Timeout') as cloudwatch.Metric;
    expect(timeouts.metricName).toBe('RelayFailures');
    expect(timeouts.dimensions).toEqual({ ...FLEET, Reason: 'Timeout' });
    const all = gw.metricRelayFailures() as cloudwatch.MathExpression;
    expect(all.expression).toBe("SELECT SUM(RelayFailures) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
    expect(all.period.toSeconds()).toBe(60);
  });

  test('failures of one code or every code, and per-Listener series, are queries over every series of the gateway', () => {
    const { gw } = gatewayWithListener();
    expect((gw.metricFailures() as cloudwatch.MathExpression).expression).toBe("SELECT SUM(Failures) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
    expect((gw.metricFailures('SendFailed') as cloudwatch.MathExpression).expression)
      .toBe("SELECT SUM(Failures) FROM PacketGateway WHERE Gateway = 'Stack/Gateway' AND Code = 'SendFailed'");
    expect((gw.metricDatagramsIn() as cloudwatch.MathExpression).expression).toBe("SELECT SUM(DatagramsIn) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
    expect((gw.metricRepliesOut({ period: Duration.minutes(5) }) as cloudwatch.MathExpression).period.toSeconds()).toBe(300);
    expect((gw.metricDestinationLatency() as cloudwatch.MathExpression).expression)
      .toBe("SELECT AVG(DestinationLatencyMs) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
  });

  test('WireGuard handshakes and resumed sessions, batch sizes and dropped packets are queries over every Listener of the gateway', () => {
    const { gw } = gatewayWithListener();
    expect((gw.metricWireGuardHandshakes() as cloudwatch.MathExpression).expression)
      .toBe("SELECT SUM(WireGuardHandshakes) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
    expect((gw.metricWireGuardSessionsResumed() as cloudwatch.MathExpression).expression)
      .toBe("SELECT SUM(WireGuardSessionsResumed) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
    expect((gw.metricBatchSize() as cloudwatch.MathExpression).expression).toBe("SELECT AVG(BatchSize) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
    expect((gw.metricPacketsDropped({ period: Duration.minutes(5) }) as cloudwatch.MathExpression).expression)
      .toBe("SELECT SUM(PacketsDropped) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
    expect((gw.metricPacketsDropped({ period: Duration.minutes(5) }) as cloudwatch.MathExpression).period.toSeconds()).toBe(300);
  });

  test('the WireGuard crypto fallback is a per-task flag: its maximum per minute', () => {
    const { gw } = gatewayWithListener();
    const metric = gw.metricWireGuardCryptoFallback();
    expect(metric.metricName).toBe('WireGuardCryptoFallback');
    expect(metric.dimensions).toEqual(FLEET);
    expect(metric.statistic).toBe('Maximum');
  });

  test('a Listener\'s WireGuard handshakes and resumed sessions carry its Listener dimension', () => {
    const { listener } = gatewayWithListener();
    for (const [metric, name] of [[listener.metricWireGuardHandshakes(), 'WireGuardHandshakes'], [listener.metricWireGuardSessionsResumed(), 'WireGuardSessionsResumed']] as const) {
      expect(metric.namespace).toBe('PacketGateway');
      expect(metric.metricName).toBe(name);
      expect(metric.dimensions).toEqual({ ...FLEET, Listener: 'Ingest' });
      expect(metric.statistic).toBe('Sum');
    }
  });

  test.each(["Send'Failed", '', 'a b'])('fails if a failure code or reason is not letters: %p', (value) => {
    const { gw } = gatewayWithListener();
    expect(() => gw.metricFailures(value)).toThrow(/code must be 1 to 64 letters .*got/);
    expect(() => gw.metricRelayFailures(value)).toThrow(/reason must be 1 to 64 letters .*got/);
  });

  test('target group health per Listener, UDP flows and CPU read the AWS resources', () => {
    const { stack, gw, listener } = gatewayWithListener();
    const healthy = gw.metricHealthyHostCount(listener);
    expect(healthy.namespace).toBe('AWS/NetworkELB');
    expect(healthy.metricName).toBe('HealthyHostCount');
    expect(healthy.statistic).toBe('Minimum');
    expect(Object.keys(healthy.dimensions ?? {}).sort()).toEqual(['LoadBalancer', 'TargetGroup']);
    expect(stack.resolve(healthy.dimensions?.TargetGroup)).toEqual(stack.resolve(listener.targetGroup.targetGroupFullName));
    const unhealthy = gw.metricUnHealthyHostCount(listener);
    expect(unhealthy.metricName).toBe('UnHealthyHostCount');
    expect(JSON.stringify(stack.resolve(unhealthy.dimensions?.LoadBalancer))).toContain('GatewayIngestLoadBalancerListener');
    const flows = gw.metricActiveFlowCount();
    expect(flows.metricName).toBe('ActiveFlowCount_UDP');
    expect(Object.keys(flows.dimensions ?? {})).toEqual(['LoadBalancer']);
    const cpu = gw.metricCpuUtilization();
    expect(cpu.namespace).toBe('AWS/ECS');
    expect(Object.keys(cpu.dimensions ?? {}).sort()).toEqual(['ClusterName', 'ServiceName']);
  });
});
