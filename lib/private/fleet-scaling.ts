import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { DEFAULT_METRICS_INTERVAL_SECONDS } from './metrics';

/** Fewest tasks of the default fleet: one Availability Zone or one task may fail without an outage. */
export const MIN_DEFAULT_TASKS = 2;

/**
 * The default `desiredCount`: one task per Availability Zone of the task subnets, at least
 * {@link MIN_DEFAULT_TASKS}. A fleet loses nothing to a task's loss or a deployment (docs/FLEET.md),
 * so production runs several.
 */
export function defaultDesiredCount(vpc: ec2.IVpc, taskSubnets: ec2.SubnetSelection): number {
  const zones = new Set(vpc.selectSubnets(taskSubnets).availabilityZones);
  return Math.max(MIN_DEFAULT_TASKS, zones.size);
}

/** Autoscaling of the fleet (only with a `maxCapacity`). */
export interface FleetScalingOptions {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetCpuUtilizationPercent: number;
  /** Datagrams per second per task on one Listener; none: no policy on `DatagramsIn`. */
  readonly targetDatagramsPerTaskPerSecond?: number;
  /** Relayed packets per second per task; none: no policy on `Relayed`. */
  readonly targetRelayedPerTaskPerSecond?: number;
}

/** A Listener whose ingress rate the fleet can scale on. */
export interface ScaledListener {
  readonly node: { readonly id: string };
  metricDatagramsIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/**
 * Target tracking on CPU and, when asked, on per-task rates: each task emits one `DatagramsIn`
 * (per Listener) and `Relayed` datapoint per metrics interval, so their 1-minute `Average` is the
 * count per task per interval, and a target rate per second is that count divided by the interval.
 */
export class FleetScaling {
  private readonly taskCount: ecs.ScalableTaskCount;

  constructor(service: ecs.FargateService, private readonly options: FleetScalingOptions, relayed: cloudwatch.Metric) {
    // Autoscaling owns the count: a deployment that named one would reset the fleet to it.
    (service.node.defaultChild as ecs.CfnService).desiredCount = undefined;
    this.taskCount = service.autoScaleTaskCount({ minCapacity: options.minCapacity, maxCapacity: options.maxCapacity });
    this.taskCount.scaleOnCpuUtilization('CpuScaling', { targetUtilizationPercent: options.targetCpuUtilizationPercent });
    if (options.targetRelayedPerTaskPerSecond !== undefined) {
      this.trackPerTaskRate('RelayedScaling', relayed, options.targetRelayedPerTaskPerSecond);
    }
  }

  /** Adds the `DatagramsIn` policy of `listener` when a target datagram rate is set. */
  public scaleOnListener(listener: ScaledListener): void {
    if (this.options.targetDatagramsPerTaskPerSecond === undefined) return;
    this.trackPerTaskRate(`DatagramsInScaling${listener.node.id}`, listener.metricDatagramsIn(), this.options.targetDatagramsPerTaskPerSecond);
  }

  private trackPerTaskRate(id: string, metric: cloudwatch.Metric, perSecond: number): void {
    this.taskCount.scaleToTrackCustomMetric(id, {
      metric: metric.with({ statistic: cloudwatch.Stats.AVERAGE, period: Duration.minutes(1) }),
      targetValue: perSecond * DEFAULT_METRICS_INTERVAL_SECONDS,
    });
  }
}
