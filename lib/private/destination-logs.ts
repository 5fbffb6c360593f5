/**
 * `Destination.cloudWatchLogs(logGroup)`: the grants and the record target of a CloudWatch Logs
 * destination. The fleet creates one log stream per Listener, destination and task in the group
 * and writes it; a KMS key of the log group is used by CloudWatch Logs itself (through the key's
 * policy), not by the writer, so it needs no grant here.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { WriteOnlyTarget } from './destination-target';

/** Grants `grantee` what writing `logGroup` needs; the target for the Listener record. */
export function bindCloudWatchLogsDestination(logGroup: logs.ILogGroup, grantee: iam.IGrantable): WriteOnlyTarget {
  logGroup.grant(grantee, 'logs:CreateLogStream', 'logs:PutLogEvents');
  return { type: 'logs', arn: logGroup.logGroupArn };
}
