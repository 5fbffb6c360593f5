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
import { IPacketGateway } from './gateway-interface';
import { AwsApiAccess, PacketGatewayProps, SecretEnvironmentOptions, ServiceLogLevel } from './gateway-props';
import { Listener, ListenerOptions } from './listener';
import { FleetSecrets } from './private/fleet-secrets';
import { addApiEndpoints, createGatewayLoadBalancer, createGatewayVpc, defaultTaskSubnetType } from './private/gateway-network';
import { validateGatewayProps } from './private/gateway-props-validation';
import { ListenerAttachments } from './private/listener-attachment';
import { registerListenerHost } from './private/listener-host';
import { METRICS_NAMESPACE, METRICS_SERVICE_DIMENSION, MetricName } from './private/metrics';
import { acknowledgeNagFindings } from './private/nag';
import { vpcCidrsValue } from './private/network-vpc';
import { assetPath } from './private/package-root';
import { TABLE_PARTITION_KEY } from './private/records';
import { RegistrationProvider } from './private/registration-provider';
import {
  DeliveryTarget, PACKET_SOURCE_ROLE_PATH, RegistrationEnvironment,
} from './private/resource-properties';
import { ServiceEnvironment } from './private/service-environment';
import { validateAccount } from './private/validation';


const CONTAINER_NAME = 'gateway';

/**
 * A regional Packet Gateway: an internet-facing Network Load Balancer with static addresses in
 * front of a Fargate fleet running the data plane, the configuration table, the regional delivery
 * queue for sourced packets, and the registration provider that Listener and PacketSource
 * resources use. Add Listeners with `addListener`.
 */
export class PacketGateway extends Construct implements IPacketGateway {
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
  private readonly fleetSecrets: FleetSecrets;
  private readonly assumeStatement: iam.PolicyStatement;
  private readonly deadLetterStatement: iam.PolicyStatement;
  private readonly confirmStatement: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: PacketGatewayProps = {}) {
    super(scope, id);
    validateGatewayProps(this, props);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const apiAccess = props.awsApiAccess ?? AwsApiAccess.NAT_GATEWAY;
    const healthPort = props.healthPort ?? 8080;
    const stopTimeout = props.stopTimeout ?? Duration.seconds(30);
    const newLogGroup = (logId: string) => new logs.LogGroup(this, logId, { retention: logRetention, removalPolicy });

    // Network.
    this.vpc = props.vpc ?? props.cluster?.vpc ?? createGatewayVpc(this, {
      maxAzs: props.maxAzs, natGateways: props.natGateways, awsApiAccess: apiAccess, flowLogGroup: newLogGroup('FlowLogGroup'),
    });
    const taskSubnets = props.taskSubnets ?? { subnetType: defaultTaskSubnetType(this.vpc, Boolean(props.vpc || props.cluster), apiAccess) };

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
        [ServiceEnvironment.HealthPort]: String(healthPort),
        [ServiceEnvironment.LogLevel]: props.logLevel ?? ServiceLogLevel.INFO,
        ...this.vpcCidrEnvironment(),
      },
      secrets: {
        [ServiceEnvironment.TagSecret]: ecs.Secret.fromSecretsManager(this.replyTagSecret),
      },
      portMappings: [{ containerPort: healthPort, protocol: ecs.Protocol.TCP, name: 'health' }],
      stopTimeout,
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
    if (apiAccess === AwsApiAccess.VPC_ENDPOINTS) addApiEndpoints(this, this.vpc, this.service, taskSubnets);
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
    const { loadBalancer, elasticIpAddresses } = createGatewayLoadBalancer(this, {
      vpc: this.vpc, subnets: props.loadBalancerSubnets, assignElasticIps: props.assignElasticIps,
    });
    this.loadBalancer = loadBalancer;
    this.loadBalancerDnsName = loadBalancer.loadBalancerDnsName;
    this.connections = loadBalancer.connections;
    this.elasticIpAddresses = elasticIpAddresses;
    this.service.connections.allowFrom(this.loadBalancer, ec2.Port.tcp(healthPort), 'load balancer health checks');

    // Listeners.
    this.fleetSecrets = new FleetSecrets(this, this.container, [ServiceEnvironment.TagSecret]);
    const attachments = new ListenerAttachments({
      vpc: this.vpc,
      loadBalancer: this.loadBalancer,
      service: this.service,
      taskDefinition: this.taskDefinition,
      container: this.container,
      healthPort,
      deregistrationDelay: stopTimeout,
    });
    registerListenerHost<Listener>(this, {
      serviceToken: this.serviceToken,
      registrationPrincipalArn: this.registrationPrincipalArn,
      deliveryQueueArns: this.deliveryQueueArns,
      fleetRole: this.accessRole,
      registrationGrantee: this.registrationFunction,
      fleet: this.service,
      attachListener: (listener, clientRestrictions) => {
        const wiring = attachments.attach(listener, clientRestrictions);
        this.listeners.push(listener);
        return wiring;
      },
      addSecretVariable: (baseName, secret, options) => this.fleetSecrets.addUnderFreeName(baseName, secret, options),
    });

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
    this.fleetSecrets.add(name, secret, options);
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

  /** The VPC's CIDR blocks (secondary ones too), which sourced packets and replies must not reach; left out when an imported VPC does not know its primary block. */
  private vpcCidrEnvironment(): Record<string, string> {
    const cidrs = vpcCidrsValue(this.vpc, this.taskDefinition);
    return cidrs === undefined ? {} : { [ServiceEnvironment.VpcCidrs]: cidrs };
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
