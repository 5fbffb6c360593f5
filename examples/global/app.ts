/**
 * Global: gateways in two regions behind one Global Accelerator. Clients use the accelerator's two
 * anycast addresses everywhere; the WireGuard Listener has one key in both regions; the flow
 * directory is a DynamoDB global table; a message published without EgressRegion leaves from the
 * region that owns the client's flow.
 *
 * Deploy the first region, then the second (their peer values are the other's outputs), then the
 * front in us-west-2:
 *   npx cdk deploy --app "npx tsx examples/global/app.ts" -c account=111111111111 \
 *     -c europeDeliveryQueueArn=<output> -c europeTableName=<output> -c europePrincipalArn=<output> \
 *     -c eastDeliveryQueueArn=<output> -c eastTableName=<output> -c eastPrincipalArn=<output> --all
 */
import { join } from 'node:path';
import { App, CfnOutput, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-packet-gateway';
import { Destination, GatewayPeer, GlobalFront, ListenerProtocol, PacketGateway, WireGuardKeyReplica } from '../../lib';
import { nodeFunction } from '../shared/node-function';

/** Name of the SSM parameter, in each region, holding that region's load balancer ARN. */
export const LOAD_BALANCER_PARAMETER = '/packet-gateway/global/load-balancer-arn';
/** Name of the WireGuard key secret and of its replica. */
export const TUNNEL_KEY_SECRET = 'packet-gateway/global/tunnel-key';
/** Name of the flow directory's global table. */
export const DIRECTORY_TABLE = 'packet-gateway-global-directory';
export const TUNNEL_PORT = 51820;

export interface RegionStackProps extends StackProps {
  /** The gateway of the other region. */
  readonly peer: GatewayPeer;
  /** The first region creates the key and the directory; the others read their replicas. */
  readonly primary: boolean;
  /** Regions of the replicas (first region only). */
  readonly replicaRegions: string[];
}

/** One region: a gateway with the WireGuard Listener `tunnel`, its ARN published for the front. */
export class RegionStack extends Stack {
  public readonly gateway: PacketGateway;

  /** The first two availability zones, resolved at deploy time (no synth-time lookup). */
  public get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }

  constructor(scope: Construct, id: string, props: RegionStackProps) {
    super(scope, id, props);
    this.gateway = new PacketGateway(this, 'Gateway', {
      peers: [props.peer],
      ...(props.primary
        ? { directoryTableName: DIRECTORY_TABLE, directoryReplicaRegions: props.replicaRegions }
        : { directoryTable: dynamodb.TableV2.fromTableName(this, 'Directory', DIRECTORY_TABLE) }),
    });
    const inbound = nodeFunction(this, 'Inbound', {
      directory: join(__dirname, 'functions', 'inbound'),
      description: 'Receives what WireGuard peers send through the accelerator',
    });
    this.gateway.addListener('Tunnel', {
      listenerName: 'tunnel',
      port: TUNNEL_PORT,
      protocol: ListenerProtocol.WIREGUARD,
      destinations: [Destination.lambda(inbound)],
      allowUnknownPeers: true,
      ...(props.primary
        ? { privateKeySecretName: TUNNEL_KEY_SECRET, privateKeyReplicaRegions: props.replicaRegions }
        : { privateKey: new WireGuardKeyReplica(this, 'TunnelKey', { secretName: TUNNEL_KEY_SECRET }).secret }),
    });
    GlobalFront.exportLoadBalancerArn(this.gateway, LOAD_BALANCER_PARAMETER);

    // What the other region needs as its peer.
    new CfnOutput(this, 'DeliveryQueueArn', { value: this.gateway.deliveryQueueArn });
    new CfnOutput(this, 'TableName', { value: this.gateway.tableName });
    new CfnOutput(this, 'PrincipalArn', { value: this.gateway.registrationPrincipalArn });
  }
}

export interface FrontStackProps extends StackProps {
  readonly regions: string[];
}

/** The accelerator, in us-west-2. */
export class FrontStack extends Stack {
  public readonly front: GlobalFront;

  constructor(scope: Construct, id: string, props: FrontStackProps) {
    super(scope, id, props);
    this.front = new GlobalFront(this, 'Front', {
      listenerPorts: [TUNNEL_PORT],
      regions: props.regions.map((region) => ({ region, loadBalancerArnParameterName: LOAD_BALANCER_PARAMETER })),
    });
    new CfnOutput(this, 'AcceleratorDnsName', { value: this.front.dnsName });
  }
}

/** Builds the three stacks from context values; the defaults only make the example synthesize. */
export function globalApp(app: App): { east: RegionStack; europe: RegionStack; front: FrontStack } {
  const context = (key: string, fallback: string) => String(app.node.tryGetContext(key) ?? fallback);
  const account = context('account', '111111111111');
  const peer = (region: string, name: string): GatewayPeer => ({
    region,
    deliveryQueueArn: context(`${name}DeliveryQueueArn`, `arn:aws:sqs:${region}:${account}:PacketGateway-GatewayDeliveryQueue-EXAMPLE`),
    tableName: context(`${name}TableName`, 'PacketGateway-GatewayTable-EXAMPLE'),
    registrationPrincipalArn: context(`${name}PrincipalArn`, `arn:aws:iam::${account}:role/PacketGateway-GatewayAccessRole-EXAMPLE`),
  });
  const east = new RegionStack(app, 'PacketGatewayEast', {
    env: { account, region: 'us-east-1' }, primary: true, replicaRegions: ['eu-west-1'], peer: peer('eu-west-1', 'europe'),
  });
  const europe = new RegionStack(app, 'PacketGatewayEurope', {
    env: { account, region: 'eu-west-1' }, primary: false, replicaRegions: [], peer: peer('us-east-1', 'east'),
  });
  europe.addDependency(east); // the key and directory replicas exist once the first region's do
  const front = new FrontStack(app, 'PacketGatewayFront', { env: { account, region: GlobalFront.API_REGION }, regions: ['us-east-1', 'eu-west-1'] });
  front.addDependency(east);
  front.addDependency(europe);
  return { east, europe, front };
}

if (require.main === module) {
  const app = new App();
  globalApp(app);
  app.synth();
}
