/**
 * Small helpers for the ARNs packet sourcing deals with: SNS topics (bindings, subscription
 * confirmation) and SQS queues (dead-letter queues).
 */

/** The parts of an ARN that locate a resource: `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export interface ArnParts {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

const ARN_PATTERN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]+):(\d{12}):(.+)$/;
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** Splits an ARN with a region and a 12-digit account; undefined when `arn` is not one. */
export function parseArn(arn: string): ArnParts | undefined {
  const m = ARN_PATTERN.exec(arn);
  if (!m) return undefined;
  return { partition: m[1], service: m[2], region: m[3], account: m[4], resource: m[5] };
}

/** Where an SQS queue is reached: the queue URL and the region to sign requests for. */
export interface QueueLocation {
  readonly region: string;
  readonly queueUrl: string;
}

/**
 * Locates an SQS queue from its ARN: `arn:aws:sqs:eu-west-1:123456789012:dlq` →
 * `https://sqs.eu-west-1.amazonaws.com/123456789012/dlq` in `eu-west-1`.
 * @throws Error naming the value when it is not an SQS queue ARN.
 */
export function queueLocationFromArn(queueArn: string): QueueLocation {
  const parts = parseArn(queueArn);
  if (!parts || parts.service !== 'sqs' || !NAME_PATTERN.test(parts.resource)) {
    throw new Error(`'${queueArn}' is not an SQS queue ARN; expected arn:aws:sqs:<region>:<account>:<queue name>`);
  }
  const domain = parts.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { region: parts.region, queueUrl: `https://sqs.${parts.region}.${domain}/${parts.account}/${parts.resource}` };
}

/** Region of an SNS topic ARN; undefined when `topicArn` is not one. */
export function topicRegion(topicArn: string): string | undefined {
  const parts = parseArn(topicArn);
  return parts && parts.service === 'sns' && NAME_PATTERN.test(parts.resource) ? parts.region : undefined;
}
