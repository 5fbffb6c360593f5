/**
 * The network of a gateway: the VPC it creates (with flow logs), the task subnets, the VPC
 * endpoints of `AwsApiAccess.VPC_ENDPOINTS`, and the internet-facing load balancer with its
 * security group and Elastic IPs. Constructs are created under the gateway (`scope`) with the
 * ids they have always had.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AwsApiAccess } from '../gateway-props';

/** Shape of the VPC a gateway creates. */
export interface GatewayVpcOptions {
  /** @default 2 */
  readonly maxAzs?: number;
  /** NAT gateways with `AwsApiAccess.NAT_GATEWAY`. @default 1 */
  readonly natGateways?: number;
  readonly awsApiAccess: AwsApiAccess;
  /** Where the VPC's flow log (rejected traffic) goes. */
  readonly flowLogGroup: logs.ILogGroup;
}

/** A VPC with public load-balancer subnets and task subnets (private with NAT, or isolated), and a flow log. */
export function createGatewayVpc(scope: Construct, options: GatewayVpcOptions): ec2.IVpc {
  const withNat = options.awsApiAccess === AwsApiAccess.NAT_GATEWAY;
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    maxAzs: options.maxAzs ?? 2,
    natGateways: withNat ? options.natGateways ?? 1 : 0,
    restrictDefaultSecurityGroup: false,
    subnetConfiguration: [
      { name: 'LoadBalancer', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'Tasks', subnetType: withNat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
    ],
  });
  vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(options.flowLogGroup), trafficType: ec2.FlowLogTrafficType.REJECT });
  return vpc;
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
}

/** The internet-facing load balancer of a gateway and its public addresses. */
export interface GatewayLoadBalancer {
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** One per subnet when Elastic IPs are assigned; else empty. */
  readonly elasticIpAddresses: string[];
}

/** An internet-facing Network Load Balancer with its own security group (no rules yet) and, by default, one Elastic IP per subnet. */
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
  const elasticIpAddresses = options.assignElasticIps === false ? [] : assignElasticIps(scope, options.vpc, loadBalancer, subnets);
  return { loadBalancer, elasticIpAddresses };
}

/** Gives `loadBalancer` one Elastic IP per subnet of `selection` (subnet mappings instead of subnets). */
function assignElasticIps(scope: Construct, vpc: ec2.IVpc, loadBalancer: elbv2.NetworkLoadBalancer, selection: ec2.SubnetSelection): string[] {
  const subnets = vpc.selectSubnets(selection).subnets;
  const cfnLoadBalancer = loadBalancer.node.defaultChild as elbv2.CfnLoadBalancer;
  const eips = subnets.map((_subnet, i) => new ec2.CfnEIP(scope, `ElasticIp${i + 1}`, {
    domain: 'vpc',
    tags: [{ key: 'Name', value: `${scope.node.path}/ElasticIp${i + 1}` }],
  }));
  cfnLoadBalancer.subnets = undefined;
  cfnLoadBalancer.subnetMappings = subnets.map((subnet, i) => ({ subnetId: subnet.subnetId, allocationId: eips[i].attrAllocationId }));
  return eips.map((eip) => eip.attrPublicIp);
}
