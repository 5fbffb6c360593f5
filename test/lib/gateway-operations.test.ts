import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ACCOUNT, ensureAssets, REGION, testStack } from './support';
import { Destination, PacketGateway, PacketGatewayProps } from '../../lib';
import { MetricName } from '../../lib/private/metrics';

beforeAll(ensureAssets);

function gatewayWithListeners(ports: number[] = [5555]): { stack: Stack; gw: PacketGateway } {
  const stack = testStack();
  const gw = new PacketGateway(stack, 'Gateway');
  const fn = lambda.Function.fromFunctionArn(gw, 'Fn', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
  for (const port of ports) gw.addListener(`L${port}`, { port, destinations: [Destination.lambda(fn)] });
  return { stack, gw };
}

/** The dashboard body with its tokens joined into one string. */
function dashboardBody(stack: Stack): string {
  const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
  const [dashboard] = Object.values(dashboards);
  return JSON.stringify(dashboard.Properties.DashboardBody);
}

describe('addDashboard', () => {
  test('nothing is created unless asked', () => {
    const { stack } = gatewayWithListeners();
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  test('shows health, traffic, relay, failures and latency of the fleet', () => {
    const { stack, gw } = gatewayWithListeners([5555, 6666]);
    const dashboard = gw.addDashboard({ dashboardName: 'fleet' });
    expect(dashboard.node.id).toBe('Dashboard');
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'fleet' });
    const body = dashboardBody(stack);
    for (const expected of [
      'HealthyHostCount', 'ActiveFlowCount_UDP', 'L5555 healthy tasks', 'L6666 healthy tasks',
      "SELECT SUM(DatagramsIn) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'",
      "SELECT SUM(RepliesOut) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'",
      '\\"SourcedSent\\"', '\\"Relayed\\"', 'SELECT SUM(RelayFailures)',
      "SELECT SUM(Failures) FROM PacketGateway WHERE Gateway = 'Stack/Gateway' GROUP BY Code",
      'ApproximateNumberOfMessagesVisible',
      'SELECT AVG(DestinationLatencyMs)',
      '\\"RelayLatencyMs\\"', '\\"stat\\":\\"p50\\"', '\\"stat\\":\\"p99\\"',
      '\\"ReceiveBufferDrops\\"', 'CPUUtilization',
    ]) expect(body).toContain(expected);
  });
});

describe('addDashboard: every metric the fleet emits', () => {
  /** Emitted per destination only with its MetricsEnabled: read with Listener.metricDestination. */
  const PER_DESTINATION: readonly string[] = [MetricName.PacketsIn, MetricName.BytesIn, MetricName.PacketsOut, MetricName.BytesOut];

  test.each(Object.values(MetricName).filter((name) => !PER_DESTINATION.includes(name)))('%s has a widget', (name) => {
    const { stack, gw } = gatewayWithListeners();
    gw.addDashboard();
    const body = dashboardBody(stack);
    expect(body.includes(`\\"${name}\\"`) || body.includes(`(${name})`)).toBe(true);
  });

  test('WireGuard sessions, batches, sourced routing, the fleet directory and task warnings have widgets of their own', () => {
    const { stack, gw } = gatewayWithListeners();
    gw.addDashboard();
    const body = dashboardBody(stack);
    for (const title of [
      'WireGuard: handshakes, sessions resumed',
      'Destination batches: size, packets dropped',
      'Sourced packets: skipped, forwarded to region',
      'Fleet directory: owner lookups, cache hits, relays served',
      'Task warnings: WireGuard crypto fallback, metric series dropped',
    ]) expect(body).toContain(title);
    expect(body).toContain("SELECT SUM(WireGuardSessionsResumed) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'");
  });
});

describe('addAlarms', () => {
  test('no healthy targets per Listener, relay failures, failures and sustained receive-buffer drops, with the default thresholds', () => {
    const { stack, gw } = gatewayWithListeners([5555, 6666]);
    const alarms = gw.addAlarms();
    expect(alarms).toHaveLength(5);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', {
      MetricName: 'HealthyHostCount',
      Namespace: 'AWS/NetworkELB',
      Statistic: 'Minimum',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'breaching',
    }, 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      Metrics: [Match.objectLike({ Expression: "SELECT SUM(RelayFailures) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'", Period: 300 })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 100,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: [Match.objectLike({ Expression: "SELECT SUM(Failures) FROM PacketGateway WHERE Gateway = 'Stack/Gateway'", Period: 300 })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ReceiveBufferDrops',
      Namespace: 'PacketGateway',
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      Dimensions: Match.arrayWith([{ Name: 'Gateway', Value: 'Stack/Gateway' }]),
    });
  });

  test('thresholds, periods and a topic come from the props', () => {
    const { stack, gw } = gatewayWithListeners();
    const topic = new sns.Topic(stack, 'Ops');
    gw.addAlarms({
      alarmTopic: topic,
      periodMinutes: 10,
      relayFailuresThreshold: 3,
      failuresThreshold: 0,
      receiveBufferDropsMinutes: 15,
      noHealthyTargetsMinutes: 1,
    });
    const template = Template.fromStack(stack);
    const topicRef = { Ref: Match.stringLikeRegexp('^Ops') };
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: [topicRef], OKActions: [topicRef] }, 4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 3,
      Metrics: [Match.objectLike({ Expression: Match.stringLikeRegexp('RelayFailures'), Period: 600 })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 0, Metrics: [Match.objectLike({ Expression: Match.stringLikeRegexp('SUM\\(Failures\\)') })] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ReceiveBufferDrops', EvaluationPeriods: 15 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HealthyHostCount', EvaluationPeriods: 1 });
  });

  test.each([
    [{ relayFailuresThreshold: -1 }, /relayFailuresThreshold must be an integer from 0 to 1000000000, got -1/],
    [{ failuresThreshold: 1.5 }, /failuresThreshold must be an integer from 0 to 1000000000, got 1.5/],
    [{ periodMinutes: 0 }, /periodMinutes must be an integer from 1 to 60, got 0/],
    [{ receiveBufferDropsMinutes: 61 }, /receiveBufferDropsMinutes must be an integer from 1 to 60, got 61/],
    [{ noHealthyTargetsMinutes: 0 }, /noHealthyTargetsMinutes must be an integer from 1 to 60, got 0/],
  ])('fails if %p', (props, message) => {
    const { gw } = gatewayWithListeners();
    expect(() => gw.addAlarms(props)).toThrow(message);
  });
});

describe('autoscaling on rates', () => {
  function scaled(props: PacketGatewayProps): Template {
    const stack = testStack();
    const gw = new PacketGateway(stack, 'Gateway', props);
    const fn = lambda.Function.fromFunctionArn(gw, 'Fn', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
    for (const port of [5555, 6666]) gw.addListener(`L${port}`, { port, destinations: [Destination.lambda(fn)] });
    return Template.fromStack(stack);
  }

  test('off by default: CPU only', () => {
    const template = scaled({ maxCapacity: 4 });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 1);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' } }),
    });
  });

  test('a per-task DatagramsIn policy per Listener and a per-task Relayed policy, at the rate times the metrics interval', () => {
    const template = scaled({ maxCapacity: 4, targetDatagramsPerTaskPerSecond: 500, targetRelayedPerTaskPerSecond: 50 });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 4);
    for (const listener of ['L5555', 'L6666']) {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          TargetValue: 30000,
          CustomizedMetricSpecification: {
            Namespace: 'PacketGateway',
            MetricName: 'DatagramsIn',
            Statistic: 'Average',
            Dimensions: Match.arrayWith([{ Name: 'Gateway', Value: 'Stack/Gateway' }, { Name: 'Listener', Value: listener }]),
          },
        }),
      });
    }
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: 3000,
        CustomizedMetricSpecification: Match.objectLike({ MetricName: 'Relayed', Statistic: 'Average' }),
      }),
    });
  });

  test.each([
    [{ targetDatagramsPerTaskPerSecond: 100 }, /targetDatagramsPerTaskPerSecond applies only with maxCapacity/],
    [{ targetRelayedPerTaskPerSecond: 100 }, /targetRelayedPerTaskPerSecond applies only with maxCapacity/],
    [{ maxCapacity: 4, targetDatagramsPerTaskPerSecond: 0 }, /targetDatagramsPerTaskPerSecond must be from 1 to 1000000, got 0/],
    [{ maxCapacity: 4, targetRelayedPerTaskPerSecond: Number.NaN }, /targetRelayedPerTaskPerSecond must be from 1 to 1000000, got NaN/],
  ])('fails if %p', (props, message) => {
    expect(() => new PacketGateway(testStack(), 'Gateway', props)).toThrow(message);
  });
});
