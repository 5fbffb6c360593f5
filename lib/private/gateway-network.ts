/**
 * The network of a gateway: the VPC it creates (with flow logs), the task subnets, the VPC
 * endpoints of `AwsApiAccess.VPC_ENDPOINTS`, and the internet-facing load balancer with its
 * security group and Elastic IPs. Constructs are created under the gateway (`scope`) with the
 * ids they have always had.
 */
import { CfnResource, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fail } from './validation';
import { AwsApiAccess } from '../gateway-props';

/** Shape of the VPC a gateway creates. */
export interface GatewayVpcOptions {
  /** @default 2 */
  readonly maxAzs?: number;
  /** NAT gateways with `AwsApiAccess.NAT_GATEWAY`. @default 1 */
  readonly natGateways?: number;
  readonly awsApiAccess: AwsApiAccess;
  /** Where the VPC's flow log goes. */
  readonly flowLogGroup: logs.ILogGroup;
  /** Traffic the flow log records. @default ec2.FlowLogTrafficType.ALL */
  readonly flowLogTrafficType?: ec2.FlowLogTrafficType;
  /** Retention and removal of the log group of the function that removes the default security group's rules. */
  readonly logGroupProps: Pick<logs.LogGroupProps, 'retention' | 'removalPolicy'>;
}

/**
 * A VPC with public load-balancer subnets and task subnets (private with NAT, or isolated), a
 * flow log, and a default security group without rules.
 */
export function createGatewayVpc(scope: Construct, options: GatewayVpcOptions): ec2.IVpc {
  const withNat = options.awsApiAccess === AwsApiAccess.NAT_GATEWAY;
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    maxAzs: options.maxAzs ?? 2,
    natGateways: withNat ? options.natGateways ?? 1 : 0,
    restrictDefaultSecurityGroup: true,
    subnetConfiguration: [
      { name: 'LoadBalancer', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'Tasks', subnetType: withNat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
    ],
  });
  logRestrictionFunction(scope, options.logGroupProps);
  vpc.addFlowLog('FlowLog', {
    destination: ec2.FlowLogDestination.toCloudWatchLogs(options.flowLogGroup),
    trafficType: options.flowLogTrafficType ?? ec2.FlowLogTrafficType.ALL,
  });
  return vpc;
}

/** Id under the stack of the function CDK creates to remove the rules of a VPC's default security group. */
const RESTRICT_DEFAULT_SG_PROVIDER = 'Custom::VpcRestrictDefaultSGCustomResourceProvider';

/**
 * Points the function that removes the default security group's rules (a CDK singleton of the
 * stack) at a log group with the gateway's retention, instead of an implicit group kept forever.
 */
function logRestrictionFunction(scope: Construct, logGroupProps: Pick<logs.LogGroupProps, 'retention' | 'removalPolicy'>): void {
  const provider = Stack.of(scope).node.tryFindChild(RESTRICT_DEFAULT_SG_PROVIDER);
  const handler = provider?.node.tryFindChild('Handler');
  if (!provider || !CfnResource.isCfnResource(handler) || provider.node.tryFindChild('LogGroup')) return;
  const logGroup = new logs.LogGroup(provider, 'LogGroup', logGroupProps);
  handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
}

/**
 * Subnet type of the tasks when `taskSubnets` is not given: in a VPC of the user's, the private
 * subnets if it has any, else the isolated ones; in a created VPC, the type `awsApiAccess` implies.
 */
export function defaultTaskSubnetType(vpc: ec2.IVpc, vpcGiven: boolean, awsApiAccess: AwsApiAccess): ec2.SubnetType {
  if (vpcGiven) {
    return vpc.privateSubnets.length > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
  }
  return awsApiAccess === AwsApiAccess.NAT_GATEWAY ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
}

/** Interface endpoints (HTTPS from `fleet` only) and gateway endpoints for the AWS APIs the fleet uses, in `subnets`. */
export function addApiEndpoints(scope: Construct, vpc: ec2.IVpc, fleet: ec2.IConnectable, subnets: ec2.SubnetSelection): void {
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
  const securityGroup = new ec2.SecurityGroup(scope, 'EndpointSecurityGroup', {
    vpc,
    allowAllOutbound: false,
    description: 'Packet Gateway VPC endpoints: HTTPS from the fleet',
  });
  securityGroup.connections.allowFrom(fleet, ec2.Port.tcp(443), 'fleet to AWS APIs');
  for (const [endpointId, service] of interfaces) {
    new ec2.InterfaceVpcEndpoint(scope, endpointId, {
      vpc, service, subnets, privateDnsEnabled: true, securityGroups: [securityGroup], open: false,
    });
  }
  new ec2.GatewayVpcEndpoint(scope, 'DynamoDbEndpoint', { vpc, service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [subnets] });
  new ec2.GatewayVpcEndpoint(scope, 'S3Endpoint', { vpc, service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [subnets] });
}

/** Where and how the load balancer faces the internet. */
export interface GatewayLoadBalancerOptions {
  readonly vpc: ec2.IVpc;
  /** @default - the public subnets */
  readonly subnets?: ec2.SubnetSelection;
  /** One Elastic IP per subnet. @default true */
  readonly assignElasticIps?: boolean;
  /** Existing Elastic IPs, one per subnet, instead of new ones. @default - new Elastic IPs */
  readonly elasticIpAllocationIds?: readonly string[];
  /** What happens to new Elastic IPs when they leave the stack. */
  readonly elasticIpRemovalPolicy: RemovalPolicy;
}

/** The internet-facing load balancer of a gateway and its public addresses. */
export interface GatewayLoadBalancer {
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** One per subnet when Elastic IPs are assigned; else empty. */
  readonly elasticIpAddresses: string[];
  /** The Availability Zone of each of `elasticIpAddresses` (its subnet's). */
  readonly elasticIpZones: string[];
}

/**
 * An internet-facing Network Load Balancer with its own security group (no rules yet) and, by
 * default, one Elastic IP per subnet (new, or the given allocation ids).
 */
export function createGatewayLoadBalancer(scope: Construct, options: GatewayLoadBalancerOptions): GatewayLoadBalancer {
  const subnets = options.subnets ?? { subnetType: ec2.SubnetType.PUBLIC };
  const securityGroup = new ec2.SecurityGroup(scope, 'LoadBalancerSecurityGroup', {
    vpc: options.vpc,
    allowAllOutbound: false,
    description: 'Packet Gateway load balancer: UDP from clients to the Listener ports',
  });
  const loadBalancer = new elbv2.NetworkLoadBalancer(scope, 'LoadBalancer', {
    vpc: options.vpc,
    internetFacing: true,
    vpcSubnets: subnets,
    securityGroups: [securityGroup],
    crossZoneEnabled: true,
  });
  const elasticIpAddresses = options.assignElasticIps === false ? [] : assignElasticIps(scope, loadBalancer, subnets, options);
  const elasticIpZones = elasticIpAddresses.length === 0 ? [] : options.vpc.selectSubnets(subnets).subnets.map((subnet) => subnet.availabilityZone);
  return { loadBalancer, elasticIpAddresses, elasticIpZones };
}

/**
 * Elastic IPs the load balancer of `options` allocates: one per subnet when it assigns Elastic IPs
 * and is not given allocation ids; else none.
 */
export function newElasticIpCount(options: GatewayLoadBalancerOptions): number {
  if (options.assignElasticIps === false || options.elasticIpAllocationIds) return 0;
  return options.vpc.selectSubnets(options.subnets ?? { subnetType: ec2.SubnetType.PUBLIC }).subnets.length;
}

/**
 * Gives `loadBalancer` one Elastic IP per subnet of `selection` (subnet mappings instead of
 * subnets): the given allocation ids, else new Elastic IPs. Returns the addresses of new Elastic
 * IPs; none when allocation ids were given (the template does not know their addresses).
 */
function assignElasticIps(
  scope: Construct, loadBalancer: elbv2.NetworkLoadBalancer, selection: ec2.SubnetSelection, options: GatewayLoadBalancerOptions,
): string[] {
  const subnets = options.vpc.selectSubnets(selection).subnets;
  const cfnLoadBalancer = loadBalancer.node.defaultChild as elbv2.CfnLoadBalancer;
  const given = options.elasticIpAllocationIds;
  if (given && !Token.isUnresolved(given) && given.length !== subnets.length) {
    fail(scope, `elasticIpAllocationIds must hold one allocation id per load-balancer subnet (one per AZ): the load balancer has ${subnets.length} `
      + `subnets, got ${given.length} allocation ids`);
  }
  cfnLoadBalancer.subnets = undefined;
  if (given) {
    cfnLoadBalancer.subnetMappings = subnets.map((subnet, i) => ({ subnetId: subnet.subnetId, allocationId: given[i] }));
    return [];
  }
  const eips = subnets.map((_subnet, i) => {
    const eip = new ec2.CfnEIP(scope, `ElasticIp${i + 1}`, {
      domain: 'vpc',
      tags: [{ key: 'Name', value: `${scope.node.path}/ElasticIp${i + 1}` }],
    });
    eip.applyRemovalPolicy(options.elasticIpRemovalPolicy);
    return eip;
  });
  cfnLoadBalancer.subnetMappings = subnets.map((subnet, i) => ({ subnetId: subnet.subnetId, allocationId: eips[i].attrAllocationId }));
  return eips.map((eip) => eip.attrPublicIp);
}
