import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ACCOUNT, ensureAssets, REGION, testStack } from './support';
import { Destination, ListenerProtocol, PacketGateway, PacketSource } from '../../lib';

beforeAll(ensureAssets);

/**
 * Tripwire: construct ids are public API. Renaming one replaces the resource on the next deploy:
 * new Elastic IPs (clients' allow-lists break), a new table, new queues, re-registered bindings,
 * new WireGuard keys.
 * A failure here means a rename slipped in; it must not be fixed by editing this list.
 */
test('logical ids of stateful and addressable resources stay stable', () => {
  const stack = testStack();
  const gateway = new PacketGateway(stack, 'Gateway');
  const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
  const listener = gateway.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] });
  new PacketSource(stack, 'Push', { listener });
  gateway.addListener('Tunnel', {
    port: 51820, protocol: ListenerProtocol.WIREGUARD, destinations: [Destination.lambda(fn)], allowUnknownPeers: true,
  });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;
  const expected: Record<string, string> = {
    GatewayVpcDA155E87: 'AWS::EC2::VPC',
    GatewayTable3882D00B: 'AWS::DynamoDB::Table',
    GatewayDirectoryTable5F4BBCF7: 'AWS::DynamoDB::Table',
    GatewayDeliveryQueueE6BCFC9A: 'AWS::SQS::Queue',
    GatewayDeliveryDeadLetterQueue6FECA183: 'AWS::SQS::Queue',
    GatewayAccessRole7683C593: 'AWS::IAM::Role',
    GatewayReplyTagSecret33B94A0D: 'AWS::SecretsManager::Secret',
    GatewayCluster47699BCF: 'AWS::ECS::Cluster',
    GatewayService5E8511BF: 'AWS::ECS::Service',
    GatewayLoadBalancer0F44D590: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
    GatewayElasticIp1CCA75424: 'AWS::EC2::EIP',
    GatewayElasticIp2F12A6C8C: 'AWS::EC2::EIP',
    GatewayTelemetryLoadBalancerListenerC1E3FEAA: 'AWS::ElasticLoadBalancingV2::Listener',
    GatewayTelemetryTargetGroupE0C6BB6B: 'AWS::ElasticLoadBalancingV2::TargetGroup',
    GatewayTelemetry7EAB0530: 'Custom::PacketGatewayListener',
    PushTopicKeyC611716E: 'AWS::KMS::Key',
    PushTopic4A572520: 'AWS::SNS::Topic',
    PushDeadLetterQueue9E066B62: 'AWS::SQS::Queue',
    PushRoleAF3C525C: 'AWS::IAM::Role',
    Push7F99B893: 'Custom::PacketGatewayPacketSource',
    // A new WireGuard key secret or key resource would mean a new key pair: every peer reconfigured.
    GatewayTunnelPrivateKey64ED4DB6: 'AWS::SecretsManager::Secret',
    GatewayTunnelKeyPairBD22AADA: 'Custom::PacketGatewayWireGuardKey',
    GatewayTunnelFAD84EFE: 'Custom::PacketGatewayListener',
  };
  for (const [id, type] of Object.entries(expected)) {
    expect({ id, type: resources[id]?.Type }).toEqual({ id, type });
  }
});
