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
}

/**
 * Opens the relay between the service's tasks and creates the fleet directory's table (in `scope`,
 * id {@link DIRECTORY_TABLE_ID}), which the tasks keep. Returns the table.
 */
export function enableFleetRelay(scope: Construct, options: FleetRelayOptions): dynamodb.Table {
  const port = options.relayPort ?? DEFAULT_RELAY_PORT;
  // Items expire on their own: a member that dies leaves nothing behind for long. Encryption,
  // recovery and removal as the configuration table.
  const table = new dynamodb.Table(scope, DIRECTORY_TABLE_ID, {
    partitionKey: { name: DIRECTORY_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
    removalPolicy: options.removalPolicy,
  });
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
