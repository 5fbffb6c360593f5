/**
 * IoT push in one account: devices send telemetry to a UDP Listener, or through WireGuard to a
 * WireGuard Listener (a Lambda function stores where each device was seen and answers ACK), and a
 * scheduled notifier pushes WAKE datagrams to them through a PacketSource per Listener. Run with
 * `npx cdk synth` / `npx cdk deploy` (cdk.json points here).
 */
import { join } from 'node:path';
import { App, CfnOutput, Duration, Fn, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
// In your own app: import { Destination, ListenerProtocol, PacketGateway, PacketSource, WireGuardPeer } from 'cdk-packet-gateway';
import { Destination, ListenerProtocol, PacketGateway, PacketSource, WireGuardPeer } from '../../lib';
import { nodeFunction } from '../shared/node-function';

/**
 * WireGuard devices: context `devicePeers`, a JSON array of `{ "publicKey": "…", "allowedIps": ["10.10.0.2/32"] }`
 * (`npx cdk deploy -c devicePeers='[…]'`). The placeholder lets the app synthesize as it is.
 */
/**
 * Devices the notifier pushes to: those seen within this time. A pushed datagram reaches a device
 * only through the load balancer's flow of that device (and the device's own NAT mapping), which
 * lives 120 s after the device's last datagram; devices keep it open with a keepalive every
 * ≤ 25 s. 110 s leaves a margin below the 120 s: a device not seen for longer has no flow left, so
 * a push to it could only fail (NoActiveFlow), never reach it.
 */
export const PUSH_TO_DEVICES_SEEN_WITHIN = Duration.seconds(110);

function devicePeers(scope: Construct): WireGuardPeer[] {
  const value: unknown = scope.node.tryGetContext('devicePeers');
  if (value === undefined) return [{ publicKey: 'ExampleDevicePublicKeyReplaceMeWithYourOwn0=', allowedIps: ['10.10.0.2/32'] }];
  return (typeof value === 'string' ? JSON.parse(value) : value) as WireGuardPeer[];
}

export class IotPushStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const gateway = new PacketGateway(this, 'Gateway');

    // Where each device was last seen.
    const devices = new dynamodb.Table(this, 'Devices', {
      partitionKey: { name: 'deviceId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Telemetry in: UDP 5555 -> Lambda, which replies ACK to each datagram.
    const ingest = nodeFunction(this, 'Ingest', {
      directory: join(__dirname, 'functions', 'ingest'),
      description: 'Records where devices were seen and acknowledges their telemetry',
      environment: { DEVICES_TABLE: devices.tableName },
    });
    devices.grantWriteData(ingest);
    const telemetry = gateway.addListener('Telemetry', {
      listenerName: 'telemetry',
      port: 5555,
      destinations: [Destination.lambda(ingest, { batchSize: 100, maxBatchingWindow: Duration.millis(50) })],
    });

    // The same telemetry through WireGuard: UDP 51820, only the listed device keys. The gateway
    // generates the Listener's key pair; the private key stays in Secrets Manager.
    const tunnel = gateway.addListener('Tunnel', {
      listenerName: 'telemetry-wg',
      port: 51820,
      protocol: ListenerProtocol.WIREGUARD,
      wireGuardPeers: devicePeers(this),
      destinations: [Destination.lambda(ingest, { batchSize: 100, maxBatchingWindow: Duration.millis(50) })],
    });

    // Pushes out: publish to these topics, the gateway sends from the Listener's address and port
    // (through the device's WireGuard session for the tunnel).
    const push = new PacketSource(this, 'Push', { listener: telemetry, description: 'WAKE pushes to devices' });
    const pushTunnel = new PacketSource(this, 'PushTunnel', { listener: tunnel, description: 'WAKE pushes to WireGuard devices' });
    const notifier = nodeFunction(this, 'Notifier', {
      directory: join(__dirname, 'functions', 'notifier'),
      description: 'Pushes WAKE to recently seen devices',
      environment: {
        DEVICES_TABLE: devices.tableName,
        TOPIC_ARN: push.topic.topicArn,
        TUNNEL_TOPIC_ARN: pushTunnel.topic.topicArn,
        SEEN_WITHIN_SECONDS: String(PUSH_TO_DEVICES_SEEN_WITHIN.toSeconds()),
      },
      timeout: Duration.seconds(30),
    });
    devices.grantReadData(notifier);
    push.grantPublish(notifier);
    pushTunnel.grantPublish(notifier);
    new events.Rule(this, 'EveryFiveMinutes', {
      schedule: events.Schedule.rate(Duration.minutes(5)),
      targets: [new targets.LambdaFunction(notifier)],
    });

    new CfnOutput(this, 'GatewayAddresses', { value: Fn.join(',', gateway.elasticIpAddresses), description: 'Send telemetry to UDP port 5555 of these addresses' });
    new CfnOutput(this, 'PushTopicArn', { value: push.topic.topicArn });
    new CfnOutput(this, 'TunnelPublicKey', { value: tunnel.publicKey!, description: 'PublicKey of the [Peer] section of the devices\' WireGuard configuration (port 51820)' });
  }
}

if (require.main === module) {
  const app = new App();
  new IotPushStack(app, 'PacketGatewayIotPush', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  app.synth();
}
