import { Annotations, Duration, Lazy, RemovalPolicy, Size, Stack, Token } from 'aws-cdk-lib';
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
import { GatewayAlarmsProps, GatewayDashboardProps } from './gateway-operations';
import { AwsApiAccess, GatewayPeer, PacketGatewayProps, SecretEnvironmentOptions, ServiceLogLevel } from './gateway-props';
import { Listener, ListenerOptions } from './listener';
import { enableFleetRelay } from './private/fleet-relay';
import { defaultDesiredCount, FleetScaling } from './private/fleet-scaling';
import { FleetSecrets } from './private/fleet-secrets';
import { createGatewayAlarms } from './private/gateway-alarms';
import { createGatewayDashboard } from './private/gateway-dashboard';
import { addApiEndpoints, createGatewayLoadBalancer, createGatewayVpc, defaultTaskSubnetType, newElasticIpCount } from './private/gateway-network';
import { validateGatewayProps } from './private/gateway-props-validation';
import { formatPeerDeliveryQueues } from './private/global-forwarding';
import { DEFAULT_ELASTIC_IP_QUOTA, DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS } from './private/limits';
import { ListenerAttachments } from './private/listener-attachment';
import { registerListenerHost } from './private/listener-host';
import { METRICS_NAMESPACE, METRICS_SERVICE_DIMENSION, MetricDimension, MetricName } from './private/metrics';
import { acknowledgeNagFindings } from './private/nag';
import { vpcCidrsValue } from './private/network-vpc';
import { assetPath } from './private/package-root';
import { TABLE_PARTITION_KEY } from './private/records';
import { RegistrationProvider } from './private/registration-provider';
import {
  DeliveryTarget, PACKET_SOURCE_RESOURCE_TYPE, PACKET_SOURCE_ROLE_PATH, RegistrationEnvironment,
} from './private/resource-properties';
import { ServiceEnvironment, STOP_DEADLINE_MARGIN_SECONDS } from './private/service-environment';
import { fail, validateAccount, validateDimensionValue } from './private/validation';


const CONTAINER_NAME = 'gateway';

/** Memory the awslogs driver buffers in non-blocking mode before it drops log lines (the service never waits for CloudWatch Logs). */
const LOG_DRIVER_BUFFER = Size.mebibytes(25);

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

  /**
   * Public addresses of the load balancer (one per subnet) when it allocates Elastic IPs; empty
   * without Elastic IPs or with `elasticIpAllocationIds` (your addresses).
   */
  public readonly elasticIpAddresses: string[];

  /** Security group of the load balancer: clients reach Listener ports through it. */
  public readonly connections: ec2.Connections;

  /** Table of Listener and PacketSource records. */
  public readonly table: dynamodb.ITable;

  /** Name of the table (peers in other regions need it). */
  public readonly tableName: string;

  /**
   * Table of the fleet's ownership directory: which task owns each client flow, and the tasks'
   * relay endpoints. Its items expire on their own (TTL attribute `expiresAt`); the configuration
   * reader never scans it.
   */
  public readonly directoryTable: dynamodb.ITable;

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

  /** Registration principals of the peer gateways (`peers[].registrationPrincipalArn`): PacketSource roles trust them too. */
  public readonly peerPrincipalArns: string[];

  /**
   * Service token of the registration provider, for Listener, WireGuard key and PacketSource
   * resources of this account. Only this account may invoke it.
   */
  public readonly serviceToken: string;

  /**
   * Service token for PacketSources of other accounts (`allowedAccounts`): a provider of its own,
   * which serves `Custom::PacketGatewayPacketSource` only. Give it, with `registrationPrincipalArns`
   * and `deliveryQueueArns`, to the stacks of those accounts (`Listener.fromListenerAttributes`).
   */
  public readonly packetSourceServiceToken: string;

  /** The function handling Listener and PacketSource resources. */
  public readonly registrationFunction: lambda.IFunction;

  /** Secret signing reply Tags. */
  public readonly replyTagSecret: secretsmanager.ISecret;

  /** Log group of the fleet. */
  public readonly logGroup: logs.ILogGroup;

  /** Listeners added to this gateway. */
  public readonly listeners: Listener[] = [];

  /**
   * Value of the `Gateway` dimension of every metric the fleet emits: the stack name and the
   * gateway's construct path, so two gateways in one account and region keep their own series.
   */
  public readonly gatewayName: string;

  private readonly allowedAccounts: string[] = [];
  /** Traffic type of the flow log of the VPC the gateway created; undefined with your VPC. */
  private readonly flowLogTrafficType?: ec2.FlowLogTrafficType;
  private readonly fleetSecrets: FleetSecrets;
  private readonly assumeStatement: iam.PolicyStatement;
  private readonly confirmStatement: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: PacketGatewayProps = {}) {
    super(scope, id);
    validateGatewayProps(this, props);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    // Key material and addresses outlive the stack unless the user says otherwise: peers pin the keys, clients allow-list the addresses.
    const keepsIdentityPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.gatewayName = `${stack.stackName}/${this.node.path.slice(stack.node.path.length + 1)}`;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const apiAccess = props.awsApiAccess ?? AwsApiAccess.NAT_GATEWAY;
    const healthPort = props.healthPort ?? 8080;
    const stopTimeout = props.stopTimeout ?? Duration.seconds(30);
    const newLogGroup = (logId: string) => new logs.LogGroup(this, logId, { retention: logRetention, removalPolicy });

    // Network.
    this.vpc = props.vpc ?? props.cluster?.vpc ?? createGatewayVpc(this, {
      maxAzs: props.maxAzs,
      natGateways: props.natGateways,
      awsApiAccess: apiAccess,
      flowLogGroup: newLogGroup('FlowLogGroup'),
      flowLogTrafficType: props.flowLogTrafficType,
      logGroupProps: { retention: logRetention, removalPolicy },
    });
    if (!props.vpc && !props.cluster) this.flowLogTrafficType = props.flowLogTrafficType ?? ec2.FlowLogTrafficType.ALL;
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
      visibilityTimeout: Duration.seconds(DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS),
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
    this.peerPrincipalArns = peers.flatMap((p) => (p.registrationPrincipalArn !== undefined ? [p.registrationPrincipalArn] : []));
    for (const peer of peers.filter((p) => p.registrationPrincipalArn === undefined)) {
      Annotations.of(this).addWarningV2('cdk-packet-gateway:peerPrincipal',
        `peers: the peer in ${peer.region} has no registrationPrincipalArn, so PacketSource roles do not trust it: it sends the messages `
        + `published for ${peer.region}, but cannot write their failure records to PacketSource dead-letter queues and delivery logs. `
        + 'Give the peer gateway\'s registrationPrincipalArn.');
    }

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
    this.confirmStatement = new iam.PolicyStatement({ sid: 'ConfirmPacketSourceSubscriptions', actions: ['sns:ConfirmSubscription'] });
    // Failure records go to PacketSource dead-letter queues as each PacketSource's role: the fleet may send to no queue of its own accord.
    for (const statement of [this.assumeStatement, this.confirmStatement]) accessRole.addToPrincipalPolicy(statement);
    this.addAccountResources(stack.account);

    // Registration provider.
    const targets = [
      { Region: stack.region, QueueArn: deliveryQueue.queueArn, TableName: table.tableName },
      ...peers.map((p): DeliveryTarget => ({ Region: p.region, QueueArn: p.deliveryQueueArn, TableName: p.tableName })),
    ];
    const registrationEnvironment = {
      [RegistrationEnvironment.DeliveryTargets]: stack.toJsonString(targets),
      [RegistrationEnvironment.AccessRoleArn]: accessRole.roleArn,
    };
    const registration = new RegistrationProvider(this, 'Registration', { environment: registrationEnvironment, logRetention, removalPolicy });
    this.serviceToken = registration.serviceToken;
    this.registrationFunction = registration.onEventFunction;
    // Other accounts invoke a provider of their own, which serves PacketSources only: whatever a request to it claims
    // (StackId, ServiceToken), it can never create or change a Listener or a WireGuard key.
    const packetSourceRegistration = new RegistrationProvider(this, 'PacketSourceRegistration', {
      environment: registrationEnvironment,
      logRetention,
      removalPolicy,
      servedResourceTypes: [PACKET_SOURCE_RESOURCE_TYPE],
      servesDescription: 'PacketSource resources (the service token of allowed accounts)',
    });
    this.packetSourceServiceToken = packetSourceRegistration.serviceToken;
    for (const handler of [registration, packetSourceRegistration]) this.grantRegistration(handler.role, accessRole, peers);

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
      removalPolicy: keepsIdentityPolicy,
    });
    this.logGroup = newLogGroup('ServiceLogGroup');
    this.container = this.taskDefinition.addContainer('Gateway', {
      containerName: CONTAINER_NAME,
      image: props.image ?? ecs.ContainerImage.fromAsset(assetPath('service'), {
        platform: cpuArchitecture === ecs.CpuArchitecture.X86_64 ? Platform.LINUX_AMD64 : Platform.LINUX_ARM64,
      }),
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'gateway',
        logGroup: this.logGroup,
        // A slow CloudWatch Logs API must never stall the packet path; lines beyond the buffer are dropped.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: LOG_DRIVER_BUFFER,
      }),
      environment: {
        [ServiceEnvironment.Table]: table.tableName,
        [ServiceEnvironment.DeliveryQueueUrl]: deliveryQueue.queueUrl,
        [ServiceEnvironment.DeliveryQueueVisibilityTimeoutSeconds]: String(DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS),
        [ServiceEnvironment.HealthPort]: String(healthPort),
        [ServiceEnvironment.LogLevel]: props.logLevel ?? ServiceLogLevel.INFO,
        [ServiceEnvironment.GatewayName]: this.gatewayName,
        // the service's graceful stop ends before ECS sends SIGKILL at the stop timeout
        [ServiceEnvironment.StopDeadlineSeconds]: String(Math.max(1, stopTimeout.toSeconds() - STOP_DEADLINE_MARGIN_SECONDS)),
        ...workersEnvironment(props.workers, props.cpu ?? 512),
        ...this.vpcCidrEnvironment(),
      },
      secrets: {
        [ServiceEnvironment.TagSecret]: ecs.Secret.fromSecretsManager(this.replyTagSecret),
      },
      portMappings: [{ containerPort: healthPort, protocol: ecs.Protocol.TCP, name: 'health' }],
      stopTimeout,
    });
    const desiredCount = props.desiredCount ?? defaultDesiredCount(this.vpc, taskSubnets);
    const maxCapacity = props.maxCapacity;
    if (props.desiredCount === undefined && maxCapacity !== undefined && !Token.isUnresolved(maxCapacity) && maxCapacity < desiredCount) {
      fail(this, `maxCapacity ${maxCapacity} is below the default desiredCount ${desiredCount} (one task per Availability Zone of the task subnets, at least 2); `
        + `allowed: maxCapacity from ${desiredCount} to 1000, or set desiredCount (0 to ${maxCapacity}) to run fewer tasks`);
    }
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      assignPublicIp: false,
      vpcSubnets: taskSubnets,
      circuitBreaker: { enable: true, rollback: true },
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
    });
    if (apiAccess === AwsApiAccess.VPC_ENDPOINTS) addApiEndpoints(this, this.vpc, this.service, taskSubnets);
    const scaling = props.maxCapacity === undefined ? undefined : new FleetScaling(this.service, {
      minCapacity: desiredCount,
      maxCapacity: props.maxCapacity,
      targetCpuUtilizationPercent: props.targetCpuUtilizationPercent ?? 60,
      targetDatagramsPerTaskPerSecond: props.targetDatagramsPerTaskPerSecond,
      targetRelayedPerTaskPerSecond: props.targetRelayedPerTaskPerSecond,
    }, this.metricRelayed());
    this.directoryTable = enableFleetRelay(this, {
      service: this.service,
      container: this.container,
      taskRole: accessRole,
      removalPolicy,
      table: props.directoryTable,
      replicaRegions: props.directoryReplicaRegions,
      tableName: props.directoryTableName,
    });
    if (peers.length > 0) {
      // A member forwards entries whose flow another region owns to that region's delivery queue (docs/FLEET.md "Global").
      this.container.addEnvironment(ServiceEnvironment.PeerDeliveryQueues, formatPeerDeliveryQueues(peers.map((p) => p.deliveryQueueArn)));
      accessRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ForwardToPeerRegions',
        actions: ['sqs:SendMessage'],
        resources: peers.map((p) => p.deliveryQueueArn),
      }));
    }

    // Load balancer with static addresses.
    const { loadBalancer, elasticIpAddresses, elasticIpZones } = createGatewayLoadBalancer(this, {
      vpc: this.vpc,
      subnets: props.loadBalancerSubnets,
      assignElasticIps: props.assignElasticIps,
      elasticIpAllocationIds: props.elasticIpAllocationIds,
      elasticIpRemovalPolicy: keepsIdentityPolicy,
    });
    this.warnAboutElasticIpQuota(props, apiAccess, newElasticIpCount({
      vpc: this.vpc,
      subnets: props.loadBalancerSubnets,
      assignElasticIps: props.assignElasticIps,
      elasticIpAllocationIds: props.elasticIpAllocationIds,
      elasticIpRemovalPolicy: keepsIdentityPolicy,
    }));
    this.loadBalancer = loadBalancer;
    this.loadBalancerDnsName = loadBalancer.loadBalancerDnsName;
    this.connections = loadBalancer.connections;
    this.elasticIpAddresses = elasticIpAddresses;
    // what the fleet reports and where it writes: the public address of each zone (Local.IpAddress),
    // and the account of destinations' LogGroupName log groups
    if (elasticIpAddresses.length > 0) {
      const byZone = elasticIpZones.map((zone, i) => `${zone}=${elasticIpAddresses[i]}`);
      this.container.addEnvironment(ServiceEnvironment.PublicAddresses, byZone.join(','));
    }
    this.container.addEnvironment(ServiceEnvironment.Account, Stack.of(this).account);
    this.container.addEnvironment(ServiceEnvironment.Partition, Stack.of(this).partition);
    this.service.connections.allowFrom(this.loadBalancer, ec2.Port.tcp(healthPort), 'load balancer health checks');
    this.allowPathMtuDiscovery();

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
      peerPrincipalArns: this.peerPrincipalArns,
      deliveryQueueArns: this.deliveryQueueArns,
      fleetRole: this.accessRole,
      registrationGrantee: this.registrationFunction,
      fleet: this.service,
      keyRemovalPolicy: keepsIdentityPolicy,
      metricDimensions: { ...METRICS_SERVICE_DIMENSION, [MetricDimension.Gateway]: this.gatewayName },
      attachListener: (listener, clientRestrictions) => {
        const wiring = attachments.attach(listener, clientRestrictions);
        this.listeners.push(listener);
        scaling?.scaleOnListener(listener);
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
   * Lets stacks of `account` create PacketSources with this gateway: invoke `packetSourceServiceToken`,
   * deliver from their topics to the delivery queue, and have their PacketSource roles assumed.
   */
  public allowAccount(account: string): void {
    validateAccount(this, 'allowedAccounts', account);
    if (this.allowedAccounts.includes(account)) return;
    this.allowedAccounts.push(account);
    new lambda.CfnPermission(this, `ServiceTokenPermission${Token.isUnresolved(account) ? this.allowedAccounts.length : account}`, {
      action: 'lambda:InvokeFunction',
      functionName: this.packetSourceServiceToken,
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

  /** A metric emitted by the fleet (namespace `PacketGateway`, dimensions `Service` and `Gateway`). */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: this.fleetDimensions(),
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Packets published to PacketSources and sent by the fleet. Sum over 1 minute by default. */
  public metricSourcedSent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.SourcedSent, props);
  }

  /** Sourced packets handed to their flow's owner in another fleet member and sent there. Sum over 1 minute by default. */
  public metricRelayed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.Relayed, props);
  }

  /**
   * Relay requests without a `Sent` answer, of one `reason` (`Timeout`, `NotOwner`, `QueueFull`,
   * `Busy`, `Refused`, `PayloadTooLarge`, `SendFailed`) or, without one, of every reason (a CloudWatch Metrics Insights query, which
   * covers the last 3 hours). Sum over 1 minute by default.
   */
  public metricRelayFailures(reason?: string, props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    if (reason === undefined) return this.metricOfEverySeries(MetricName.RelayFailures, 'SUM', props);
    validateDimensionValue(this, 'reason', reason);
    const dimensionsMap = { ...this.fleetDimensions(), [MetricDimension.Reason]: reason, ...props?.dimensionsMap };
    return this.metric(MetricName.RelayFailures, { ...props, dimensionsMap });
  }

  /** Time from a relay request to its answer, in milliseconds. Average over 1 minute by default (pass `statistic: 'p99'` for a percentile). */
  public metricRelayLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RelayLatencyMs, { statistic: cloudwatch.Stats.AVERAGE, unit: cloudwatch.Unit.MILLISECONDS, ...props });
  }

  /** Owner lookups of flows this fleet's members do not own. Sum over 1 minute by default. */
  public metricOwnerLookups(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.OwnerLookups, props);
  }

  /** Owner lookups answered by a member's owner cache. Sum over 1 minute by default. */
  public metricOwnerCacheHits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.OwnerCacheHits, props);
  }

  /**
   * Undelivered packets of one failure `code` (DESIGN.md "Failure codes") or, without one, of every
   * code, over every Listener and PacketSource: a CloudWatch Metrics Insights query (the fleet emits
   * `Failures` with varying dimensions), which covers the last 3 hours. Sum over 1 minute by default.
   */
  public metricFailures(code?: string, props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    if (code !== undefined) validateDimensionValue(this, 'code', code);
    return this.metricOfEverySeries(MetricName.Failures, 'SUM', props, code === undefined ? undefined : [MetricDimension.Code, code]);
  }

  /** Datagrams received by every Listener of the gateway (a Metrics Insights query, last 3 hours). Sum over 1 minute by default. */
  public metricDatagramsIn(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricOfEverySeries(MetricName.DatagramsIn, 'SUM', props);
  }

  /** Replies sent by every Listener of the gateway (a Metrics Insights query, last 3 hours). Sum over 1 minute by default. */
  public metricRepliesOut(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricOfEverySeries(MetricName.RepliesOut, 'SUM', props);
  }

  /** Average time destinations took to accept a batch, over every Listener and destination (a Metrics Insights query, last 3 hours), in milliseconds. */
  public metricDestinationLatency(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricOfEverySeries(MetricName.DestinationLatencyMs, 'AVG', props);
  }

  /** Datagrams the tasks' kernels dropped because a socket's receive buffer was full (the per-task series). Sum over 1 minute by default. */
  public metricReceiveBufferDrops(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.ReceiveBufferDrops, props);
  }

  /** Sourced messages a task skipped because they are for another region's gateway. Sum over 1 minute by default. */
  public metricSourcedSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.SourcedSkipped, props);
  }

  /** Sourced packets forwarded to the delivery queue of the region that owns their flow. Sum over 1 minute by default. */
  public metricForwardedToRegion(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.ForwardedToRegion, props);
  }

  /** Relay requests the fleet's members answered for one another. Sum over 1 minute by default. */
  public metricRelayServed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RelayServed, props);
  }

  /** Completed WireGuard handshakes of every Listener of the gateway (a Metrics Insights query, last 3 hours). Sum over 1 minute by default. */
  public metricWireGuardHandshakes(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricOfEverySeries(MetricName.WireGuardHandshakes, 'SUM', props);
  }

  /**
   * Handshakes a task initiated for a WireGuard peer that spoke to it without a session there
   * (after a restart, a deploy, a move), over every Listener of the gateway (a Metrics Insights
   * query, last 3 hours). Sum over 1 minute by default.
   */
  public metricWireGuardSessionsResumed(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricOfEverySeries(MetricName.WireGuardSessionsResumed, 'SUM', props);
  }

  /** Tasks sealing WireGuard data with node:crypto because libsodium could not load (1 per task at start). Maximum over 1 minute by default. */
  public metricWireGuardCryptoFallback(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.WireGuardCryptoFallback, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** Average packets per delivered batch, over every Listener and destination (a Metrics Insights query, last 3 hours). */
  public metricBatchSize(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricOfEverySeries(MetricName.BatchSize, 'AVG', props);
  }

  /** Packets dropped because a destination's queue was full, over every Listener and destination (a Metrics Insights query, last 3 hours). Sum over 1 minute by default. */
  public metricPacketsDropped(props?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricOfEverySeries(MetricName.PacketsDropped, 'SUM', props);
  }

  /** Metric series the tasks left out of an interval because their series limit was reached. Sum over 1 minute by default. */
  public metricMetricSeriesDropped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.MetricSeriesDropped, props);
  }

  /** Healthy tasks in `listener`'s target group (namespace AWS/NetworkELB, dimensions TargetGroup and LoadBalancer). Minimum over 1 minute by default. */
  public metricHealthyHostCount(listener: Listener, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return listener.targetGroup.metrics.healthyHostCount({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.minutes(1), ...props });
  }

  /** Unhealthy tasks in `listener`'s target group (namespace AWS/NetworkELB, dimensions TargetGroup and LoadBalancer). Maximum over 1 minute by default. */
  public metricUnHealthyHostCount(listener: Listener, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return listener.targetGroup.metrics.unHealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1), ...props });
  }

  /** Concurrent UDP flows through the load balancer (`ActiveFlowCount_UDP`). Average over 1 minute by default. */
  public metricActiveFlowCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.custom('ActiveFlowCount_UDP', { statistic: cloudwatch.Stats.AVERAGE, period: Duration.minutes(1), ...props });
  }

  /** CPU utilization of the fleet's tasks (AWS/ECS). Average over 5 minutes by default. */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service.metricCpuUtilization(props);
  }

  /**
   * Adds a CloudWatch dashboard (construct id `Dashboard`) of the fleet: healthy tasks per Listener,
   * UDP flows, datagrams in and replies out, sourced packets sent and relayed, failures by code,
   * destination latency and relay latency p50/p99, WireGuard handshakes and resumed sessions,
   * batch sizes and dropped packets, skipped and region-forwarded sourced messages, owner lookups,
   * cache hits and relays served, WireGuard crypto fallbacks and dropped metric series (every metric
   * name the fleet emits but the per-destination ones). PacketSources' dead-letter queues live in their
   * own stacks: the dashboard shows the gateway's `Failures` instead. Add the Listeners first.
   */
  public addDashboard(props?: GatewayDashboardProps): cloudwatch.Dashboard {
    return createGatewayDashboard(this, 'Dashboard', props);
  }

  /**
   * Adds alarms (in construct `Alarms`): no healthy task behind a Listener (one per Listener added
   * so far: add the Listeners first), relay failures and `Failures` above their thresholds, and
   * sustained kernel receive-buffer drops.
   */
  public addAlarms(props?: GatewayAlarmsProps): cloudwatch.Alarm[] {
    return createGatewayAlarms(this, 'Alarms', props);
  }

  /** Age of the oldest sourced-packet notification waiting in the delivery queue. */
  public metricDeliveryQueueAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryQueue.metricApproximateAgeOfOldestMessage(props);
  }

  /** Notifications the fleet could not process, held in the delivery dead-letter queue. */
  public metricDeliveryDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }

  /** The dimensions every metric of this gateway carries. */
  private fleetDimensions(): Record<string, string> {
    return { ...METRICS_SERVICE_DIMENSION, [MetricDimension.Gateway]: this.gatewayName };
  }

  /**
   * `metricName` aggregated with `aggregate` over every series of this gateway, whatever its other
   * dimensions (optionally only those where `filter`'s dimension has its value): a Metrics Insights query.
   */
  private metricOfEverySeries(metricName: string, aggregate: 'SUM' | 'AVG', props?: cloudwatch.MetricOptions, filter?: [string, string]): cloudwatch.MathExpression {
    const where = [`${MetricDimension.Gateway} = '${this.gatewayName}'`, ...(filter ? [`${filter[0]} = '${filter[1]}'`] : [])].join(' AND ');
    return new cloudwatch.MathExpression({
      expression: `SELECT ${aggregate}(${metricName}) FROM ${METRICS_NAMESPACE} WHERE ${where}`,
      usingMetrics: {},
      period: props?.period ?? Duration.minutes(1),
      label: props?.label ?? (filter ? `${metricName} ${filter[1]}` : metricName),
      color: props?.color,
    });
  }

  /** The VPC's CIDR blocks (secondary ones too), which sourced packets and replies must not reach; left out when an imported VPC does not know its primary block. */
  private vpcCidrEnvironment(): Record<string, string> {
    const cidrs = vpcCidrsValue(this.vpc, this.taskDefinition);
    return cidrs === undefined ? {} : { [ServiceEnvironment.VpcCidrs]: cidrs };
  }

  /**
   * Lets ICMP "fragmentation needed" (IPv4 type 3 code 4) and ICMPv6 "packet too big" (type 2)
   * reach the tasks through the load balancer, so a path with a smaller MTU than the payload
   * limit assumes is discovered instead of silently dropping datagrams.
   */
  private allowPathMtuDiscovery(): void {
    const fragmentationNeeded = ec2.Port.icmpTypeAndCode(3, 4);
    const packetTooBig = new ec2.Port({ protocol: ec2.Protocol.ICMPV6, fromPort: 2, toPort: -1, stringRepresentation: 'ICMPv6 Type 2' });
    for (const connections of [this.loadBalancer.connections, this.service.connections]) {
      connections.allowFrom(ec2.Peer.anyIpv4(), fragmentationNeeded, 'path MTU discovery: ICMP fragmentation needed');
      connections.allowFrom(ec2.Peer.anyIpv6(), packetTooBig, 'path MTU discovery: ICMPv6 packet too big');
    }
  }

  /** Warns when the layout needs more Elastic IPs (NAT gateways plus the load balancer's) than an account has by default. */
  private warnAboutElasticIpQuota(props: PacketGatewayProps, apiAccess: AwsApiAccess, loadBalancerEips: number): void {
    const vpcCreated = !props.vpc && !props.cluster;
    const natEips = vpcCreated && apiAccess === AwsApiAccess.NAT_GATEWAY
      ? Math.min(props.natGateways ?? 1, this.vpc.publicSubnets.length)
      : 0;
    const needed = natEips + loadBalancerEips;
    if (Token.isUnresolved(needed) || needed <= DEFAULT_ELASTIC_IP_QUOTA) return;
    Annotations.of(this).addWarningV2('cdk-packet-gateway:elasticIpQuota',
      `This gateway allocates ${needed} Elastic IPs (${natEips} for NAT gateways, ${loadBalancerEips} for the load balancer), more than the default `
      + `quota of ${DEFAULT_ELASTIC_IP_QUOTA} per account and region, which other resources of the account share too. Raise the quota `
      + '(Service Quotas: "EC2-VPC Elastic IPs") before deploying, or use fewer AZs or NAT gateways, or pass elasticIpAllocationIds.');
  }

  /** What a registration handler needs: the tables of this and the peer regions, and acting as the registration principal. */
  private grantRegistration(handlerRole: iam.IRole, accessRole: iam.Role, peers: readonly GatewayPeer[]): void {
    const stack = Stack.of(this);
    this.table.grantReadWriteData(handlerRole);
    if (peers.length > 0) {
      handlerRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'WritePeerRecords',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: peers.map((p) => stack.formatArn({ service: 'dynamodb', region: p.region, resource: 'table', resourceName: p.tableName })),
      }));
    }
    handlerRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ActAsRegistrationPrincipal', actions: ['sts:AssumeRole'], resources: [accessRole.roleArn] }));
    accessRole.assumeRolePolicy?.addStatements(new iam.PolicyStatement({
      actions: ['sts:AssumeRole'],
      principals: [new iam.ArnPrincipal(handlerRole.roleArn)],
    }));
  }

  private accountsAllowed(): string[] {
    return [Stack.of(this).account, ...this.allowedAccounts];
  }

  private addAccountResources(account: string): void {
    const partition = Stack.of(this).partition;
    this.assumeStatement.addResources(`arn:${partition}:iam::${account}:role${PACKET_SOURCE_ROLE_PATH}*`);
    this.confirmStatement.addResources(`arn:${partition}:sns:*:${account}:*`);
  }

  /** Where the UDP flows the load balancer's access logs cannot record are recorded, as the deployment actually configures it. */
  private udpFlowRecordsReason(): string {
    const base = 'Network Load Balancer access logs cover TLS listeners only';
    if (!this.flowLogTrafficType) return `${base}; this gateway uses your VPC, whose VPC flow logs record the UDP flows when you configure them`;
    return this.flowLogTrafficType === ec2.FlowLogTrafficType.REJECT
      ? `${base}; the VPC flow log records rejected traffic only, as flowLogTrafficType REJECT chooses`
      : `${base}; the VPC flow log (traffic type ${this.flowLogTrafficType}) records the UDP flows`;
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
        reason: 'The fleet confirms the subscriptions of PacketSource topics, which are created after the gateway in this and the allowed accounts',
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:sns:\\*:[^:]+:\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Destination.lambda grants invoke on the function and its versions and aliases (function ARN followed by :*)',
        appliesTo: [{ regex: '/^Resource::(<[A-Za-z0-9]+\\.Arn>|arn:[^:]+:lambda:[^:]+:[^:]+:function:[^:]+):\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Destination.cloudWatchLogs writes log streams of one log group, created by the fleet (one per Listener, destination and task): the log group ARN followed by :*',
        appliesTo: [{ regex: '/^Resource::arn:(<AWS::Partition>|[^:]+):logs:[^:]+:[^:]+:log-group:[^:]+:\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Destination.s3 puts new objects, whose keys hold the time and a random suffix, under the destination\'s key prefix of one bucket',
        appliesTo: [{ regex: '/^Resource::(<[A-Za-z0-9]+\\.Arn>|arn:(<AWS::Partition>|[^:]+):s3:::[^/]+)\\/.*\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Destination.apiGateway / Destination.httpApi with method ANY grants invoke on one stage and resource path for every method (* in place of the method)',
        appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:execute-api:[^:]+:[^:]+:[^/]+\\/[^/]+\\/\\*\\/[^*]*$/' }],
      },
    ], { applyToChildren: true });
    acknowledgeNagFindings(this.taskDefinition, [
      { id: 'AwsSolutions-ECS2', reason: 'Environment variables hold only resource names and settings; the reply-tag key arrives as an ECS secret' },
    ]);
    const executionPolicy = this.taskDefinition.executionRole?.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      acknowledgeNagFindings(executionPolicy, [
        { id: 'AwsSolutions-IAM5', reason: 'ecr:GetAuthorizationToken, used to pull the service image, supports no resource-level permissions', appliesTo: ['Resource::*'] },
      ]);
    }
    acknowledgeNagFindings(this.loadBalancer, [{ id: 'AwsSolutions-ELB2', reason: this.udpFlowRecordsReason() }]);
    acknowledgeNagFindings(this.loadBalancer.connections.securityGroups[0], [
      { id: 'AwsSolutions-EC23', reason: 'The Listener ports are public UDP endpoints by design; clientRestrictions narrows them to given CIDR blocks' },
    ]);
    acknowledgeNagFindings(this.service.connections.securityGroups[0], [
      { id: 'AwsSolutions-EC23', reason: 'Open to any address only for ICMP fragmentation-needed and ICMPv6 packet-too-big (path MTU discovery); other inbound comes from the load balancer' },
    ]);
    const secret = this.node.tryFindChild('ReplyTagSecret');
    if (secret) {
      acknowledgeNagFindings(secret, [
        { id: 'AwsSolutions-SMG4', reason: 'Rotating the reply-tag key would invalidate the Tags of packets in flight; replace the secret to rotate' },
      ]);
    }
  }
}

/**
 * The data-plane workers of a task: `workers`, else one per vCPU of the task. Unset for a token
 * `cpu`: the service then takes the vCPUs it sees.
 */
function workersEnvironment(workers: number | undefined, cpu: number): Record<string, string> {
  if (workers !== undefined) return { [ServiceEnvironment.Workers]: Token.isUnresolved(workers) ? Token.asString(workers) : String(workers) };
  if (Token.isUnresolved(cpu)) return {};
  return { [ServiceEnvironment.Workers]: String(Math.max(1, Math.floor(cpu / 1024))) };
}
