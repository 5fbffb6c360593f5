import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { IConstruct } from 'constructs';
import type { Listener } from '../listener';

/** What the dashboard and alarms read of a gateway: its Listeners and metrics (PacketGateway implements it). */
export interface GatewayMetricSource extends IConstruct {
  readonly gatewayName: string;
  readonly listeners: readonly Listener[];
  metricSourcedSent(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricRelayed(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricRelayFailures(reason?: string, props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricRelayLatency(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricFailures(code?: string, props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricDatagramsIn(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricRepliesOut(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricDestinationLatency(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricReceiveBufferDrops(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricHealthyHostCount(listener: Listener, props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricActiveFlowCount(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricDeliveryDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricOwnerLookups(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricOwnerCacheHits(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricRelayServed(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricSourcedSkipped(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricForwardedToRegion(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricWireGuardHandshakes(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricWireGuardSessionsResumed(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricWireGuardCryptoFallback(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricBatchSize(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricPacketsDropped(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricMetricSeriesDropped(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
}
