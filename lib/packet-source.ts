import { ArnFormat, Aws, CustomResource, Duration, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { IListener } from './listener';
import { DEAD_LETTER_QUEUE_ALLOWED, parseArn } from './private/arn';
import { acknowledgeNagFindings, nagFindingName } from './private/nag';
import { checkPacketSourceRecord } from './private/record-check';
import {
  PACKET_SOURCE_RESOURCE_TYPE,
  PACKET_SOURCE_ROLE_PATH,
  PacketSourceAttribute,
  PacketSourceProperty,
  SnsTopicSourceProperty,
} from './private/resource-properties';
import { bindTopicOnce } from './private/topic-binding';
import { fail } from './private/validation';

/** Properties of a {@link PacketSource}. */
export interface PacketSourceProps {
  /**
   * The Listener whose address and port the packets leave from: a Listener of a gateway in this
   * stack (`gateway.addListener(...)`), or one of another stack or account
   * (`Listener.fromListenerAttributes(...)`). Its gateway must be in this stack's region.
   */
  readonly listener: IListener;

  /**
   * The topic application code publishes `{"Messages":[…]}` to. Must be in this stack's account
   * and region. The gateway checks the SNS signature of every notification, SHA1withRSA or
   * SHA256withRSA; set your topic's `signatureVersion` to `'2'` for SHA256withRSA (SNS signs
   * with SHA1withRSA by default).
   *
   * @default - a new topic encrypted with a new KMS key, whose notifications SNS signs with
   * SHA256withRSA (SignatureVersion 2)
   */
  readonly topic?: sns.ITopic;

  /**
   * Whether the gateway sends this source's packets. `false` keeps the binding (and the
   * subscription) but drops packets with `SourceDisabled`.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Free text stored with the binding.
   *
   * @default - none
   */
  readonly description?: string;

  /**
   * Queue for what could not be delivered: SNS's redrive target for the subscription, and the
   * gateway's failure record for every packet it could not send, which the gateway sends as this
   * PacketSource's role. The role is granted `sqs:SendMessage` on the queue and, when the queue
   * has a customer-managed KMS key this construct knows of (`encryptionMasterKey`),
   * `kms:GenerateDataKey` and `kms:Decrypt` on that key. Its queue policy must let SNS send to it,
   * and, with a KMS key, the key policy must let SNS use the key.
   *
   * A standard queue: a FIFO queue is refused (the topic's subscription takes only a standard
   * dead-letter queue, and failure records carry no message group).
   *
   * @default - a new queue (SQS-managed encryption, 14-day retention) whose policy lets the topic send to it
   */
  readonly deadLetterQueue?: sqs.IQueue;

  /**
   * Log group the gateway writes this source's delivery errors to.
   *
   * @default - a new log group with `logRetention`
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * Retention of the log group this construct creates. Only without `logGroup`.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the created log group, queue and topic key when they leave the stack.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Binds an SNS topic to a Listener: every message published to the topic is sent as UDP
 * datagrams to the addresses it names, from the Listener's address and port. Creates (unless
 * given) the topic, a dead-letter queue and a log group, and always the role the gateway assumes
 * to subscribe its delivery queue(s) to the topic, and the `Custom::PacketGatewayPacketSource`
 * resource that registers the binding.
 */
export class PacketSource extends Construct {
  /** The topic to publish sourced packets to. */
  public readonly topic: sns.ITopic;

  /** Dead-letter queue of the subscription and of the gateway's failure records. */
  public readonly deadLetterQueue: sqs.IQueue;

  /** Log group of delivery errors. */
  public readonly logGroup: logs.ILogGroup;

  /** The role the gateway assumes; trusts only the gateway's registration principal with `externalId`. */
  public readonly role: iam.IRole;

  /** `sts:ExternalId` the role requires: unique to this PacketSource and stable across deployments. */
  public readonly externalId: string;

  /** Name of the bound Listener. */
  public readonly listenerName: string;

  /** The `Custom::PacketGatewayPacketSource` resource. */
  public readonly resource: CustomResource;

  /** Identifier of the binding (the resource's physical id). */
  public readonly bindingId: string;

  /** Comma-separated ARNs of the delivery-queue subscriptions, one per gateway region. */
  public readonly subscriptionArns: string;

  constructor(scope: Construct, id: string, props: PacketSourceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.validateProps(props);
    this.listenerName = props.listener.listenerName;

    if (props.topic) {
      this.topic = props.topic;
    } else {
      const masterKey = new kms.Key(this, 'TopicKey', {
        description: `Packet Gateway: encrypts PacketSource topic ${this.node.path}`,
        enableKeyRotation: true,
        removalPolicy,
      });
      // SignatureVersion 2: SNS signs with SHA256withRSA instead of its default SHA1withRSA, and the
      // gateway checks every notification's signature (service/sourcing/sns-message-verifier.ts).
      this.topic = new sns.Topic(this, 'Topic', { masterKey, enforceSSL: true, signatureVersion: '2' });
    }
    bindTopicOnce(this, this.topic);

    if (props.logGroup) {
      this.logGroup = props.logGroup;
    } else {
      this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy });
    }

    if (props.deadLetterQueue) {
      this.deadLetterQueue = props.deadLetterQueue;
    } else {
      const queue = new sqs.Queue(this, 'DeadLetterQueue', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy,
      });
      queue.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowTopicRedrive',
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': this.topic.topicArn } },
      }));
      acknowledgeNagFindings(queue, [{
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself a dead-letter queue: the redrive target of the PacketSource subscription and of the gateway failure records',
      }]);
      this.deadLetterQueue = queue;
    }

    // Unique per PacketSource and stable: the stack's UUID (fixed for the stack's life) and the construct address.
    this.externalId = `${Fn.select(2, Fn.split('/', Aws.STACK_ID))}:${this.node.addr}`;
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ArnPrincipal(props.listener.registrationPrincipalArn).withConditions({
        StringEquals: { 'sts:ExternalId': this.externalId },
      }),
      path: PACKET_SOURCE_ROLE_PATH,
      description: 'Assumed by Packet Gateway to subscribe its delivery queues to the PacketSource topic and report failures',
      maxSessionDuration: Duration.hours(1),
    });
    this.role = role;
    const peerPrincipalArns = props.listener.peerPrincipalArns ?? [];
    if (peerPrincipalArns.length > 0) {
      // The gateways of peer regions send the messages published for their regions and write their failure records as this role.
      role.assumeRolePolicy?.addStatements(new iam.PolicyStatement({
        actions: ['sts:AssumeRole'],
        principals: peerPrincipalArns.map((arn) => new iam.ArnPrincipal(arn)),
        conditions: { StringEquals: { 'sts:ExternalId': this.externalId } },
      }));
    }
    const topicArn = this.topic.topicArn;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'SubscribeGatewayDeliveryQueues',
      actions: ['sns:Subscribe'],
      resources: [topicArn],
      conditions: {
        StringEquals: { 'sns:Protocol': 'sqs' },
        StringLike: { 'sns:Endpoint': props.listener.deliveryQueueArns },
      },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadTopic',
      actions: ['sns:GetTopicAttributes', 'sns:ListSubscriptionsByTopic'],
      resources: [topicArn],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ManageTopicSubscriptions',
      actions: ['sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes'],
      resources: [topicArn, `${topicArn}:*`],
    }));
    // The gateway sends failure records as this role (never as its fleet): sending, and the queue's key when it has one.
    this.deadLetterQueue.grant(role, 'sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl');
    this.deadLetterQueue.encryptionMasterKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.logGroup.grantWrite(role);
    const topicName = nagFindingName(this, topicArn);
    acknowledgeNagFindings(role.node.findChild('DefaultPolicy'), [{
      id: 'AwsSolutions-IAM5',
      reason: 'Subscription actions address the subscriptions of this topic only (topic ARN followed by :subscription-id)',
      appliesTo: [topicName !== undefined ? `Resource::${topicName}:*` : { regex: '/^Resource::arn:[^:]+:sns:[^:]+:\\d{12}:[^:]+:\\*$/' }],
    }]);

    const deliveryLogGroupArn = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: this.logGroup.logGroupName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    checkPacketSourceRecord(this, {
      TopicArn: topicArn,
      ListenerName: props.listener.listenerName,
      Enabled: props.enabled ?? true,
      DeadLetterQueueArn: this.deadLetterQueue.queueArn,
      DeliveryLogGroupArn: deliveryLogGroupArn,
      ...(props.description !== undefined ? { Description: props.description } : {}),
      RoleArn: role.roleArn,
      ExternalId: this.externalId,
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: props.listener.serviceToken,
      resourceType: PACKET_SOURCE_RESOURCE_TYPE,
      properties: {
        [PacketSourceProperty.ListenerName]: props.listener.listenerName,
        [PacketSourceProperty.SnsTopicSource]: {
          [SnsTopicSourceProperty.TopicArn]: topicArn,
          [SnsTopicSourceProperty.Role]: role.roleArn,
          [SnsTopicSourceProperty.ExternalId]: this.externalId,
        },
        [PacketSourceProperty.DeadLetterQueueArn]: this.deadLetterQueue.queueArn,
        [PacketSourceProperty.DeliveryLogGroupArn]: deliveryLogGroupArn,
        [PacketSourceProperty.Enabled]: props.enabled ?? true,
        ...(props.description !== undefined ? { [PacketSourceProperty.Description]: props.description } : {}),
      },
    });
    // The role's policies, the queue policy and the Listener record must exist before registration.
    this.resource.node.addDependency(role, this.deadLetterQueue, this.topic, props.listener);
    this.bindingId = this.resource.getAttString(PacketSourceAttribute.BindingId);
    this.subscriptionArns = this.resource.getAttString(PacketSourceAttribute.SubscriptionArns);
  }

  /**
   * Grants `grantee` permission to publish sourced packets to the topic and, when the topic is
   * encrypted, to use its KMS key for that (`kms:GenerateDataKey`, `kms:Decrypt`).
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipalOrResource({ grantee, actions: ['sns:Publish'], resourceArns: [this.topic.topicArn], resource: this.topic });
    this.topic.masterKey?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return grant;
  }

  /** Messages published to the topic. Sum over 5 minutes by default. */
  public metricMessagesPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.topic.metricNumberOfMessagesPublished(props);
  }

  /** Notifications SNS could not deliver to the gateway's delivery queue(s). Sum over 5 minutes by default. */
  public metricNotificationsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.topic.metricNumberOfNotificationsFailed(props);
  }

  /** Failure records and undeliverable notifications waiting in the dead-letter queue. */
  public metricDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }

  private validateProps(props: PacketSourceProps): void {
    if (props.deadLetterQueue?.fifo) {
      fail(this, `deadLetterQueue ${props.deadLetterQueue.node.path} is a FIFO queue (allowed: ${DEAD_LETTER_QUEUE_ALLOWED})`);
    }
    if (props.logGroup && props.logRetention !== undefined) {
      fail(this, 'logRetention applies only to the log group this construct creates; remove it or do not pass logGroup');
    }
    if (props.description !== undefined && !Token.isUnresolved(props.description) && props.description.length > 1024) {
      fail(this, `description must be at most 1024 characters, got ${props.description.length}`);
    }
    const stack = Stack.of(this);
    const env = props.topic?.env;
    if (env && !Token.isUnresolved(env.region) && !Token.isUnresolved(stack.region) && env.region !== stack.region) {
      fail(this, `topic must be in this stack's region (${stack.region}), got a topic in ${env.region}; create the PacketSource in the topic's region`);
    }
    if (env && !Token.isUnresolved(env.account) && !Token.isUnresolved(stack.account) && env.account !== stack.account) {
      fail(this, `topic must be in this stack's account (${stack.account}), got a topic of account ${env.account}; create the PacketSource in the topic's account`);
    }
    if (!Token.isUnresolved(props.listener.serviceToken) && !Token.isUnresolved(stack.region)) {
      const tokenRegion = parseArn(props.listener.serviceToken)?.region;
      if (tokenRegion && tokenRegion !== stack.region) {
        fail(this, `listener belongs to a gateway in ${tokenRegion}, but this stack is in ${stack.region}: a PacketSource registers with the gateway of its own region`);
      }
    }
  }
}
