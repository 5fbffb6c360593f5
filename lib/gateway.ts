import { Annotations, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Listener, ListenerOptions } from './listener';
import { ENVIRONMENT_VARIABLE_NAME, PORT } from './private/limits';
import { ListenerWiring } from './private/listener-wiring';
import { METRICS_NAMESPACE, METRICS_SERVICE_DIMENSION, MetricName } from './private/metrics';
import { acknowledgeNagFindings } from './private/nag';
import { assetPath } from './private/package-root';
import { TABLE_PARTITION_KEY } from './private/records';
import { RegistrationProvider } from './private/registration-provider';
import {
  DeliveryTarget, PACKET_SOURCE_ROLE_PATH, RegistrationEnvironment,
} from './private/resource-properties';
import { ServiceEnvironment } from './private/service-environment';
import { fail, validateAccount, validateArn, validateInteger, validateIntegerRange, validateRange, validateRegion } from './private/validation';

/** How the fleet's tasks reach AWS APIs (DynamoDB, SQS, Lambda, ECR, CloudWatch Logs…). */
export enum AwsApiAccess {
  /**
   * NAT gateways in the public subnets. Cheapest for a small fleet (one NAT gateway by default)
   * and reaches every AWS service and region; data processed through NAT is billed per GB.
   */
  NAT_GATEWAY = 'NAT_GATEWAY',

  /**
   * Interface and gateway VPC endpoints in the task subnets, no route to the internet. API traffic
   * stays on the AWS network; every interface endpoint is billed per hour and AZ. Only the
   * gateway's own region is reachable: destinations in other regions need NAT.
   */
  VPC_ENDPOINTS = 'VPC_ENDPOINTS',
}

/** Log level of the data-plane service. */
export enum ServiceLogLevel {
  /** Everything, including per-batch details. */
  DEBUG = 'DEBUG',
  /** Lifecycle events and one record per failed packet. */
  INFO = 'INFO',
  /** Problems only. */
  WARN = 'WARN',
  /** Errors only. */
  ERROR = 'ERROR',
}

/**
 * A gateway of the same account in another region. PacketSources registered with this gateway
 * also subscribe the peer's delivery queue (filtered on `EgressRegion`) and write their binding
 * into the peer's table, so messages published with `EgressRegion` set to the peer's region leave
 * from the peer.
 */
export interface GatewayPeer {
  /** Region of the peer gateway. */
  readonly region: string;

  /** The peer's `deliveryQueueArn`. */
  readonly deliveryQueueArn: string;

  /** The peer's `tableName`. */
  readonly tableName: string;
}

/** How `addSecretEnvironment` reads a secret. */
export interface SecretEnvironmentOptions {
  /**
   * Key of a JSON secret whose value the variable gets.
   *
   * @default - the whole secret value
   */
  readonly field?: string;

  /**
   * Version of the secret the tasks read. A new version id changes the task definition, so the
   * fleet restarts with the new value. Needs a secret with a complete ARN.
   *
   * @default - the current version (AWSCURRENT) when a task starts
   */
  readonly versionId?: string;
}

/** Properties of a {@link PacketGateway}. */
export interface PacketGatewayProps {
  /**
   * The VPC: public subnets for the load balancer, private subnets for the tasks.
   *
   * @default - a new VPC over `maxAzs` availability zones with flow logs
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Availability zones of the new VPC. Only when `vpc` is not given.
   *
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * How tasks reach AWS APIs. With a new VPC, `NAT_GATEWAY` creates NAT gateways and
   * `VPC_ENDPOINTS` creates isolated task subnets with endpoints. With your own `vpc`,
   * `VPC_ENDPOINTS` adds the endpoints to it and `NAT_GATEWAY` adds nothing (its routes must
   * reach AWS APIs).
   *
   * @default AwsApiAccess.NAT_GATEWAY
   */
  readonly awsApiAccess?: AwsApiAccess;

  /**
   * NAT gateways of the new VPC (with `AwsApiAccess.NAT_GATEWAY`). One per AZ survives the loss of
   * an AZ; each costs an hourly fee.
   *
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * Subnets of the internet-facing load balancer; one Elastic IP per subnet.
   *
   * @default - the public subnets, one per AZ
   */
  readonly loadBalancerSubnets?: ec2.SubnetSelection;

  /**
   * Subnets of the tasks.
   *
   * @default - the private subnets
   */
  readonly taskSubnets?: ec2.SubnetSelection;

  /**
   * The ECS cluster of the fleet.
   *
   * @default - a new cluster with Container Insights in the VPC
   */
  readonly cluster?: ecs.ICluster;

  /**
   * Container image of the data plane, for instance a published image pinned by digest.
   *
   * @default - built from the data plane bundled with this library
   */
  readonly image?: ecs.ContainerImage;

  /**
   * CPU architecture of the tasks; also the platform the bundled image is built for.
   *
   * @default ecs.CpuArchitecture.ARM64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * vCPU units of a task (256, 512, 1024, 2048, 4096, 8192 or 16384).
   *
   * @default 512
   */
  readonly cpu?: number;

  /**
   * Memory of a task in MiB; must suit `cpu` (Fargate task sizes).
   *
   * @default 1024
   */
  readonly memoryLimitMiB?: number;

  /**
   * Tasks of the fleet. Above 1, packets a PacketSource publishes leave only from the task that
   * holds the client's flow (see the warning this emits).
   *
   * @default 1
   */
  readonly desiredCount?: number;

  /**
   * Largest fleet when autoscaling on CPU; enables autoscaling from `desiredCount` up to this.
   *
   * @default - no autoscaling
   */
  readonly maxCapacity?: number;

  /**
   * Average CPU utilization the autoscaling keeps (1-100). Only with `maxCapacity`.
   *
   * @default 60
   */
  readonly targetCpuUtilizationPercent?: number;

  /**
   * Time a task gets between SIGTERM and SIGKILL to flush batches and drain (2-120 seconds); also
   * the target group's deregistration delay.
   *
   * @default Duration.seconds(30)
   */
  readonly stopTimeout?: Duration;

  /**
   * TCP port of the service's health endpoint, checked by the load balancer.
   *
   * @default 8080
   */
  readonly healthPort?: number;

  /**
   * Give the load balancer one Elastic IP per subnet: static addresses that clients can
   * allow-list, kept across deployments. Without them AWS assigns the addresses.
   *
   * @default true
   */
  readonly assignElasticIps?: boolean;

  /**
   * Accounts whose stacks may create PacketSources with this gateway: they may invoke the service
   * token, their SNS topics may deliver to the delivery queue, and their PacketSource roles may be
   * assumed. The gateway's own account is always allowed.
   *
   * @default - only the gateway's account
   */
  readonly allowedAccounts?: string[];

  /**
   * Gateways of this account in other regions; PacketSources registered here also subscribe
   * their delivery queues (one region per `EgressRegion` value).
   *
   * @default - this region only
   */
  readonly peers?: GatewayPeer[];

  /**
   * Secret whose value signs reply Tags, shared by all tasks: base64 of at least 16 bytes.
   *
   * @default - a new generated secret
   */
  readonly replyTagSecret?: secretsmanager.ISecret;

  /**
   * Log level of the data-plane service.
   *
   * @default ServiceLogLevel.INFO
   */
  readonly logLevel?: ServiceLogLevel;

  /**
   * Retention of every log group the gateway creates (service, functions, flow logs).
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the table and the log groups when they leave the stack. The table holds only
   * records that the stacks re-create.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Fargate task sizes: memory range (MiB) and step for each vCPU setting. */
const FARGATE_SIZES: Record<number, { min: number; max: number; step: number }> = {
  256: { min: 512, max: 2048, step: 512 },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};

const CONTAINER_NAME = 'gateway';

/**
 * A regional Packet Gateway: an internet-facing Network Load Balancer with static addresses in
 * front of a Fargate fleet running the data plane, the configuration table, the regional delivery
 * queue for sourced packets, and the registration provider that Listener and PacketSource
 * resources use. Add Listeners with `addListener`.
 */
export class PacketGateway extends Construct implements ec2.IConnectable {
  /** The VPC of the load balancer and the fleet. */
  public readonly vpc: ec2.IVpc;

  /** The ECS cluster of the fleet. */
  public readonly cluster: ecs.ICluster;

  /** Task definition of the data plane. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;

  /** The data-plane container. */
  public readonly container: ecs.ContainerDefinition;

  /** The Fargate service of the fleet. */
  public readonly service: ecs.FargateService;

  /** The internet-facing Network Load Balancer. */
  public readonly loadBalancer: elbv2.NetworkLoadBalancer;

  /** DNS name of the load balancer. */
  public readonly loadBalancerDnsName: string;

  /** Public addresses of the load balancer (one per subnet) when `assignElasticIps` is on; else empty. */
  public readonly elasticIpAddresses: string[];

  /** Security group of the load balancer: clients reach Listener ports through it. */
  public readonly connections: ec2.Connections;

  /** Table of Listener and PacketSource records. */
  public readonly table: dynamodb.ITable;

  /** Name of the table (peers in other regions need it). */
  public readonly tableName: string;

  /** Queue that SNS topics of PacketSources deliver sourced packets to. */
  public readonly deliveryQueue: sqs.IQueue;

  /** ARN of the delivery queue. */
  public readonly deliveryQueueArn: string;

  /** Dead-letter queue of the delivery queue (notifications the fleet failed to process). */
  public readonly deliveryDeadLetterQueue: sqs.IQueue;

  /**
   * Delivery queues a PacketSource registered here subscribes: this region's, then the peers'.
   */
  public readonly deliveryQueueArns: string[];

  /**
   * The identity the fleet runs as (the task role) and the registration handler acts through.
   * PacketSource roles trust it with an `sts:ExternalId` condition.
   */
  public readonly accessRole: iam.IRole;

  /** ARN of `accessRole`: the principal that PacketSource roles trust. */
  public readonly registrationPrincipalArn: string;

  /** Service token of the registration provider, for Listener and PacketSource resources. */
  public readonly serviceToken: string;

  /** The function handling Listener and PacketSource resources. */
  public readonly registrationFunction: lambda.IFunction;

  /** Secret signing reply Tags. */
  public readonly replyTagSecret: secretsmanager.ISecret;

  /** Log group of the fleet. */
  public readonly logGroup: logs.ILogGroup;

  /** Listeners added to this gateway. */
  public readonly listeners: Listener[] = [];

  private readonly allowedAccounts: string[] = [];
  private readonly secretEnvironmentNames = new Set<string>([ServiceEnvironment.TagSecret]);
  private readonly assumeStatement: iam.PolicyStatement;
  private readonly deadLetterStatement: iam.PolicyStatement;
  private readonly confirmStatement: iam.PolicyStatement;
  private readonly healthPort: number;
  private readonly stopTimeout: Duration;
  private privilegedPortsAllowed = false;

  constructor(scope: Construct, id: string, props: PacketGatewayProps = {}) {
    super(scope, id);
    this.validateProps(props);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const apiAccess = props.awsApiAccess ?? AwsApiAccess.NAT_GATEWAY;
    this.healthPort = props.healthPort ?? 8080;
    this.stopTimeout = props.stopTimeout ?? Duration.seconds(30);
    const newLogGroup = (logId: string) => new logs.LogGroup(this, logId, { retention: logRetention, removalPolicy });

    // Network.
    this.vpc = props.vpc ?? props.cluster?.vpc ?? this.createVpc(props, apiAccess, newLogGroup('FlowLogGroup'));
    const taskSubnets = props.taskSubnets ?? { subnetType: this.defaultTaskSubnetType(props, apiAccess) };

    // Configuration table.
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
    this.table = table;
    this.tableName = table.tableName;

    // Delivery queue for sourced packets.
    this.deliveryDeadLetterQueue = new sqs.Queue(this, 'DeliveryDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const deliveryQueue = new sqs.Queue(this, 'DeliveryQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(1),
      visibilityTimeout: Duration.seconds(30),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deliveryDeadLetterQueue, maxReceiveCount: 5 },
    });
    this.deliveryQueue = deliveryQueue;
    this.deliveryQueueArn = deliveryQueue.queueArn;
    deliveryQueue.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowSnsTopicsOfAllowedAccounts',
      principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [deliveryQueue.queueArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Lazy.list({ produce: () => this.accountsAllowed() }) },
        ArnLike: { 'aws:SourceArn': Lazy.list({ produce: () => this.accountsAllowed().map((a) => `arn:${stack.partition}:sns:*:${a}:*`) }) },
      },
    }));
    const peers = props.peers ?? [];
    this.deliveryQueueArns = [deliveryQueue.queueArn, ...peers.map((p) => p.deliveryQueueArn)];

    // The fleet's identity, also the principal PacketSource roles trust.
    const accessRole = new iam.Role(this, 'AccessRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com').withConditions({ StringEquals: { 'aws:SourceAccount': stack.account } }),
      description: 'Packet Gateway fleet; assumed by the registration handler to reach PacketSource roles',
    });
    this.accessRole = accessRole;
    this.registrationPrincipalArn = accessRole.roleArn;
    table.grantReadData(accessRole);
    deliveryQueue.grantConsumeMessages(accessRole);
    this.assumeStatement = new iam.PolicyStatement({ sid: 'AssumePacketSourceRoles', actions: ['sts:AssumeRole'] });
    this.deadLetterStatement = new iam.PolicyStatement({ sid: 'SendFailureRecordsToPacketSourceQueues', actions: ['sqs:SendMessage'] });
    this.confirmStatement = new iam.PolicyStatement({ sid: 'ConfirmPacketSourceSubscriptions', actions: ['sns:ConfirmSubscription'] });
    for (const statement of [this.assumeStatement, this.deadLetterStatement, this.confirmStatement]) accessRole.addToPrincipalPolicy(statement);
    this.addAccountResources(stack.account);

    // Registration provider.
    const targets = [
      { Region: stack.region, QueueArn: deliveryQueue.queueArn, TableName: table.tableName },
      ...peers.map((p): DeliveryTarget => ({ Region: p.region, QueueArn: p.deliveryQueueArn, TableName: p.tableName })),
    ];
    const registration = new RegistrationProvider(this, 'Registration', {
      environment: {
        [RegistrationEnvironment.DeliveryTargets]: stack.toJsonString(targets),
        [RegistrationEnvironment.AccessRoleArn]: accessRole.roleArn,
      },
      logRetention,
      removalPolicy,
    });
    this.serviceToken = registration.serviceToken;
    this.registrationFunction = registration.onEventFunction;
    table.grantReadWriteData(registration.role);
    if (peers.length > 0) {
      registration.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'WritePeerRecords',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: peers.map((p) => stack.formatArn({ service: 'dynamodb', region: p.region, resource: 'table', resourceName: p.tableName })),
      }));
    }
    registration.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ActAsRegistrationPrincipal', actions: ['sts:AssumeRole'], resources: [accessRole.roleArn] }));
    accessRole.assumeRolePolicy?.addStatements(new iam.PolicyStatement({
      actions: ['sts:AssumeRole'],
      principals: [new iam.ArnPrincipal(registration.role.roleArn)],
    }));

    // Fleet.
    this.cluster = props.cluster ?? new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.ARM64;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: { cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      taskRole: accessRole,
    });
    this.replyTagSecret = props.replyTagSecret ?? new secretsmanager.Secret(this, 'ReplyTagSecret', {
      description: 'Packet Gateway: key that signs reply Tags, shared by all tasks',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.logGroup = newLogGroup('ServiceLogGroup');
    this.container = this.taskDefinition.addContainer('Gateway', {
      containerName: CONTAINER_NAME,
      image: props.image ?? ecs.ContainerImage.fromAsset(assetPath('service'), {
        platform: cpuArchitecture === ecs.CpuArchitecture.X86_64 ? Platform.LINUX_AMD64 : Platform.LINUX_ARM64,
      }),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'gateway', logGroup: this.logGroup }),
      environment: {
        [ServiceEnvironment.Table]: table.tableName,
        [ServiceEnvironment.DeliveryQueueUrl]: deliveryQueue.queueUrl,
        [ServiceEnvironment.HealthPort]: String(this.healthPort),
        [ServiceEnvironment.LogLevel]: props.logLevel ?? ServiceLogLevel.INFO,
        ...this.vpcCidrEnvironment(),
      },
      secrets: {
        [ServiceEnvironment.TagSecret]: ecs.Secret.fromSecretsManager(this.replyTagSecret),
      },
      portMappings: [{ containerPort: this.healthPort, protocol: ecs.Protocol.TCP, name: 'health' }],
      stopTimeout: this.stopTimeout,
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount ?? 1,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      assignPublicIp: false,
      vpcSubnets: taskSubnets,
      circuitBreaker: { enable: true, rollback: true },
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
    });
    if (apiAccess === AwsApiAccess.VPC_ENDPOINTS) this.addEndpoints(taskSubnets);
    if (props.maxCapacity !== undefined) {
      this.service.autoScaleTaskCount({ minCapacity: props.desiredCount ?? 1, maxCapacity: props.maxCapacity })
        .scaleOnCpuUtilization('CpuScaling', { targetUtilizationPercent: props.targetCpuUtilizationPercent ?? 60 });
    }
    const largest = Math.max(props.desiredCount ?? 1, props.maxCapacity ?? 0);
    if (!Token.isUnresolved(largest) && largest > 1) {
      Annotations.of(this).addWarningV2('cdk-packet-gateway:multipleTasks',
        `The fleet may run ${largest} tasks. Replies always work, but a packet published to a PacketSource leaves only from the task that holds `
        + 'the client\'s load-balancer flow; tasks do not yet hand packets to each other, so the other tasks drop it with NoActiveFlow '
        + '(logged, counted and dead-lettered). Keep desiredCount at 1 (and no maxCapacity) while you use PacketSources.');
    }

    // Load balancer with static addresses.
    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'Packet Gateway load balancer: UDP from clients to the Listener ports',
    });
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
      vpcSubnets: props.loadBalancerSubnets ?? { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [lbSecurityGroup],
      crossZoneEnabled: true,
    });
    this.loadBalancerDnsName = this.loadBalancer.loadBalancerDnsName;
    this.connections = this.loadBalancer.connections;
    const lbSubnets = props.loadBalancerSubnets ?? { subnetType: ec2.SubnetType.PUBLIC };
    this.elasticIpAddresses = props.assignElasticIps === false ? [] : this.assignElasticIps(lbSubnets);
    this.service.connections.allowFrom(this.loadBalancer, ec2.Port.tcp(this.healthPort), 'load balancer health checks');

    for (const account of props.allowedAccounts ?? []) this.allowAccount(account);
    this.acknowledgeNagFindings();
  }

  /** Adds a Listener (UDP or WireGuard): a load-balancer listener, the fleet's port mapping and the Listener record. */
  public addListener(id: string, options: ListenerOptions): Listener {
    return new Listener(this, id, { ...options, gateway: this });
  }

  /**
   * Lets stacks of `account` create PacketSources with this gateway: invoke the service token,
   * deliver from their topics to the delivery queue, and have their PacketSource roles assumed.
   */
  public allowAccount(account: string): void {
    validateAccount(this, 'allowedAccounts', account);
    if (this.allowedAccounts.includes(account)) return;
    this.allowedAccounts.push(account);
    new lambda.CfnPermission(this, `ServiceTokenPermission${Token.isUnresolved(account) ? this.allowedAccounts.length : account}`, {
      action: 'lambda:InvokeFunction',
      functionName: this.serviceToken,
      principal: account,
    });
    this.addAccountResources(account);
  }

  /**
   * Passes a Secrets Manager secret to the data-plane container in environment variable `name`
   * (an ECS secret: the value never appears in the task definition). The task execution role may
   * read exactly this secret. WireGuard Listeners pass their keys this way.
   */
  public addSecretEnvironment(name: string, secret: secretsmanager.ISecret, options: SecretEnvironmentOptions = {}): void {
    if (!Token.isUnresolved(name) && !ENVIRONMENT_VARIABLE_NAME.pattern.test(name)) {
      fail(this, `addSecretEnvironment: name must be an environment variable name (A-Z, a-z, 0-9 and _, not starting with a digit), got ${JSON.stringify(name)}`);
    }
    if (this.secretEnvironmentNames.has(name)) {
      fail(this, `addSecretEnvironment: environment variable ${name} already carries a secret of the data plane; each variable carries one secret`);
    }
    if (options.versionId !== undefined && secret.secretFullArn === undefined) {
      fail(this, `addSecretEnvironment: versionId needs a secret with a complete ARN (ECS addresses versions by complete ARN); ${name} names a secret imported by name or partial ARN`);
    }
    this.secretEnvironmentNames.add(name);
    const value = options.versionId !== undefined
      ? ecs.Secret.fromSecretsManagerVersion(secret, { versionId: options.versionId }, options.field)
      : ecs.Secret.fromSecretsManager(secret, options.field);
    this.container.addSecret(name, value);
  }

  /**
   * `base`, or `base_2`, `base_3`… : the first environment variable name that carries no secret yet.
   * @internal
   */
  public _freeEnvironmentName(base: string): string {
    if (!this.secretEnvironmentNames.has(base)) return base;
    for (let n = 2; ; n++) {
      const candidate = `${base}_${n}`;
      if (!this.secretEnvironmentNames.has(candidate)) return candidate;
    }
  }

  /** A metric emitted by the fleet (namespace `PacketGateway`, dimension `Service`). */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { ...METRICS_SERVICE_DIMENSION },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Packets published to PacketSources and sent by the fleet. Sum over 1 minute by default. */
  public metricSourcedSent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.SourcedSent, props);
  }

  /** Age of the oldest sourced-packet notification waiting in the delivery queue. */
  public metricDeliveryQueueAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryQueue.metricApproximateAgeOfOldestMessage(props);
  }

  /** Notifications the fleet could not process, held in the delivery dead-letter queue. */
  public metricDeliveryDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }

  /**
   * Wires a Listener into the load balancer and the fleet.
   * @internal
   */
  public _attachListener(listener: Listener, clientRestrictions: readonly string[] | undefined): ListenerWiring {
    const port = listener.port;
    if (this.listeners.some((l) => l.listenerName === listener.listenerName && !Token.isUnresolved(l.listenerName))) {
      fail(listener, `listenerName ${JSON.stringify(listener.listenerName)} is already used by another Listener of this gateway; Listener names must be unique`);
    }
    if (!Token.isUnresolved(port) && this.listeners.some((l) => l.port === port)) {
      fail(listener, `port ${port} is already used by another Listener of this gateway; each Listener needs its own port`);
    }
    if (this.listeners.length >= 50) {
      fail(listener, 'a gateway serves at most 50 Listeners (the Network Load Balancer listener quota)');
    }
    this.listeners.push(listener);

    this.container.addPortMappings({ containerPort: port, protocol: ecs.Protocol.UDP });
    if ((Token.isUnresolved(port) || port < 1024) && !this.privilegedPortsAllowed) {
      // The service runs as an unprivileged user; let it bind ports below 1024 (DNS, NTP, CoAP…) in its own network namespace.
      this.privilegedPortsAllowed = true;
      (this.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition)
        .addPropertyOverride('ContainerDefinitions.0.SystemControls', [{ Namespace: 'net.ipv4.ip_unprivileged_port_start', Value: '0' }]);
    }
    const loadBalancerListener = new elbv2.NetworkListener(listener, 'LoadBalancerListener', {
      loadBalancer: this.loadBalancer,
      port,
      protocol: elbv2.Protocol.UDP,
    });
    const targetGroup = new elbv2.NetworkTargetGroup(listener, 'TargetGroup', {
      vpc: this.vpc,
      port,
      protocol: elbv2.Protocol.UDP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: this.stopTimeout,
      connectionTermination: true,
      healthCheck: {
        protocol: elbv2.Protocol.TCP,
        port: String(this.healthPort),
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
      targets: [this.service.loadBalancerTarget({ containerName: CONTAINER_NAME, containerPort: port, protocol: ecs.Protocol.UDP })],
    });
    loadBalancerListener.addTargetGroups('Fleet', targetGroup);
    (this.service.node.defaultChild as ecs.CfnService).healthCheckGracePeriodSeconds = 60;
    this.service.node.addDependency(loadBalancerListener);

    const connections = new ec2.Connections({ securityGroups: this.loadBalancer.connections.securityGroups, defaultPort: ec2.Port.udp(port) });
    const peers = clientRestrictions
      ? clientRestrictions.map((cidr) => (cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr)))
      : [ec2.Peer.anyIpv4()];
    for (const peer of peers) connections.allowDefaultPortFrom(peer, `clients of Listener ${listener.listenerName}`);
    this.service.connections.allowFrom(this.loadBalancer, ec2.Port.udp(port), `Listener ${listener.listenerName}`);
    return { connections, loadBalancerListener, targetGroup };
  }

  /** The VPC's CIDR block, which sourced packets and replies must not reach; left out when an imported VPC does not know it. */
  private vpcCidrEnvironment(): Record<string, string> {
    try {
      return { [ServiceEnvironment.VpcCidrs]: this.vpc.vpcCidrBlock };
    } catch {
      return {};
    }
  }

  private accountsAllowed(): string[] {
    return [Stack.of(this).account, ...this.allowedAccounts];
  }

  private addAccountResources(account: string): void {
    const partition = Stack.of(this).partition;
    this.assumeStatement.addResources(`arn:${partition}:iam::${account}:role${PACKET_SOURCE_ROLE_PATH}*`);
    this.deadLetterStatement.addResources(`arn:${partition}:sqs:*:${account}:*`);
    this.confirmStatement.addResources(`arn:${partition}:sns:*:${account}:*`);
  }

  private createVpc(props: PacketGatewayProps, apiAccess: AwsApiAccess, flowLogGroup: logs.ILogGroup): ec2.IVpc {
    const withNat = apiAccess === AwsApiAccess.NAT_GATEWAY;
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      natGateways: withNat ? props.natGateways ?? 1 : 0,
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: 'LoadBalancer', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'Tasks', subnetType: withNat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
      ],
    });
    vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: ec2.FlowLogTrafficType.REJECT });
    return vpc;
  }

  private defaultTaskSubnetType(props: PacketGatewayProps, apiAccess: AwsApiAccess): ec2.SubnetType {
    if (props.vpc || props.cluster) {
      return this.vpc.privateSubnets.length > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
    }
    return apiAccess === AwsApiAccess.NAT_GATEWAY ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
  }

  private addEndpoints(subnets: ec2.SubnetSelection): void {
    const interfaces: Array<[string, ec2.InterfaceVpcEndpointAwsService]> = [
      ['EcrApiEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR],
      ['EcrDockerEndpoint', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
      ['LogsEndpoint', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
      ['SecretsManagerEndpoint', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
      ['SqsEndpoint', ec2.InterfaceVpcEndpointAwsService.SQS],
      ['SnsEndpoint', ec2.InterfaceVpcEndpointAwsService.SNS],
      ['StsEndpoint', ec2.InterfaceVpcEndpointAwsService.STS],
      ['LambdaEndpoint', ec2.InterfaceVpcEndpointAwsService.LAMBDA],
      ['KmsEndpoint', ec2.InterfaceVpcEndpointAwsService.KMS],
    ];
    const securityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'Packet Gateway VPC endpoints: HTTPS from the fleet',
    });
    securityGroup.connections.allowFrom(this.service, ec2.Port.tcp(443), 'fleet to AWS APIs');
    for (const [endpointId, service] of interfaces) {
      new ec2.InterfaceVpcEndpoint(this, endpointId, {
        vpc: this.vpc, service, subnets, privateDnsEnabled: true, securityGroups: [securityGroup], open: false,
      });
    }
    new ec2.GatewayVpcEndpoint(this, 'DynamoDbEndpoint', { vpc: this.vpc, service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [subnets] });
    new ec2.GatewayVpcEndpoint(this, 'S3Endpoint', { vpc: this.vpc, service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [subnets] });
  }

  private assignElasticIps(selection: ec2.SubnetSelection): string[] {
    const subnets = this.vpc.selectSubnets(selection).subnets;
    const cfnLoadBalancer = this.loadBalancer.node.defaultChild as elbv2.CfnLoadBalancer;
    const eips = subnets.map((_subnet, i) => new ec2.CfnEIP(this, `ElasticIp${i + 1}`, {
      domain: 'vpc',
      tags: [{ key: 'Name', value: `${this.node.path}/ElasticIp${i + 1}` }],
    }));
    cfnLoadBalancer.subnets = undefined;
    cfnLoadBalancer.subnetMappings = subnets.map((subnet, i) => ({ subnetId: subnet.subnetId, allocationId: eips[i].attrAllocationId }));
    return eips.map((eip) => eip.attrPublicIp);
  }

  private validateProps(props: PacketGatewayProps): void {
    if (props.vpc && (props.maxAzs !== undefined || props.natGateways !== undefined)) {
      fail(this, 'maxAzs and natGateways apply only to the VPC the gateway creates; remove them or do not pass vpc');
    }
    if (props.awsApiAccess === AwsApiAccess.VPC_ENDPOINTS && props.natGateways !== undefined) {
      fail(this, 'natGateways cannot be combined with awsApiAccess VPC_ENDPOINTS (the task subnets have no NAT route)');
    }
    validateInteger(this, 'maxAzs', props.maxAzs, 1, 6);
    validateInteger(this, 'natGateways', props.natGateways, 1, 6);
    validateInteger(this, 'desiredCount', props.desiredCount, 0, 1000);
    if (props.maxCapacity !== undefined) {
      validateInteger(this, 'maxCapacity', props.maxCapacity, Math.max(1, props.desiredCount ?? 1), 1000);
    } else if (props.targetCpuUtilizationPercent !== undefined) {
      fail(this, 'targetCpuUtilizationPercent applies only with maxCapacity (autoscaling); set maxCapacity or remove it');
    }
    validateInteger(this, 'targetCpuUtilizationPercent', props.targetCpuUtilizationPercent, 1, 100);
    validateIntegerRange(this, 'healthPort', props.healthPort, PORT);
    if (props.stopTimeout) validateRange(this, 'stopTimeout', props.stopTimeout.toSeconds(), 2, 120, ' s');
    const cpu = props.cpu ?? 512;
    const memory = props.memoryLimitMiB ?? 1024;
    if (!Token.isUnresolved(cpu) && !Token.isUnresolved(memory)) {
      const size = FARGATE_SIZES[cpu];
      if (!size) fail(this, `cpu must be one of ${Object.keys(FARGATE_SIZES).join(', ')} (Fargate), got ${cpu}`);
      if (memory < size.min || memory > size.max || (memory - size.min) % size.step !== 0) {
        fail(this, `memoryLimitMiB ${memory} does not fit cpu ${cpu}: Fargate allows ${size.min}-${size.max} MiB in steps of ${size.step}`);
      }
    }
    for (const account of props.allowedAccounts ?? []) validateAccount(this, 'allowedAccounts', account);
    const regions = new Set<string>();
    for (const peer of props.peers ?? []) {
      validateRegion(this, 'peers[].region', peer.region);
      validateArn(this, 'peers[].deliveryQueueArn', peer.deliveryQueueArn, 'sqs');
      const own = Stack.of(this).region;
      if (!Token.isUnresolved(own) && peer.region === own) fail(this, `peers must be in other regions than the gateway (${own}), got ${peer.region}`);
      if (regions.has(peer.region)) fail(this, `peers lists region ${peer.region} twice; one gateway per region`);
      regions.add(peer.region);
      if (!Token.isUnresolved(peer.tableName) && !/^[A-Za-z0-9_.-]{3,255}$/.test(peer.tableName)) {
        fail(this, `peers[].tableName must be a DynamoDB table name (3-255 of A-Z, a-z, 0-9, _ . -), got ${JSON.stringify(peer.tableName)}`);
      }
    }
  }

  private acknowledgeNagFindings(): void {
    acknowledgeNagFindings(this.accessRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'PacketSource roles are created after the gateway, in this and the allowed accounts; the fleet may assume only roles on the /packet-gateway/ path, each trusting it with an ExternalId',
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:iam::[^:]+:role\\/packet-gateway\\/\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'PacketSource dead-letter queues are created after the gateway in this and the allowed accounts; their queue policies name the fleet role',
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:sqs:\\*:[^:]+:\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The fleet confirms the subscriptions of PacketSource topics, which are created after the gateway in this and the allowed accounts',
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:sns:\\*:[^:]+:\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Destination.lambda grants invoke on the function and its versions and aliases (function ARN followed by :*)',
        appliesTo: [{ regex: '/^Resource::(<[A-Za-z0-9]+\\.Arn>|arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+):\\*$/' }],
      },
    ], { applyToChildren: true });
    acknowledgeNagFindings(this.taskDefinition, [
      { id: 'AwsSolutions-ECS2', reason: 'Environment variables hold only resource names and settings; the reply-tag key arrives as an ECS secret' },
      { id: 'AwsSolutions-IAM5', reason: 'ecr:GetAuthorizationToken, used to pull the service image, supports no resource-level permissions', appliesTo: ['Resource::*'] },
    ], { applyToChildren: true });
    acknowledgeNagFindings(this.loadBalancer, [
      { id: 'AwsSolutions-ELB2', reason: 'Network Load Balancer access logs cover TLS listeners only; UDP flows are recorded by VPC flow logs' },
    ]);
    acknowledgeNagFindings(this.loadBalancer.connections.securityGroups[0], [
      { id: 'AwsSolutions-EC23', reason: 'The Listener ports are public UDP endpoints by design; clientRestrictions narrows them to given CIDR blocks' },
    ]);
    const secret = this.node.tryFindChild('ReplyTagSecret');
    if (secret) {
      acknowledgeNagFindings(secret, [
        { id: 'AwsSolutions-SMG4', reason: 'Rotating the reply-tag key would invalidate the Tags of packets in flight; replace the secret to rotate' },
      ]);
    }
  }
}
