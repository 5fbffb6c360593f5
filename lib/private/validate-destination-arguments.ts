/**
 * Validation of a destination's `Arguments` (records.ts `DestinationArgumentsRecord`) and of the
 * target ARN of the write-only destinations CloudWatch Logs, S3 and DynamoDB. Used by
 * validate-records.ts; messages name the field path, the value and what is allowed.
 */
import { DYNAMODB_TABLE_ARN, LOG_GROUP_ARN, S3_BUCKET_ARN, SQS_QUEUE_ARN } from './arn';
import type { TextPattern } from './limits';
import type { DestinationArgumentsRecord, DestinationTypeName } from './records';
import { parseS3KeyFormat, S3_KEY_FORMAT_ALLOWED, S3_KEY_PREFIX } from './s3-object-key';

/** The destination types each argument applies to. */
export const DESTINATION_ARGUMENT_TYPES: Readonly<Record<keyof DestinationArgumentsRecord & string, readonly DestinationTypeName[]>> = {
  SendRaw: ['sqs'],
  UseMessageAttributes: ['sqs'],
  MessageGroupIdExpression: ['sqs'],
  MessageGroupIdFormatter: ['sqs'],
  MessageDeduplicationIdExpression: ['sqs'],
  MessageDeduplicationIdFormatter: ['sqs'],
  KeyPrefix: ['s3'],
  KeyFormat: ['s3'],
  PartitionKeyAttribute: ['dynamodb'],
  SortKeyAttribute: ['dynamodb'],
};

/** Every field of `Arguments` (the table above names each, or does not compile). */
export const DESTINATION_ARGUMENT_FIELDS = Object.keys(DESTINATION_ARGUMENT_TYPES) as readonly (keyof DestinationArgumentsRecord & string)[];

/** Target ARN of each write-only destination type of this module. */
const WRITE_ONLY_ARNS: Partial<Record<DestinationTypeName, { readonly pattern: TextPattern; readonly what: string }>> = {
  logs: { pattern: LOG_GROUP_ARN, what: 'a CloudWatch Logs log group ARN' },
  s3: { pattern: S3_BUCKET_ARN, what: 'an S3 bucket ARN' },
  dynamodb: { pattern: DYNAMODB_TABLE_ARN, what: 'a DynamoDB table ARN' },
};

/** Why `arn` is not the target of a destination of `type` (logs, s3, dynamodb), or undefined. */
export function writeOnlyDestinationArnProblem(type: DestinationTypeName, arn: unknown): string | undefined {
  const target = WRITE_ONLY_ARNS[type];
  if (target === undefined) return undefined;
  if (arn === undefined) return `missing (required; allowed: ${target.pattern.allowed})`;
  if (typeof arn !== 'string' || !target.pattern.pattern.test(arn)) return `${show(arn)} is not ${target.what} (allowed: ${target.pattern.allowed})`;
  return undefined;
}

/** Packet fields a DynamoDB item carries as attributes; key attributes must have other names. */
export const DYNAMODB_PACKET_ATTRIBUTES = ['Tag', 'Remote', 'Local', 'ReceivedAt', 'IngressRegion', 'Formatter', 'Inner', 'Data'] as const;

/** A DynamoDB key attribute name. */
export const DYNAMODB_KEY_ATTRIBUTE: TextPattern = {
  pattern: /^[A-Za-z0-9_.-]{1,255}$/,
  allowed: `1–255 characters of A-Z a-z 0-9 _ . -, other than ${DYNAMODB_PACKET_ATTRIBUTES.join(', ')}`,
};

/** Default key attribute names of the DynamoDB destination. */
export const DYNAMODB_DEFAULT_PARTITION_KEY = 'pk';
export const DYNAMODB_DEFAULT_SORT_KEY = 'sk';

/** SQS message group and deduplication ids: 1–128 characters of A-Z a-z 0-9 and ASCII punctuation. */
export const SQS_MESSAGE_ID: TextPattern = {
  pattern: /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/,
  allowed: '1–128 characters of A-Z a-z 0-9 and ASCII punctuation',
};

/**
 * Problems of `args` (an object already checked for unknown fields), each prefixed with `path`;
 * the packet arguments (`MessageGroupIdExpression`…) are checked by validate-records.ts.
 * `arn` is the destination's Arn: a deduplication id needs a FIFO queue.
 */
export function destinationArgumentErrors(args: Record<string, unknown>, path: string, arn: unknown): string[] {
  const errors: string[] = [];
  const error = (field: string, value: unknown, problem: string, allowed: string): void => {
    errors.push(`${path}.${field}: ${show(value)} ${problem} (allowed: ${allowed})`);
  };
  for (const field of ['SendRaw', 'UseMessageAttributes'] as const) {
    if (args[field] !== undefined && typeof args[field] !== 'boolean') error(field, args[field], 'is not a boolean', 'true or false');
  }
  if (args.MessageDeduplicationIdExpression !== undefined && typeof arn === 'string' && SQS_QUEUE_ARN.pattern.test(arn) && !arn.endsWith('.fifo')) {
    errors.push(`${path}.MessageDeduplicationIdExpression: is set for the standard queue ${arn} (allowed: only for FIFO queues, whose names end in .fifo)`);
  }
  if (args.KeyPrefix !== undefined && (typeof args.KeyPrefix !== 'string' || !S3_KEY_PREFIX.pattern.test(args.KeyPrefix))) {
    error('KeyPrefix', args.KeyPrefix, 'is not a key prefix', S3_KEY_PREFIX.allowed);
  }
  if (args.KeyFormat !== undefined) {
    const parsed = typeof args.KeyFormat === 'string' ? parseS3KeyFormat(args.KeyFormat) : { problem: `is not a key format (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
    if ('problem' in parsed) errors.push(`${path}.KeyFormat: ${show(args.KeyFormat)} ${parsed.problem}`);
  }
  for (const field of ['PartitionKeyAttribute', 'SortKeyAttribute'] as const) {
    const value = args[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !DYNAMODB_KEY_ATTRIBUTE.pattern.test(value) || (DYNAMODB_PACKET_ATTRIBUTES as readonly string[]).includes(value)) {
      error(field, value, 'is not a key attribute name', DYNAMODB_KEY_ATTRIBUTE.allowed);
    }
  }
  const partitionKey = args.PartitionKeyAttribute ?? DYNAMODB_DEFAULT_PARTITION_KEY;
  const sortKey = args.SortKeyAttribute ?? DYNAMODB_DEFAULT_SORT_KEY;
  if ((args.PartitionKeyAttribute !== undefined || args.SortKeyAttribute !== undefined) && partitionKey === sortKey) {
    errors.push(`${path}.SortKeyAttribute: ${show(sortKey)} is also the partition key attribute (allowed: a name other than ${show(partitionKey)})`);
  }
  return errors;
}

/** The value as it appears in messages: JSON, shortened. */
function show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'object' && value !== null ? (Array.isArray(value) ? 'an array' : 'an object') : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
