/**
 * The construct side of the Listener fleet (docs/FLEET.md): tasks reach each other's relay port
 * (the service's security group admits it from itself only), the container learns the port, and
 * the task role may write the directory and member items of the gateway's table, and nothing else
 * in it (condition on the key prefixes).
 */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DEFAULT_RELAY_PORT, DIRECTORY_KEY_PREFIXES } from './fleet';
import { ServiceEnvironment } from './service-environment';

export interface FleetRelayOptions {
  readonly service: ecs.FargateService;
  readonly container: ecs.ContainerDefinition;
  readonly table: dynamodb.ITable;
  /** The task role. */
  readonly taskRole: iam.IRole;
  /** @default DEFAULT_RELAY_PORT */
  readonly relayPort?: number;
}

/** Opens the relay between the service's tasks and lets them keep the fleet directory. */
export function enableFleetRelay(options: FleetRelayOptions): void {
  const port = options.relayPort ?? DEFAULT_RELAY_PORT;
  options.service.connections.allowInternally(ec2.Port.udp(port), 'fleet relay between gateway tasks');
  options.container.addEnvironment(ServiceEnvironment.RelayPort, String(port));
  options.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'WriteFleetDirectory',
    actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    resources: [options.table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': DIRECTORY_KEY_PREFIXES.map((p) => `${p}*`) } },
  }));
}
