/**
 * Synth-time validation of `PacketGatewayProps`: combinations that do not apply, ranges, Fargate
 * task sizes and peers. Unresolved tokens are skipped.
 */
import { Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { IAM_ROLE_ARN, SQS_QUEUE_ARN } from './arn';
import { DYNAMODB_TABLE_NAME, ELASTIC_IP_ALLOCATION_ID, PORT, STOP_TIMEOUT_SECONDS, WORKERS_PER_TASK } from './limits';
import { fail, validateAccount, validateArn, validateInteger, validateIntegerRange, validateRange, validateRegion } from './validation';
import { AwsApiAccess, PacketGatewayProps } from '../gateway-props';

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

/** Fails, naming `scope` (the gateway), on the first prop that is out of range or does not apply. */
export function validateGatewayProps(scope: IConstruct, props: PacketGatewayProps): void {
  if (props.vpc && (props.maxAzs !== undefined || props.natGateways !== undefined)) {
    fail(scope, 'maxAzs and natGateways apply only to the VPC the gateway creates; remove them or do not pass vpc');
  }
  if ((props.vpc || props.cluster) && props.flowLogTrafficType !== undefined) {
    fail(scope, `flowLogTrafficType ${props.flowLogTrafficType} applies only to the VPC the gateway creates; configure your VPC's flow logs instead, or do not pass vpc or cluster`);
  }
  if (props.awsApiAccess === AwsApiAccess.VPC_ENDPOINTS && props.natGateways !== undefined) {
    fail(scope, 'natGateways cannot be combined with awsApiAccess VPC_ENDPOINTS (the task subnets have no NAT route)');
  }
  validateInteger(scope, 'maxAzs', props.maxAzs, 1, 6);
  validateInteger(scope, 'natGateways', props.natGateways, 1, 6);
  validateInteger(scope, 'desiredCount', props.desiredCount, 0, 1000);
  if (props.maxCapacity !== undefined) {
    validateInteger(scope, 'maxCapacity', props.maxCapacity, Math.max(1, props.desiredCount ?? 1), 1000);
  } else {
    for (const prop of ['targetCpuUtilizationPercent', 'targetDatagramsPerTaskPerSecond', 'targetRelayedPerTaskPerSecond'] as const) {
      if (props[prop] !== undefined) fail(scope, `${prop} applies only with maxCapacity (autoscaling); set maxCapacity or remove it`);
    }
  }
  validateRange(scope, 'targetDatagramsPerTaskPerSecond', props.targetDatagramsPerTaskPerSecond, 1, 1_000_000);
  validateRange(scope, 'targetRelayedPerTaskPerSecond', props.targetRelayedPerTaskPerSecond, 1, 1_000_000);
  validateInteger(scope, 'targetCpuUtilizationPercent', props.targetCpuUtilizationPercent, 1, 100);
  validateIntegerRange(scope, 'healthPort', props.healthPort, PORT);
  validateIntegerRange(scope, 'workers', props.workers, WORKERS_PER_TASK);
  if (props.stopTimeout) validateRange(scope, 'stopTimeout', props.stopTimeout.toSeconds(), STOP_TIMEOUT_SECONDS.min, STOP_TIMEOUT_SECONDS.max, ' s');
  validateTaskSize(scope, props.cpu ?? 512, props.memoryLimitMiB ?? 1024);
  for (const account of props.allowedAccounts ?? []) validateAccount(scope, 'allowedAccounts', account);
  validatePeers(scope, props);
  validateElasticIps(scope, props);
  validateGlobalDirectory(scope, props);
}

/**
 * A given directory table takes no name or replicas; replicas need the name the replica regions
 * find them by, and each is another region than the gateway's, named once.
 */
function validateGlobalDirectory(scope: IConstruct, props: PacketGatewayProps): void {
  const regions = props.directoryReplicaRegions;
  const name = props.directoryTableName;
  if (props.directoryTable && (regions !== undefined || name !== undefined)) {
    fail(scope, `${regions !== undefined ? 'directoryReplicaRegions' : 'directoryTableName'} applies only to the directory table the gateway creates, not with directoryTable`);
  }
  if (name !== undefined && !Token.isUnresolved(name) && !DYNAMODB_TABLE_NAME.pattern.test(name)) {
    fail(scope, `directoryTableName must be ${DYNAMODB_TABLE_NAME.allowed}, got ${JSON.stringify(name)}`);
  }
  if (regions === undefined || Token.isUnresolved(regions)) return;
  if (regions.length > 0 && name === undefined) {
    fail(scope, 'directoryReplicaRegions needs directoryTableName: the gateways of the replica regions find the replica by that name');
  }
  const own = Stack.of(scope).region;
  regions.forEach((region, i) => {
    if (Token.isUnresolved(region)) return;
    validateRegion(scope, `directoryReplicaRegions[${i}]`, region);
    if (!Token.isUnresolved(own) && region === own) {
      fail(scope, `directoryReplicaRegions[${i}] ${JSON.stringify(region)} is the gateway's own region; list only the other regions`);
    }
    const first = regions.indexOf(region);
    if (first !== i) fail(scope, `directoryReplicaRegions[${i}] ${JSON.stringify(region)} is already directoryReplicaRegions[${first}]; name each region once`);
  });
}

function validateElasticIps(scope: IConstruct, props: PacketGatewayProps): void {
  const ids = props.elasticIpAllocationIds;
  if (ids === undefined) return;
  if (props.assignElasticIps === false) {
    fail(scope, 'elasticIpAllocationIds applies only with assignElasticIps; remove it or do not set assignElasticIps to false');
  }
  if (Token.isUnresolved(ids)) return;
  const seen = new Set<string>();
  for (const id of ids) {
    if (Token.isUnresolved(id)) continue;
    if (!ELASTIC_IP_ALLOCATION_ID.pattern.test(id)) {
      fail(scope, `elasticIpAllocationIds must hold Elastic IP allocation ids (${ELASTIC_IP_ALLOCATION_ID.allowed}), got ${JSON.stringify(id)}`);
    }
    if (seen.has(id)) fail(scope, `elasticIpAllocationIds lists ${id} twice; each load-balancer subnet needs its own Elastic IP`);
    seen.add(id);
  }
}

function validateTaskSize(scope: IConstruct, cpu: number, memory: number): void {
  if (Token.isUnresolved(cpu) || Token.isUnresolved(memory)) return;
  const size = FARGATE_SIZES[cpu];
  if (!size) fail(scope, `cpu must be one of ${Object.keys(FARGATE_SIZES).join(', ')} (Fargate), got ${cpu}`);
  if (memory < size.min || memory > size.max || (memory - size.min) % size.step !== 0) {
    fail(scope, `memoryLimitMiB ${memory} does not fit cpu ${cpu}: Fargate allows ${size.min}-${size.max} MiB in steps of ${size.step}`);
  }
}

function validatePeers(scope: IConstruct, props: PacketGatewayProps): void {
  const regions = new Set<string>();
  for (const peer of props.peers ?? []) {
    validateRegion(scope, 'peers[].region', peer.region);
    validateArn(scope, 'peers[].deliveryQueueArn', peer.deliveryQueueArn, SQS_QUEUE_ARN);
    if (peer.registrationPrincipalArn !== undefined) {
      validateArn(scope, 'peers[].registrationPrincipalArn', peer.registrationPrincipalArn, IAM_ROLE_ARN);
    }
    const own = Stack.of(scope).region;
    if (!Token.isUnresolved(own) && peer.region === own) fail(scope, `peers must be in other regions than the gateway (${own}), got ${peer.region}`);
    if (regions.has(peer.region)) fail(scope, `peers lists region ${peer.region} twice; one gateway per region`);
    regions.add(peer.region);
    if (!Token.isUnresolved(peer.tableName) && !/^[A-Za-z0-9_.-]{3,255}$/.test(peer.tableName)) {
      fail(scope, `peers[].tableName must be a DynamoDB table name (3-255 of A-Z, a-z, 0-9, _ . -), got ${JSON.stringify(peer.tableName)}`);
    }
  }
}
