import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Construct } from 'constructs';
import type { GatewayMetricSource } from './gateway-metric-source';
import type { GatewayAlarmsProps } from '../gateway-operations';
import { validateInteger } from './validation';

/** Largest threshold a count alarm accepts. */
const MAX_THRESHOLD = 1_000_000_000;

/**
 * The gateway's alarms, in a construct `id`: no healthy task behind a Listener (one alarm per
 * Listener added so far), relay failures and `Failures` above their thresholds, and sustained
 * kernel receive-buffer drops.
 */
export function createGatewayAlarms(gateway: GatewayMetricSource, id: string, props: GatewayAlarmsProps = {}): cloudwatch.Alarm[] {
  validateInteger(gateway, 'periodMinutes', props.periodMinutes, 1, 60);
  validateInteger(gateway, 'relayFailuresThreshold', props.relayFailuresThreshold, 0, MAX_THRESHOLD);
  validateInteger(gateway, 'failuresThreshold', props.failuresThreshold, 0, MAX_THRESHOLD);
  validateInteger(gateway, 'receiveBufferDropsMinutes', props.receiveBufferDropsMinutes, 1, 60);
  validateInteger(gateway, 'noHealthyTargetsMinutes', props.noHealthyTargetsMinutes, 1, 60);
  const scope = new Construct(gateway, id);
  const period = Duration.minutes(props.periodMinutes ?? 5);
  const minute = Duration.minutes(1);
  const alarms: cloudwatch.Alarm[] = [];
  for (const listener of gateway.listeners) {
    alarms.push(new cloudwatch.Alarm(scope, `NoHealthyTargets${listener.node.id}`, {
      alarmDescription: `No healthy task behind Listener ${listener.listenerName}: its datagrams are dropped.`,
      metric: gateway.metricHealthyHostCount(listener, { period: minute }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: props.noHealthyTargetsMinutes ?? 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }));
  }
  alarms.push(new cloudwatch.Alarm(scope, 'RelayFailures', {
    alarmDescription: 'Sourced packets the fleet could not hand to their flow\'s owner (RelayFailures, every reason).',
    metric: gateway.metricRelayFailures(undefined, { period }),
    threshold: props.relayFailuresThreshold ?? 10,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }));
  alarms.push(new cloudwatch.Alarm(scope, 'Failures', {
    alarmDescription: 'Packets the gateway could not deliver (Failures, every code, Listener and PacketSource).',
    metric: gateway.metricFailures(undefined, { period }),
    threshold: props.failuresThreshold ?? 100,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }));
  alarms.push(new cloudwatch.Alarm(scope, 'ReceiveBufferDrops', {
    alarmDescription: 'The tasks\' kernels keep dropping datagrams because receive buffers are full: add tasks or capacity.',
    metric: gateway.metricReceiveBufferDrops({ period: minute }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: props.receiveBufferDropsMinutes ?? 5,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }));
  if (props.alarmTopic) {
    const action = new actions.SnsAction(props.alarmTopic);
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
  return alarms;
}
