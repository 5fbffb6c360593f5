/**
 * Public types of a PacketGateway's configuration: its props and the choices they offer.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

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

  /**
   * The peer's `registrationPrincipalArn`. The peer sends the messages published for its region
   * and writes their failure records (delivery log, dead-letter queue) as the PacketSource's role,
   * so PacketSource roles registered here trust it too (with the same ExternalId).
   *
   * @default - PacketSource roles trust only this gateway: the peer cannot write failure records of its region (a warning says so)
   */
  readonly registrationPrincipalArn?: string;
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

/** Properties of a `PacketGateway`. */
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
   * Data-plane workers per task (1-16): worker threads of the service, each with its own socket
   * per Listener on the same port, so the kernel spreads clients over the task's vCPUs. A worker
   * owns the flows and WireGuard sessions of the clients hashed to it; sourced packets reach it in
   * the task. More workers than vCPUs only adds context switches. The main thread reads the
   * delivery queue for the whole task and hands each sourced entry to the worker holding its
   * client, which costs more CPU than sending it: a task whose traffic is mostly PacketSource may
   * carry as much with 1, for less CPU (README, "Every vCPU of a task").
   *
   * @default - the task's vCPUs (`cpu` / 1024, at least 1)
   */
  readonly workers?: number;

  /**
   * Tasks of the fleet (0-1000). Each client flow belongs to one task and sourced packets are
   * relayed to it (docs/FLEET.md), so the fleet loses nothing when a task dies, is replaced by a
   * deployment, or the fleet scales. Set 1 for a development gateway (cheapest, but a task
   * replacement or an Availability Zone outage interrupts it). With `maxCapacity`, the lower bound
   * of autoscaling.
   *
   * @default - one task per Availability Zone of the task subnets, at least 2
   */
  readonly desiredCount?: number;

  /**
   * Largest fleet when autoscaling on CPU; enables autoscaling from `desiredCount` up to this.
   * With autoscaling the template leaves the service's desired count out, so a deployment keeps
   * the count autoscaling has set (`desiredCount` is then the lower bound).
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
   * Datagrams per second per task on any one Listener the autoscaling keeps, besides CPU: one
   * target-tracking policy per Listener on its `DatagramsIn` per task (1-1000000). Only with
   * `maxCapacity`. Off by default: the rate a task handles depends on its size and destinations,
   * while CPU tracks it whatever they are.
   *
   * @default - no scaling on the datagram rate
   */
  readonly targetDatagramsPerTaskPerSecond?: number;

  /**
   * Sourced packets relayed to their flow's owner per second per task the autoscaling keeps,
   * besides CPU: a target-tracking policy on `Relayed` per task (1-1000000). Only with
   * `maxCapacity`.
   *
   * @default - no scaling on the relay rate
   */
  readonly targetRelayedPerTaskPerSecond?: number;

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
   * Allocation ids of existing Elastic IPs (`eipalloc-…`) for the load balancer, one per subnet of
   * `loadBalancerSubnets` (one per AZ), in subnet order. Addresses that clients allow-list then
   * survive a re-created stack: pass the ids of the Elastic IPs an earlier stack retained. Only
   * with `assignElasticIps`.
   *
   * @default - new Elastic IPs are allocated
   */
  readonly elasticIpAllocationIds?: string[];

  /**
   * Traffic recorded by the flow log of the VPC the gateway creates (only when `vpc` is not
   * given). `ALL` records the accepted UDP flows of the Listeners too (a Network Load Balancer
   * has no access logs for UDP).
   *
   * @default ec2.FlowLogTrafficType.ALL
   */
  readonly flowLogTrafficType?: ec2.FlowLogTrafficType;

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
   * Regions the fleet directory is replicated to: the directory becomes a DynamoDB global table
   * with a replica in each, so gateways of those regions (behind one `GlobalFront`) see which
   * region owns each client's flow and forward sourced packets there (docs/FLEET.md "Global").
   * Needs `directoryTableName`; in the replica regions pass the replica as `directoryTable`.
   *
   * @default - the directory is a table of this region only
   */
  readonly directoryReplicaRegions?: string[];

  /**
   * Name of the fleet directory table this gateway creates (the name its replicas carry).
   *
   * @default - a name CloudFormation generates
   */
  readonly directoryTableName?: string;

  /**
   * The fleet directory table, instead of a new one: in a replica region of another gateway's
   * global directory, `dynamodb.TableV2.fromTableName(this, 'Directory', name)`.
   *
   * @default - a new table (a global table with `directoryReplicaRegions`)
   */
  readonly directoryTable?: dynamodb.ITable;

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
   * What happens to the gateway's resources when they leave the stack. When set, it applies to
   * all of them. When not set, the table and the log groups are destroyed (the table holds only
   * records that the stacks re-create), while the key material (the reply-tag secret and the
   * WireGuard private-key secrets) and the Elastic IPs are retained: peers pin the WireGuard
   * public keys and clients allow-list the addresses. Pass a retained Elastic IP's allocation id
   * in `elasticIpAllocationIds` to use it again.
   *
   * @default - RemovalPolicy.DESTROY for the table and log groups; RemovalPolicy.RETAIN for key secrets and Elastic IPs
   */
  readonly removalPolicy?: RemovalPolicy;
}
