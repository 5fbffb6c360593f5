import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Construct } from 'constructs';
import type { GatewayMetricSource } from './gateway-metric-source';
import { validateInteger } from './validation';
import type { GatewayAlarmsProps } from '../gateway-operations';
import type { Listener } from '../listener';

/** Largest threshold a count alarm accepts. */
const MAX_THRESHOLD = 1_000_000_000;

/** The numeric props of {@link GatewayAlarmsProps}. */
type AlarmSetting = Exclude<keyof GatewayAlarmsProps, 'alarmTopic'>;

/** Each numeric prop's default and allowed range, in the order they are validated. */
const SETTINGS: Readonly<Record<AlarmSetting, { readonly default: number; readonly min: number; readonly max: number }>> = {
  periodMinutes: { default: 5, min: 1, max: 60 },
  relayFailuresThreshold: { default: 10, min: 0, max: MAX_THRESHOLD },
  failuresThreshold: { default: 100, min: 0, max: MAX_THRESHOLD },
  receiveBufferDropsMinutes: { default: 5, min: 1, max: 60 },
  noHealthyTargetsMinutes: { default: 2, min: 1, max: 60 },
};

/** One alarm: what it watches and when it fires. Numbers given as a setting's name come from the props. */
interface AlarmDefinition {
  /** Construct id within the alarms' scope (public API: never renamed). */
  readonly id: string;
  readonly description: string;
  /** The metric, read over `period`. */
  readonly metric: (gateway: GatewayMetricSource, period: Duration) => cloudwatch.IMetric;
  /** One minute, or the props' `periodMinutes`. */
  readonly period: 'minute' | 'periodMinutes';
  readonly threshold: number | AlarmSetting;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number | AlarmSetting;
  readonly treatMissingData: cloudwatch.TreatMissingData;
}

/** The alarm of one Listener: no healthy task behind it. */
function noHealthyTargets(listener: Listener): AlarmDefinition {
  return {
    id: `NoHealthyTargets${listener.node.id}`,
    description: `No healthy task behind Listener ${listener.listenerName}: its datagrams are dropped.`,
    metric: (gateway, period) => gateway.metricHealthyHostCount(listener, { period }),
    period: 'minute',
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 'noHealthyTargetsMinutes',
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  };
}

/** The alarms of the whole fleet, after the Listeners' own. */
const FLEET_ALARMS: readonly AlarmDefinition[] = [
  {
    id: 'RelayFailures',
    description: 'Sourced packets the fleet could not hand to their flow\'s owner (RelayFailures, every reason).',
    metric: (gateway, period) => gateway.metricRelayFailures(undefined, { period }),
    period: 'periodMinutes',
    threshold: 'relayFailuresThreshold',
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  },
  {
    id: 'Failures',
    description: 'Packets the gateway could not deliver (Failures, every code, Listener and PacketSource).',
    metric: (gateway, period) => gateway.metricFailures(undefined, { period }),
    period: 'periodMinutes',
    threshold: 'failuresThreshold',
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  },
  {
    id: 'ReceiveBufferDrops',
    description: 'The tasks\' kernels keep dropping datagrams because receive buffers are full: add tasks or capacity.',
    metric: (gateway, period) => gateway.metricReceiveBufferDrops({ period }),
    period: 'minute',
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 'receiveBufferDropsMinutes',
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  },
];

/**
 * The gateway's alarms, in a construct `id`: no healthy task behind a Listener (one alarm per
 * Listener added so far), relay failures and `Failures` above their thresholds, and sustained
 * kernel receive-buffer drops.
 */
export function createGatewayAlarms(gateway: GatewayMetricSource, id: string, props: GatewayAlarmsProps = {}): cloudwatch.Alarm[] {
  for (const [name, range] of Object.entries(SETTINGS)) validateInteger(gateway, name, props[name as AlarmSetting], range.min, range.max);
  const scope = new Construct(gateway, id);
  const definitions = [...gateway.listeners.map(noHealthyTargets), ...FLEET_ALARMS];
  const alarms = definitions.map((definition) => buildAlarm(scope, gateway, definition, props));
  if (props.alarmTopic) {
    const action = new actions.SnsAction(props.alarmTopic);
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
  return alarms;
}

/** The alarm `definition` describes, with the values `props` sets. */
function buildAlarm(scope: Construct, gateway: GatewayMetricSource, definition: AlarmDefinition, props: GatewayAlarmsProps): cloudwatch.Alarm {
  const value = (v: number | AlarmSetting): number => (typeof v === 'number' ? v : props[v] ?? SETTINGS[v].default);
  const period = Duration.minutes(definition.period === 'minute' ? 1 : value('periodMinutes'));
  return new cloudwatch.Alarm(scope, definition.id, {
    alarmDescription: definition.description,
    metric: definition.metric(gateway, period),
    threshold: value(definition.threshold),
    comparisonOperator: definition.comparisonOperator,
    evaluationPeriods: value(definition.evaluationPeriods),
    treatMissingData: definition.treatMissingData,
  });
}
