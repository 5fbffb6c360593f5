/**
 * Amazon Resource Names: splitting, the patterns of the resources the gateway references (with
 * the "allowed" text of their error messages), and the SQS queue URL of a queue ARN. Used by the
 * constructs, the registration function and the data plane. Pure: no CDK import.
 */
import type { TextPattern } from './limits';

/** The fields of an ARN `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  /** Empty for global services (IAM). */
  readonly region: string;
  /** Empty for some resources (S3 buckets). */
  readonly account: string;
  /** Everything after the fifth colon, colons included. */
  readonly resource: string;
}

const PARTITION = /^aws[a-z-]*$/;
const SERVICE = /^[a-z0-9-]+$/;

/** Splits an ARN; undefined when `value` is not one (no `arn:` prefix, fewer than six fields, bad partition or service). */
export function parseArn(value: string): ParsedArn | undefined {
  if (typeof value !== 'string' || !value.startsWith('arn:')) return undefined;
  const parts = value.split(':');
  if (parts.length < 6 || !PARTITION.test(parts[1]) || !SERVICE.test(parts[2])) return undefined;
  return { partition: parts[1], service: parts[2], region: parts[3], account: parts[4], resource: parts.slice(5).join(':') };
}

/** A Lambda function: ARN (optionally qualified), name, or `name:alias`. */
export const LAMBDA_FUNCTION: TextPattern = {
  pattern: /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/,
  allowed: 'a function ARN, name, or name:alias',
};

/** An SQS queue ARN. */
export const SQS_QUEUE_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/,
  allowed: 'arn:<partition>:sqs:<region>:<account>:<queue>',
};

/** An SNS topic ARN. */
export const SNS_TOPIC_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
  allowed: 'arn:<partition>:sns:<region>:<account>:<topic>',
};

/** A CloudWatch Logs log group ARN (with or without the trailing `:*`). */
export const LOG_GROUP_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[A-Za-z0-9._/#-]{1,512}(:\*)?$/,
  allowed: 'arn:<partition>:logs:<region>:<account>:log-group:<name>',
};

/** A Secrets Manager secret ARN. */
export const SECRET_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/,
  allowed: 'arn:<partition>:secretsmanager:<region>:<account>:secret:<name>',
};

/** An IAM role ARN. */
export const IAM_ROLE_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/,
  allowed: 'arn:<partition>:iam::<account>:role/<name>',
};

/** Region and account of a CloudFormation stack, from its id (`arn:…:cloudformation:<region>:<account>:stack/<name>/<id>`). */
export function stackEnvironment(stackId: string): { readonly region: string; readonly account: string } {
  const arn = parseArn(stackId);
  if (!arn || arn.service !== 'cloudformation') {
    throw new Error(`StackId ${JSON.stringify(stackId)} is not a CloudFormation stack ARN (allowed: arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>)`);
  }
  return { region: arn.region, account: arn.account };
}

/** Where an SQS queue is reached: the queue URL and the region to sign requests for. */
export interface QueueLocation {
  readonly region: string;
  readonly queueUrl: string;
}

/**
 * Locates an SQS queue from its ARN: `arn:aws:sqs:eu-west-1:123456789012:dlq` →
 * `https://sqs.eu-west-1.amazonaws.com/123456789012/dlq` in `eu-west-1`, honouring the DNS suffix
 * of the partition. With `endpoint` (the SQS endpoint the SDK resolved for the queue's region:
 * `AWS_ENDPOINT_URL_SQS`, FIPS, a VPC endpoint, a local API server), the URL is on that endpoint
 * instead: the SDK sends a request to the host of its QueueUrl, so a URL on the public host would
 * bypass the configured endpoint.
 * @throws Error naming the value and what is allowed when it is not an SQS queue ARN.
 */
export function queueLocationFromArn(queueArn: string, endpoint?: string): QueueLocation {
  if (typeof queueArn !== 'string' || !SQS_QUEUE_ARN.pattern.test(queueArn)) {
    throw new Error(`${JSON.stringify(queueArn)} is not an SQS queue ARN (allowed: ${SQS_QUEUE_ARN.allowed})`);
  }
  const [, partition, , region, account, name] = queueArn.split(':');
  if (endpoint !== undefined) return { region, queueUrl: `${endpoint.replace(/\/+$/, '')}/${account}/${name}` };
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { region, queueUrl: `https://sqs.${region}.${suffix}/${account}/${name}` };
}

/** Where a CloudWatch Logs log group is: its region, account and name. */
export interface LogGroupLocation {
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

/** Locates a log group from its ARN (with or without the trailing `:*`); undefined when `logGroupArn` is not one. */
export function logGroupLocationFromArn(logGroupArn: string): LogGroupLocation | undefined {
  if (typeof logGroupArn !== 'string' || !LOG_GROUP_ARN.pattern.test(logGroupArn)) return undefined;
  const [, , , region, account, , name] = logGroupArn.split(':');
  return { region, account, name };
}

/** Region of an SNS topic ARN; undefined when `topicArn` is not one. */
export function topicRegion(topicArn: string): string | undefined {
  return typeof topicArn === 'string' && SNS_TOPIC_ARN.pattern.test(topicArn) ? topicArn.split(':')[3] : undefined;
}

/** True when `topicArn` names an SNS FIFO topic (the topic name ends in `.fifo`). */
export function isFifoTopicArn(topicArn: string): boolean {
  return parseArn(topicArn)?.resource.endsWith('.fifo') ?? false;
}
