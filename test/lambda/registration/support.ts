/**
 * Test support for the registration handler: a real DynamoDB API (dynalite on loopback), STS
 * stubbed to issue credentials, and an in-memory SNS that behaves like SNS for the calls the
 * handler makes (subscriptions per topic, pending confirmation, attributes, errors).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { RegistrationContext } from '../../../lambda/registration/context';
import { roleChain } from '../../../lambda/registration/credentials';
import type { ResourceEvent } from '../../../lambda/registration/events';
import { RecordStore } from '../../../lambda/registration/record-store';
import type { DeliveryTarget } from '../../../lib/private/resource-properties';
import { LocalDynamo } from '../../support/local-dynamo';
import { registrationTables, RegistrationTables } from '../../support/registration-tables';

/** A DynamoDB API on loopback (shared with the data plane's tests). */
export { LocalDynamo };

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const STACK_ID = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/app/11111111-2222-3333-4444-555555555555`;
export const OTHER_STACK_ID = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/other/99999999-2222-3333-4444-555555555555`;
/** An account in the gateway's allowedAccounts: a tenant. */
export const TENANT_ACCOUNT = '210987654321';
export const TENANT_STACK_ID = `arn:aws:cloudformation:${REGION}:${TENANT_ACCOUNT}:stack/tenant/77777777-2222-3333-4444-555555555555`;
export const ACCESS_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/gateway-AccessRole`;
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:push`;
export const OTHER_TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:push-2`;
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/packet-gateway/app-PushRole`;
export const EXTERNAL_ID = '11111111-2222-3333-4444-555555555555:c8aa';
export const DLQ_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:app-PushDeadLetterQueue`;
export const LOG_GROUP_ARN = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:app-PushLogGroup`;

interface FakeSubscription {
  readonly arn: string;
  readonly topicArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  attributes: Record<string, string>;
  confirmed: boolean;
}

function awsError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/** SNS in memory, wired into aws-sdk-client-mock. */
export class FakeSns {
  public readonly mock = mockClient(SNSClient);
  public readonly subscriptions = new Map<string, FakeSubscription>();
  /** Subscriptions across accounts need confirmation; set false to model that. */
  public autoConfirm = true;
  /** Topics that exist; others answer NotFound. */
  public readonly topics = new Set<string>([TOPIC_ARN, OTHER_TOPIC_ARN]);
  private counter = 0;

  constructor() {
    this.mock.on(SubscribeCommand).callsFake((input) => {
      this.requireTopic(input.TopicArn);
      const same = [...this.subscriptions.values()]
        .find((s) => s.topicArn === input.TopicArn && s.protocol === input.Protocol && s.endpoint === input.Endpoint);
      const attributes = { ...(input.Attributes ?? {}) };
      if (same) {
        if (JSON.stringify(same.attributes) !== JSON.stringify(attributes)) {
          throw awsError('InvalidParameterException', 'Invalid parameter: Attributes Reason: Subscription already exists with different attributes');
        }
        return { SubscriptionArn: same.arn };
      }
      const arn = `${input.TopicArn}:sub-${++this.counter}`;
      this.subscriptions.set(arn, {
        arn, topicArn: input.TopicArn!, protocol: input.Protocol!, endpoint: input.Endpoint!, attributes, confirmed: this.autoConfirm,
      });
      return { SubscriptionArn: arn };
    });
    this.mock.on(ListSubscriptionsByTopicCommand).callsFake((input) => {
      this.requireTopic(input.TopicArn);
      return {
        Subscriptions: [...this.subscriptions.values()].filter((s) => s.topicArn === input.TopicArn).map((s) => ({
          SubscriptionArn: s.confirmed ? s.arn : 'PendingConfirmation',
          TopicArn: s.topicArn,
          Protocol: s.protocol,
          Endpoint: s.endpoint,
          Owner: ACCOUNT,
        })),
      };
    });
    this.mock.on(SetSubscriptionAttributesCommand).callsFake((input) => {
      const sub = this.subscriptions.get(input.SubscriptionArn!);
      if (!sub) throw awsError('NotFoundException', 'Subscription does not exist');
      const value = input.AttributeValue ?? '';
      if (value === '' || value === '{}') delete sub.attributes[input.AttributeName!];
      else sub.attributes[input.AttributeName!] = value;
      return {};
    });
    this.mock.on(UnsubscribeCommand).callsFake((input) => {
      if (!this.subscriptions.delete(input.SubscriptionArn!)) throw awsError('NotFoundException', 'Subscription does not exist');
      return {};
    });
  }

  /** The subscriptions of a topic. */
  public of(topicArn: string): FakeSubscription[] {
    return [...this.subscriptions.values()].filter((s) => s.topicArn === topicArn);
  }

  /** What the fleet does when it receives the SubscriptionConfirmation. */
  public confirmAll(): void {
    for (const s of this.subscriptions.values()) s.confirmed = true;
  }

  public restore(): void {
    this.mock.restore();
  }

  private requireTopic(topicArn: string | undefined): void {
    if (!topicArn || !this.topics.has(topicArn)) throw awsError('NotFoundException', 'Topic does not exist');
  }
}

/** STS issuing distinct credentials per role; records what was assumed. */
export class FakeSts {
  public readonly mock = mockClient(STSClient);
  private counter = 0;

  constructor() {
    this.mock.on(AssumeRoleCommand).callsFake((input) => ({
      Credentials: {
        AccessKeyId: `ASIA${String(++this.counter).padStart(4, '0')}${input.RoleArn === ACCESS_ROLE_ARN ? 'ACCESS' : 'SOURCE'}`,
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(Date.now() + 900_000),
      },
    }));
  }

  public restore(): void {
    this.mock.restore();
  }
}

export interface TestContext extends RegistrationContext {
  readonly warnings: Array<{ message: string; extra: unknown[] }>;
  /** Milliseconds the handler asked to sleep. */
  readonly slept: number[];
  /** Moves the clock. */
  advance(ms: number): void;
}

/** A context over real tables: the home region first, then `peers`. */
export function testContext(
  dynamo: LocalDynamo, targets: readonly DeliveryTarget[], sts: STSClient = new STSClient({ region: REGION }),
): TestContext {
  let clock = Date.parse('2026-03-11T14:00:00Z');
  const slept: number[] = [];
  const warnings: Array<{ message: string; extra: unknown[] }> = [];
  const sleep = async (ms: number) => {
    slept.push(ms);
  };
  return {
    targets,
    accessRoleArn: ACCESS_ROLE_ARN,
    confirmationTimeoutMs: 600_000,
    gatewayAccount: ACCOUNT,
    store: new RecordStore(() => dynamo.documents),
    snsAs: roleChain({ sts, accessRoleArn: ACCESS_ROLE_ARN, sleep }),
    secrets: new SecretsManagerClient({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    logger: { info: () => undefined, warn: (message, ...extra) => warnings.push({ message, extra }) },
    now: () => clock,
    sleep,
    warnings,
    slept,
    advance: (ms) => {
      clock += ms;
    },
  };
}

/**
 * The hooks of a registration test file (test/support/registration-tables.ts): dynalite per file,
 * and per test a fresh home-region table with a {@link testContext} over it.
 */
export function homeRegionTables(): RegistrationTables<TestContext> {
  return registrationTables((dynamo, table) => testContext(dynamo, [target(REGION, table)]));
}

/** A delivery target of `region` over table `tableName`. */
export function target(region: string, tableName: string): DeliveryTarget {
  return { Region: region, QueueArn: `arn:aws:sqs:${region}:${ACCOUNT}:gateway-DeliveryQueue`, TableName: tableName };
}

let requests = 0;

/** A CloudFormation request as the provider framework forwards it. */
export function request(
  type: ResourceEvent['RequestType'], resourceType: string, props: Record<string, unknown>,
  extra: Partial<Omit<ResourceEvent, 'RequestType' | 'ResourceType' | 'ResourceProperties'>> = {},
): ResourceEvent {
  return {
    RequestType: type,
    ResourceType: resourceType,
    StackId: STACK_ID,
    LogicalResourceId: 'Push',
    RequestId: `request-${++requests}`,
    ResourceProperties: { ServiceToken: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:provider`, ...props },
    ...extra,
  };
}

/** Properties of a PacketSource resource as CloudFormation sends them (scalars as strings). */
export function sourceProps(overrides: Record<string, unknown> = {}, topic: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ListenerName: 'telemetry',
    SnsTopicSource: { TopicArn: TOPIC_ARN, Role: ROLE_ARN, ExternalId: EXTERNAL_ID, ...topic },
    DeadLetterQueueArn: DLQ_ARN,
    DeliveryLogGroupArn: LOG_GROUP_ARN,
    Enabled: 'true',
    ...overrides,
  };
}

/** Properties of a Listener resource. */
export function listenerProps(name = 'telemetry', port = 5555): Record<string, unknown> {
  return {
    ListenerName: name,
    Configuration: JSON.stringify({
      Name: name,
      Protocol: 'udp',
      Port: port,
      Formatter: 'base64',
      Destinations: [{ Name: 'lambda-0', Type: 'lambda', Arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest` }],
    }),
  };
}
