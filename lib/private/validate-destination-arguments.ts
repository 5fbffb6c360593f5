/**
 * The one home of a destination's `Arguments` (records.ts `<Type>ArgumentsRecord`): which
 * arguments each destination type takes, and the check of their values. Used by
 * validate-records.ts, so the constructs at synth, the registration function and the data plane's
 * configuration loading refuse the same records with the same messages: each names the field
 * path, the value and what is allowed. Also the target ARN of the write-only destinations
 * CloudWatch Logs, S3 and DynamoDB.
 */
import { DYNAMODB_TABLE_ARN, isFifoArn, LOG_GROUP_ARN, S3_BUCKET_ARN, SQS_QUEUE_ARN } from './arn';
import { BINARY_EXPRESSION_ALLOWED, binaryExpressionProblem } from './binary-expression';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE, LAMBDA_ASYNC_MAX_PAYLOAD_BYTES, LAMBDA_TENANT_ID, type TextPattern } from './limits';
import {
  ARGUMENT_FORMATTERS, LAMBDA_INVOCATION_TYPES, STATE_MACHINE_TYPES,
  type DestinationTypeName, type DynamoDbArgumentsRecord, type EventBridgeArgumentsRecord, type KinesisArgumentsRecord,
  type LambdaArgumentsRecord, type PacketArgumentName, type S3ArgumentsRecord, type SqsArgumentsRecord, type StepFunctionsArgumentsRecord,
} from './records';
import { parseS3KeyFormat, S3_KEY_FORMAT_ALLOWED, S3_KEY_PREFIX } from './s3-object-key';

/**
 * The argument names of arguments record `T`, in the order given. The argument must name every
 * field of `T` and no other, so a field added to a `<Type>ArgumentsRecord` in records.ts without
 * being added here is a compile error.
 */
function argumentNames<T>(fields: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(fields);
}

/** The arguments each destination type takes; a type listed with none takes no `Arguments`. */
export const DESTINATION_ARGUMENTS: Readonly<Record<DestinationTypeName, readonly string[]>> = {
  lambda: argumentNames<LambdaArgumentsRecord>({
    InvocationType: true,
    UseResponseStreaming: true,
    TenantId: true,
    TenantIdExpression: true,
    TenantIdFormatter: true,
  }),
  sqs: argumentNames<SqsArgumentsRecord>({
    SendRaw: true,
    UseMessageAttributes: true,
    MessageGroupIdExpression: true,
    MessageGroupIdFormatter: true,
    MessageDeduplicationIdExpression: true,
    MessageDeduplicationIdFormatter: true,
  }),
  stepfunctions: argumentNames<StepFunctionsArgumentsRecord>({ StateMachineType: true }),
  kinesis: argumentNames<KinesisArgumentsRecord>({ PartitionKeyExpression: true, PartitionKeyFormatter: true }),
  eventbridge: argumentNames<EventBridgeArgumentsRecord>({ EventSource: true, EventDetailType: true }),
  s3: argumentNames<S3ArgumentsRecord>({ KeyPrefix: true, KeyFormat: true }),
  dynamodb: argumentNames<DynamoDbArgumentsRecord>({ PartitionKeyAttribute: true, SortKeyAttribute: true }),
  local: [],
  log: [],
  apigateway: [],
  logs: [],
  sns: [],
  firehose: [],
};

/** The destination types that take argument `name` (empty for a name no type takes). */
export function destinationTypesOfArgument(name: string): readonly DestinationTypeName[] {
  return (Object.keys(DESTINATION_ARGUMENTS) as DestinationTypeName[]).filter((type) => DESTINATION_ARGUMENTS[type].includes(name));
}

/** Every argument name of every type. */
export const DESTINATION_ARGUMENT_NAMES: readonly string[] = [...new Set(Object.values(DESTINATION_ARGUMENTS).flat())];

/**
 * Problems of the destination fields of `record` that are arguments (`TenantIdExpression` beside
 * `Type` instead of under `Arguments`), each prefixed with `path`: an argument has one place.
 * `type` is the record's valid Type, if any.
 */
export function flatArgumentErrors(record: Record<string, unknown>, path: string, type: DestinationTypeName | undefined): string[] {
  const errors: string[] = [];
  for (const name of DESTINATION_ARGUMENT_NAMES) {
    if (record[name] === undefined) continue;
    const types = destinationTypesOfArgument(name);
    if (type === undefined || types.includes(type)) {
      errors.push(`${path}.${name}: ${name} is an argument now: put it under Arguments.${name}`);
    } else {
      errors.push(`${path}.${name}: ${show(record[name])} is set on a destination of Type ${type} (allowed: ${name} only for Type ${types.join(' or ')}, under Arguments.${name})`);
    }
  }
  return errors;
}

/** How {@link destinationArgumentErrors} treats argument names no destination type takes. */
export interface DestinationArgumentOptions {
  /**
   * Report argument names no destination type takes (typos). Readers of stored records written by
   * a newer version turn this off; an argument of another type is reported either way.
   * @default true
   */
  readonly rejectUnknownArguments?: boolean;
}

/**
 * Problems of the `Arguments` of destination `record` (of valid Type `type`, or undefined when its
 * Type is not valid), each prefixed with `path` (the destination's path): `Arguments` must be an
 * object holding only arguments of its Type, each of the right kind. Lambda's `InvocationType`
 * `Event` also bounds the record's `Batching.SizeInBytes`; an SQS deduplication expression needs
 * a FIFO queue `Arn`.
 */
export function destinationArgumentErrors(
  record: Record<string, unknown>, path: string, type: DestinationTypeName | undefined, options: DestinationArgumentOptions = {},
): string[] {
  const value = record.Arguments;
  if (value === undefined) return [];
  const check = new ArgumentCheck(path);
  const allowed = type === undefined ? DESTINATION_ARGUMENT_NAMES : DESTINATION_ARGUMENTS[type];
  const allowedText = type === undefined ? allowed.join(', ') : allowedArguments(type);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    check.error('', value, 'is not an object', type === undefined ? `an object of arguments (${allowedText})` : `an object with ${allowedText}`);
    return check.errors;
  }
  const args = value as Record<string, unknown>;
  if (type !== undefined) {
    for (const [name, v] of Object.entries(args)) {
      if (allowed.includes(name)) continue;
      const types = destinationTypesOfArgument(name);
      if (types.length > 0) {
        check.error(name, v, `is not an argument of Type ${type}, but of Type ${types.join(' or ')}`, allowedText);
      } else if (options.rejectUnknownArguments ?? true) {
        check.errors.push(`${path}.Arguments.${name}: unknown argument of Type ${type} (allowed: ${allowedText})`);
      }
    }
    ARGUMENT_CHECKS[type]?.(check, args, record);
  } else if (options.rejectUnknownArguments ?? true) {
    for (const name of Object.keys(args)) {
      if (!allowed.includes(name)) check.errors.push(`${path}.Arguments.${name}: unknown argument (allowed: ${allowedText})`);
    }
  }
  return check.errors;
}

/**
 * Errors of one packet argument in a destination's arguments `args` at `path`:
 * `<name>Expression` must parse as a binary range expression (the message names the column and
 * what was expected) and `<name>Formatter` must be one of ARGUMENT_FORMATTERS. Both are optional.
 */
export function validatePacketArgument(args: Record<string, unknown>, name: PacketArgumentName, path: string): string[] {
  const check = new ArgumentCheck(path, path);
  check.packetArgument(args, name);
  return check.errors;
}

/** The arguments of `type` as messages list them. */
function allowedArguments(type: DestinationTypeName): string {
  const names = DESTINATION_ARGUMENTS[type];
  return names.length > 0 ? `the arguments of Type ${type}: ${names.join(', ')}` : `no Arguments for Type ${type}`;
}

/** The value checks of each type's arguments (types without arguments have none). */
type ArgumentValueCheck = (check: ArgumentCheck, args: Record<string, unknown>, record: Record<string, unknown>) => void;
const ARGUMENT_CHECKS: Partial<Record<DestinationTypeName, ArgumentValueCheck>> = {
  lambda: (check, args, record) => {
    const invocationType = check.oneOf(args, 'InvocationType', LAMBDA_INVOCATION_TYPES, 'is not a Lambda invocation type');
    check.boolean(args, 'UseResponseStreaming');
    if (invocationType === 'Event' && args.UseResponseStreaming === true) {
      check.error('UseResponseStreaming', true, 'is set with InvocationType Event',
        'UseResponseStreaming only with InvocationType RequestResponse (asynchronous invocations have no response)');
    }
    const batching = record.Batching;
    const size = typeof batching === 'object' && batching !== null ? (batching as Record<string, unknown>).SizeInBytes : undefined;
    if (invocationType === 'Event' && typeof size === 'number' && size > LAMBDA_ASYNC_MAX_PAYLOAD_BYTES) {
      check.errorAt(`${check.destinationPath}.Batching.SizeInBytes`, size, 'is more than an asynchronous invocation takes',
        `at most ${LAMBDA_ASYNC_MAX_PAYLOAD_BYTES} with InvocationType Event`);
    }
    check.pattern(args, 'TenantId', LAMBDA_TENANT_ID, 'is not a Lambda tenant id');
    check.packetArgument(args, 'TenantId');
    if (args.TenantIdExpression !== undefined && args.TenantId !== undefined) {
      check.error('TenantIdExpression', args.TenantIdExpression, 'is set with TenantId', 'TenantId (one tenant) or TenantIdExpression (a tenant per packet), not both');
    }
    if (args.TenantIdFormatter !== undefined && args.TenantIdExpression === undefined) {
      check.error('TenantIdFormatter', args.TenantIdFormatter, 'is set without TenantIdExpression', 'TenantIdFormatter only with TenantIdExpression');
    }
  },
  sqs: (check, args, record) => {
    check.boolean(args, 'SendRaw');
    check.boolean(args, 'UseMessageAttributes');
    const arn = record.Arn;
    if (args.MessageDeduplicationIdExpression !== undefined && typeof arn === 'string' && SQS_QUEUE_ARN.pattern.test(arn) && !isFifoArn(arn)) {
      check.errors.push(`${check.path}.MessageDeduplicationIdExpression: is set for the standard queue ${arn} (allowed: only for FIFO queues, whose names end in .fifo)`);
    }
    check.packetArgument(args, 'MessageGroupId');
    check.packetArgument(args, 'MessageDeduplicationId');
  },
  stepfunctions: (check, args) => {
    check.oneOf(args, 'StateMachineType', STATE_MACHINE_TYPES, 'is not a state machine type');
  },
  kinesis: (check, args) => {
    check.packetArgument(args, 'PartitionKey');
  },
  eventbridge: (check, args) => {
    check.pattern(args, 'EventSource', EVENT_SOURCE, 'is not an event source');
    check.pattern(args, 'EventDetailType', EVENT_DETAIL_TYPE, 'is not an event detail-type');
  },
  s3: (check, args) => {
    if (args.KeyPrefix !== undefined && (typeof args.KeyPrefix !== 'string' || !S3_KEY_PREFIX.pattern.test(args.KeyPrefix))) {
      check.error('KeyPrefix', args.KeyPrefix, 'is not a key prefix', S3_KEY_PREFIX.allowed);
    }
    if (args.KeyFormat !== undefined) {
      const parsed = typeof args.KeyFormat === 'string' ? parseS3KeyFormat(args.KeyFormat) : { problem: `is not a key format (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
      if ('problem' in parsed) check.errors.push(`${check.path}.KeyFormat: ${show(args.KeyFormat)} ${parsed.problem}`);
    }
  },
  dynamodb: (check, args) => {
    for (const field of ['PartitionKeyAttribute', 'SortKeyAttribute'] as const) {
      const value = args[field];
      if (value === undefined) continue;
      if (typeof value !== 'string' || !DYNAMODB_KEY_ATTRIBUTE.pattern.test(value) || (DYNAMODB_PACKET_ATTRIBUTES as readonly string[]).includes(value)) {
        check.error(field, value, 'is not a key attribute name', DYNAMODB_KEY_ATTRIBUTE.allowed);
      }
    }
    const partitionKey = args.PartitionKeyAttribute ?? DYNAMODB_DEFAULT_PARTITION_KEY;
    const sortKey = args.SortKeyAttribute ?? DYNAMODB_DEFAULT_SORT_KEY;
    if ((args.PartitionKeyAttribute !== undefined || args.SortKeyAttribute !== undefined) && partitionKey === sortKey) {
      check.error('SortKeyAttribute', sortKey, 'is also the partition key attribute', `a name other than ${show(partitionKey)}`);
    }
  },
};

/** Collects the problems of the `Arguments` (at `path`) of the destination at `destinationPath`. */
class ArgumentCheck {
  public readonly errors: string[] = [];

  public constructor(public readonly destinationPath: string, public readonly path = `${destinationPath}.Arguments`) {}

  /** A problem of argument `name` (the whole `Arguments` when empty). */
  public error(name: string, value: unknown, problem: string, allowed: string): void {
    this.errorAt(name === '' ? this.path : `${this.path}.${name}`, value, problem, allowed);
  }

  public errorAt(path: string, value: unknown, problem: string, allowed: string): void {
    this.errors.push(`${path}: ${show(value)} ${problem} (allowed: ${allowed})`);
  }

  public boolean(args: Record<string, unknown>, name: string): void {
    if (args[name] !== undefined && typeof args[name] !== 'boolean') this.error(name, args[name], 'is not a boolean', 'true or false');
  }

  public oneOf<T extends string>(args: Record<string, unknown>, name: string, allowed: readonly T[], problem: string): T | undefined {
    const value = args[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.error(name, value, problem, allowed.join(', '));
      return undefined;
    }
    return value as T;
  }

  public pattern(args: Record<string, unknown>, name: string, text: TextPattern, problem: string): void {
    const value = args[name];
    if (value !== undefined && (typeof value !== 'string' || !text.pattern.test(value))) this.error(name, value, problem, text.allowed);
  }

  /** `<name>Expression` (a binary range expression, parsed) and `<name>Formatter` (an argument Formatter). */
  public packetArgument(args: Record<string, unknown>, name: PacketArgumentName): void {
    const expression = args[`${name}Expression`];
    if (expression !== undefined) {
      if (typeof expression !== 'string') {
        this.error(`${name}Expression`, expression, 'is not a string', BINARY_EXPRESSION_ALLOWED);
      } else {
        const problem = binaryExpressionProblem(expression);
        if (problem !== undefined) this.errors.push(`${this.path}.${name}Expression: ${problem} (allowed: ${BINARY_EXPRESSION_ALLOWED})`);
      }
    }
    this.oneOf(args, `${name}Formatter`, ARGUMENT_FORMATTERS, 'is not a Formatter for an argument');
  }
}

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
