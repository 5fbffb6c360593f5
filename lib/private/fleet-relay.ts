/**
 * The construct side of the Listener fleet (docs/FLEET.md): tasks reach each other's relay port
 * (the service's security group admits it from itself only), the fleet's ownership directory has
 * a table of its own (the configuration reader's Scan never reads it), the container learns the
 * port and the directory table, and the task role may read the directory table and write its
 * directory and member items, and nothing else in it (condition on the key prefixes).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DEFAULT_RELAY_PORT, DIRECTORY_KEY_PREFIXES, DIRECTORY_PARTITION_KEY, EXPIRES_AT_ATTRIBUTE } from './fleet';
import { ServiceEnvironment } from './service-environment';

/** Construct id of the directory table (public API: never rename). */
export const DIRECTORY_TABLE_ID = 'DirectoryTable';

export interface FleetRelayOptions {
  readonly service: ecs.FargateService;
  readonly container: ecs.ContainerDefinition;
  /** The task role. */
  readonly taskRole: iam.IRole;
  /** Removal policy of the directory table (the configuration table's). */
  readonly removalPolicy: RemovalPolicy;
  /** @default DEFAULT_RELAY_PORT */
  readonly relayPort?: number;
  /** The directory table, instead of a new one (a replica of another region's global directory). @default - a new table */
  readonly table?: dynamodb.ITable;
  /** Regions of the new directory's replicas (a global table). @default - none: a table of this region */
  readonly replicaRegions?: string[];
  /** Name of the new directory table. @default - generated */
  readonly tableName?: string;
}

/**
 * Opens the relay between the service's tasks and creates the fleet directory's table (in `scope`,
 * id {@link DIRECTORY_TABLE_ID}), which the tasks keep. Returns the table.
 */
export function enableFleetRelay(scope: Construct, options: FleetRelayOptions): dynamodb.ITable {
  const port = options.relayPort ?? DEFAULT_RELAY_PORT;
  const table = options.table ?? createDirectoryTable(scope, options);
  options.service.connections.allowInternally(ec2.Port.udp(port), 'fleet relay between gateway tasks');
  options.container.addEnvironment(ServiceEnvironment.RelayPort, String(port));
  options.container.addEnvironment(ServiceEnvironment.DirectoryTable, table.tableName);
  options.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'ReadFleetDirectory',
    actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
    resources: [table.tableArn],
  }));
  options.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'WriteFleetDirectory',
    actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': DIRECTORY_KEY_PREFIXES.map((p) => `${p}*`) } },
  }));
  return table;
}

/**
 * The directory table: items expire on their own (a member that dies leaves nothing behind for
 * long); encryption, recovery and removal as the configuration table. With replica regions, a
 * DynamoDB global table (same id) whose replicas carry the same name in every region.
 */
function createDirectoryTable(scope: Construct, options: FleetRelayOptions): dynamodb.ITable {
  const replicas = options.replicaRegions ?? [];
  if (replicas.length === 0) {
    return new dynamodb.Table(scope, DIRECTORY_TABLE_ID, {
      tableName: options.tableName,
      partitionKey: { name: DIRECTORY_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
      removalPolicy: options.removalPolicy,
    });
  }
  return new dynamodb.TableV2(scope, DIRECTORY_TABLE_ID, {
    tableName: options.tableName,
    partitionKey: { name: DIRECTORY_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    billing: dynamodb.Billing.onDemand(),
    encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
    removalPolicy: options.removalPolicy,
    replicas: replicas.map((region) => ({ region })),
  });
}
