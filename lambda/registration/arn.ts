/** The fields of an ARN `arn:partition:service:region:account:resource`. */
export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

/** Splits an ARN; undefined when `value` is not one. */
export function parseArn(value: string): ParsedArn | undefined {
  const parts = value.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || !parts[1] || !parts[2]) return undefined;
  return { partition: parts[1], service: parts[2], region: parts[3], account: parts[4], resource: parts.slice(5).join(':') };
}

/** Region and account of the stack that sent a CloudFormation request (`arn:…:cloudformation:<region>:<account>:stack/<name>/<id>`). */
export function stackEnvironment(stackId: string): { readonly region: string; readonly account: string } {
  const arn = parseArn(stackId);
  if (!arn || arn.service !== 'cloudformation') throw new Error(`StackId ${JSON.stringify(stackId)} is not a CloudFormation stack ARN`);
  return { region: arn.region, account: arn.account };
}

/** True when `topicArn` names an SNS FIFO topic (the topic name ends in `.fifo`). */
export function isFifoTopicArn(topicArn: string): boolean {
  return parseArn(topicArn)?.resource.endsWith('.fifo') ?? false;
}
