import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { GatewayMetricSource } from './gateway-metric-source';
import type { GatewayDashboardProps } from '../gateway-operations';
import { METRICS_NAMESPACE, MetricDimension, MetricName } from './metrics';

const WIDTH = 12;
const HEIGHT = 6;

/**
 * The gateway's operations dashboard: health, traffic, relay, failures and latency of the fleet,
 * then WireGuard sessions, destination batches, sourced routing, the fleet directory and task warnings.
 */
export function createGatewayDashboard(gateway: GatewayMetricSource, id: string, props: GatewayDashboardProps = {}): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(gateway, id, { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
  const healthy = gateway.listeners.map((l) => gateway.metricHealthyHostCount(l, { label: `${l.listenerName} healthy tasks` }));
  dashboard.addWidgets(
    graph('Healthy tasks per Listener', healthy.length > 0 ? healthy : [gateway.metricCpuUtilization({ label: 'CPU utilization (no Listener yet)' })]),
    graph('Load balancer', [gateway.metricActiveFlowCount({ label: 'Active UDP flows' })], healthy),
  );
  dashboard.addWidgets(
    graph('Datagrams in, replies out', [gateway.metricDatagramsIn(), gateway.metricRepliesOut()]),
    graph('Sourced packets: sent, relayed', [gateway.metricSourcedSent(), gateway.metricRelayed(), gateway.metricRelayFailures()]),
  );
  dashboard.addWidgets(
    graph('Failures by code', [failuresByCode(gateway)]),
    graph('Undelivered: failures and delivery dead letters', [gateway.metricFailures()], [gateway.metricDeliveryDeadLetters({ label: 'Delivery dead letters' })]),
  );
  dashboard.addWidgets(
    graph('Destination latency (ms)', [gateway.metricDestinationLatency()]),
    graph('Relay latency (ms)', [
      gateway.metricRelayLatency({ statistic: cloudwatch.Stats.p(50), label: 'Relay latency p50' }),
      gateway.metricRelayLatency({ statistic: cloudwatch.Stats.p(99), label: 'Relay latency p99' }),
    ]),
  );
  dashboard.addWidgets(
    graph('Kernel receive-buffer drops, CPU', [gateway.metricReceiveBufferDrops()], [gateway.metricCpuUtilization()]),
    new cloudwatch.TextWidget({
      markdown: 'PacketSources\' own dead-letter queues live in their stacks and are not shown here: `Failures` counts every '
        + 'packet the gateway could not deliver, whatever its source.',
      width: WIDTH,
      height: HEIGHT,
    }),
  );
  dashboard.addWidgets(
    graph('WireGuard: handshakes, sessions resumed', [gateway.metricWireGuardHandshakes(), gateway.metricWireGuardSessionsResumed()]),
    graph('Destination batches: size, packets dropped', [gateway.metricBatchSize()], [gateway.metricPacketsDropped()]),
  );
  dashboard.addWidgets(
    graph('Sourced packets: skipped, forwarded to region', [gateway.metricSourcedSkipped(), gateway.metricForwardedToRegion()]),
    graph('Fleet directory: owner lookups, cache hits, relays served', [gateway.metricOwnerLookups(), gateway.metricOwnerCacheHits(), gateway.metricRelayServed()]),
  );
  dashboard.addWidgets(
    graph('Task warnings: WireGuard crypto fallback, metric series dropped', [gateway.metricWireGuardCryptoFallback()], [gateway.metricMetricSeriesDropped()]),
  );
  return dashboard;
}

function graph(title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, right, width: WIDTH, height: HEIGHT });
}

/** `Failures` of the gateway, one series per failure code (a Metrics Insights query). */
function failuresByCode(gateway: GatewayMetricSource): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SELECT SUM(${MetricName.Failures}) FROM ${METRICS_NAMESPACE} WHERE ${MetricDimension.Gateway} = '${gateway.gatewayName}' GROUP BY ${MetricDimension.Code}`,
    usingMetrics: {},
    period: Duration.minutes(1),
    label: '',
  });
}

