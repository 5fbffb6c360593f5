/**
 * Parsing of the custom-resource properties. CloudFormation delivers every scalar as a string
 * (`"true"`, `"5555"`), so booleans are parsed here. New properties are parsed strictly (every
 * problem named, unknown properties rejected); the old properties of Update and Delete requests
 * are parsed leniently, so a request carrying an older or partial shape still completes.
 */
import { RegistrationError } from './errors';
import { DEAD_LETTER_QUEUE_ALLOWED, deadLetterQueueProblem, IAM_ROLE_ARN, isFifoArn, LOG_GROUP_ARN, parseArn, SNS_TOPIC_ARN, SQS_QUEUE_ARN } from '../../lib/private/arn';
import { EXTERNAL_ID, matches, NAME, TextPattern } from '../../lib/private/limits';
import { PacketSourceProperty, SnsTopicSourceProperty } from '../../lib/private/resource-properties';

/** Properties of `Custom::PacketGatewayPacketSource`, parsed. */
export interface PacketSourceProperties {
  readonly ListenerName: string;
  readonly TopicArn: string;
  readonly RoleArn: string;
  readonly ExternalId: string;
  readonly DeadLetterQueueArn?: string;
  readonly DeliveryLogGroupArn?: string;
  readonly Enabled: boolean;
  readonly Description?: string;
}

/** What an old (previous) property set yields, when it yields anything. */
export type OldPacketSourceProperties = Partial<PacketSourceProperties>;

const KNOWN = new Set<string>(['ServiceToken', ...Object.values(PacketSourceProperty)]);
const KNOWN_TOPIC_SOURCE = new Set<string>(Object.values(SnsTopicSourceProperty));

/**
 * Parses the properties of a Create or Update request. Throws a {@link RegistrationError} that
 * lists every problem, each naming the property, the value and what is allowed.
 */
export function parsePacketSourceProperties(
  raw: Record<string, unknown> | undefined, stack: { region: string; account: string },
): PacketSourceProperties {
  const problems: string[] = [];
  const props = raw ?? {};
  for (const key of Object.keys(props)) {
    if (!KNOWN.has(key)) problems.push(`unknown property ${key} (allowed: ${[...KNOWN].join(', ')})`);
  }
  const listenerName = props[PacketSourceProperty.ListenerName];
  if (typeof listenerName !== 'string' || !NAME.pattern.test(listenerName)) {
    problems.push(`ListenerName must be a Listener name (${NAME.allowed}), got ${describe(listenerName)}`);
  }
  const source = props[PacketSourceProperty.SnsTopicSource];
  let topicArn: unknown;
  let roleArn: unknown;
  let externalId: unknown;
  if (typeof source !== 'object' || source === null || Array.isArray(source)) {
    problems.push(`SnsTopicSource must be an object with TopicArn, Role and ExternalId, got ${describe(source)}`);
  } else {
    const s = source as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (!KNOWN_TOPIC_SOURCE.has(key)) problems.push(`unknown property SnsTopicSource.${key} (allowed: ${[...KNOWN_TOPIC_SOURCE].join(', ')})`);
    }
    topicArn = s[SnsTopicSourceProperty.TopicArn];
    roleArn = s[SnsTopicSourceProperty.Role];
    externalId = s[SnsTopicSourceProperty.ExternalId];
    const topic = matches(topicArn, SNS_TOPIC_ARN) ? parseArn(topicArn) : undefined;
    if (!topic) {
      problems.push(`SnsTopicSource.TopicArn must be an SNS topic ARN (${SNS_TOPIC_ARN.allowed}), got ${describe(topicArn)}`);
    } else {
      if (topic.region !== stack.region) {
        problems.push(`SnsTopicSource.TopicArn ${topicArn} is in region ${topic.region}, but the stack is in ${stack.region}: the topic must be in the stack's region`);
      }
      if (topic.account !== stack.account) {
        problems.push(`SnsTopicSource.TopicArn ${topicArn} belongs to account ${topic.account}, but the stack is in account ${stack.account}: the topic must be in the stack's account`);
      }
      if (isFifoArn(topicArn as string)) {
        problems.push(`SnsTopicSource.TopicArn ${topicArn} is a FIFO topic, which can deliver to FIFO queues only; the gateway's delivery queue is a standard queue: use a standard topic`);
      }
    }
    const role = matches(roleArn, IAM_ROLE_ARN) ? parseArn(roleArn) : undefined;
    if (!role) {
      problems.push(`SnsTopicSource.Role must be an IAM role ARN (${IAM_ROLE_ARN.allowed}), got ${describe(roleArn)}`);
    } else if (role.account !== stack.account) {
      problems.push(`SnsTopicSource.Role ${roleArn} belongs to account ${role.account}, but the stack is in account ${stack.account}: the role must be in the stack's account`);
    }
    if (typeof externalId !== 'string' || !EXTERNAL_ID.pattern.test(externalId)) {
      problems.push(`SnsTopicSource.ExternalId must be ${EXTERNAL_ID.allowed}, got ${describe(externalId)}`);
    }
  }
  const deadLetterQueueArn = optionalArn(props, PacketSourceProperty.DeadLetterQueueArn, SQS_QUEUE_ARN, 'an SQS queue ARN', problems);
  const deadLetterProblem = deadLetterQueueArn !== undefined ? deadLetterQueueProblem(deadLetterQueueArn) : undefined;
  if (deadLetterProblem) problems.push(`DeadLetterQueueArn ${deadLetterQueueArn} ${deadLetterProblem} (allowed: ${DEAD_LETTER_QUEUE_ALLOWED})`);
  const deadLetterQueueAccount = deadLetterQueueArn !== undefined ? parseArn(deadLetterQueueArn)?.account : undefined;
  if (deadLetterQueueAccount !== undefined && deadLetterQueueAccount !== stack.account) {
    problems.push(`DeadLetterQueueArn ${deadLetterQueueArn} belongs to account ${deadLetterQueueAccount}, but the stack is in account ${stack.account}: `
      + "the dead-letter queue must be in the stack's account");
  }
  const deliveryLogGroupArn = optionalArn(props, PacketSourceProperty.DeliveryLogGroupArn, LOG_GROUP_ARN, 'a CloudWatch Logs log group ARN', problems);
  const enabled = parseBoolean(props[PacketSourceProperty.Enabled], 'Enabled', problems) ?? true;
  const description = props[PacketSourceProperty.Description];
  if (description !== undefined && (typeof description !== 'string' || description.length > 1024)) {
    problems.push(`Description must be text of at most 1024 characters, got ${typeof description === 'string' ? `${description.length} characters` : describe(description)}`);
  }
  if (problems.length > 0) {
    throw new RegistrationError(`Invalid PacketSource properties: ${problems.join('; ')}`);
  }
  return {
    ListenerName: listenerName as string,
    TopicArn: topicArn as string,
    RoleArn: roleArn as string,
    ExternalId: externalId as string,
    ...(deadLetterQueueArn !== undefined ? { DeadLetterQueueArn: deadLetterQueueArn } : {}),
    ...(deliveryLogGroupArn !== undefined ? { DeliveryLogGroupArn: deliveryLogGroupArn } : {}),
    Enabled: enabled,
    ...(description !== undefined ? { Description: description as string } : {}),
  };
}

/**
 * Reads whatever an old property set (`OldResourceProperties`, or the properties of a Delete)
 * still carries. Never throws: missing or malformed values are left out.
 */
export function readOldPacketSourceProperties(raw: Record<string, unknown> | undefined): OldPacketSourceProperties {
  const props = raw ?? {};
  const source = typeof props.SnsTopicSource === 'object' && props.SnsTopicSource !== null ? (props.SnsTopicSource as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
  const enabled = parseBoolean(props.Enabled, 'Enabled', []);
  return strip({
    ListenerName: text(props.ListenerName),
    TopicArn: text(source.TopicArn),
    RoleArn: text(source.Role),
    ExternalId: text(source.ExternalId),
    DeadLetterQueueArn: text(props.DeadLetterQueueArn),
    DeliveryLogGroupArn: text(props.DeliveryLogGroupArn),
    Enabled: enabled,
    Description: text(props.Description),
  });
}

/** `true`/`false` as booleans or the strings CloudFormation sends; anything else is a problem. */
export function parseBoolean(value: unknown, name: string, problems: string[]): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true' || value === 'True' || value === 'TRUE') return true;
  if (value === false || value === 'false' || value === 'False' || value === 'FALSE') return false;
  problems.push(`${name} must be true or false, got ${describe(value)}`);
  return undefined;
}

function optionalArn(props: Record<string, unknown>, name: string, arn: TextPattern, what: string, problems: string[]): string | undefined {
  const value = props[name];
  if (value === undefined || value === '') return undefined;
  if (!matches(value, arn)) {
    problems.push(`${name} must be ${what} (${arn.allowed}), got ${describe(value)}`);
    return undefined;
  }
  return value;
}

function strip<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A short description of a value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 200 ? `${json.slice(0, 200)}…` : json;
}
