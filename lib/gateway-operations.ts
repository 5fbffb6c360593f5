import * as sns from 'aws-cdk-lib/aws-sns';

/** Options of `PacketGateway.addDashboard()`. */
export interface GatewayDashboardProps {
  /**
   * Name of the CloudWatch dashboard.
   *
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
}

/** Options of `PacketGateway.addAlarms()`. Each threshold counts over `periodMinutes`. */
export interface GatewayAlarmsProps {
  /**
   * Topic notified when an alarm fires and when it clears.
   *
   * @default - the alarms have no actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Length of the period each threshold applies to, in minutes (1-60).
   *
   * @default 5
   */
  readonly periodMinutes?: number;

  /**
   * Relay requests without a `Sent` answer (every reason) per period above which the relay alarm
   * fires (an integer, 0 or more).
   *
   * @default 10
   */
  readonly relayFailuresThreshold?: number;

  /**
   * Undelivered packets (`Failures`, every code, Listener and PacketSource) per period above which
   * the failures alarm fires (an integer, 0 or more).
   *
   * @default 100
   */
  readonly failuresThreshold?: number;

  /**
   * Consecutive minutes with kernel receive-buffer drops (`ReceiveBufferDrops` > 0) after which
   * the drops alarm fires (1-60): the fleet is too small or the tasks too slow for the traffic.
   *
   * @default 5
   */
  readonly receiveBufferDropsMinutes?: number;

  /**
   * Consecutive minutes a Listener's target group has no healthy task before its alarm fires (1-60).
   *
   * @default 2
   */
  readonly noHealthyTargetsMinutes?: number;
}
