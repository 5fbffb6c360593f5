/**
 * The constructs and the handler agree: the properties the constructs synthesize, resolved the
 * way CloudFormation resolves them (every scalar a string), are accepted by the handler and
 * produce the records the data plane reads.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ACCOUNT, REGION, STACK_ID } from './support';
import { parseListenerProperties } from '../../../lambda/registration/listener-resource';
import { parsePacketSourceProperties } from '../../../lambda/registration/properties';
import { parseWireGuardKeyProperties } from '../../../lambda/registration/wireguard-key-resource';
import { Destination, ListenerProtocol, PacketGateway, PacketSource } from '../../../lib';
import { validateListenerRecord, validatePacketSourceRecord } from '../../../lib/private/validate-records';
import { ensureAssets } from '../../lib/support';
import { testApp } from '../../support/cdk-app';

beforeAll(ensureAssets);

type Resources = Record<string, { Type: string }>;

/** What the key resource reports at deploy time. */
const PUBLIC_KEY = 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=';
const PEER_KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

/** Resolves intrinsic functions like CloudFormation would, with plausible physical names. */
function resolver(resources: Resources): (value: unknown) => unknown {
  const arnOf = (id: string): string => {
    switch (resources[id]?.Type) {
      case 'AWS::IAM::Role': return `arn:aws:iam::${ACCOUNT}:role/packet-gateway/${id}`;
      case 'AWS::SQS::Queue': return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
      case 'AWS::Lambda::Function': return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
      case 'AWS::SNS::Topic': return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
      default: throw new Error(`no ARN for ${id}`);
    }
  };
  const attribute = (id: string, name: string): string => {
    if (resources[id]?.Type === 'Custom::PacketGatewayWireGuardKey') {
      if (name === 'PublicKey') return PUBLIC_KEY;
      if (name === 'VersionId') return '0f3c2d1e-aaaa-bbbb-cccc-0123456789ab';
    }
    if (name === 'Arn') return arnOf(id);
    throw new Error(`no attribute ${name} of ${id}`);
  };
  const ref = (id: string): string => {
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::StackId') return STACK_ID;
    if (id === 'AWS::Region') return REGION;
    switch (resources[id]?.Type) {
      case 'AWS::SNS::Topic': return arnOf(id);
      case 'AWS::SQS::Queue': return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
      case 'AWS::Logs::LogGroup': return id;
      case 'AWS::SecretsManager::Secret': return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
      default: throw new Error(`no Ref for ${id}`);
    }
  };
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value === 'boolean' || typeof value === 'number') return String(value);
    if (typeof value !== 'object' || value === null) return value;
    const v = value as Record<string, any>;
    if (v.Ref) return ref(v.Ref);
    if (v['Fn::GetAtt']) return attribute(v['Fn::GetAtt'][0], v['Fn::GetAtt'][1]);
    if (v['Fn::Join']) return (resolve(v['Fn::Join'][1]) as string[]).join(v['Fn::Join'][0]);
    if (v['Fn::Split']) return (resolve(v['Fn::Split'][1]) as string).split(v['Fn::Split'][0]);
    if (v['Fn::Select']) return (resolve(v['Fn::Select'][1]) as string[])[v['Fn::Select'][0]];
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  };
  return resolve;
}

test('what the constructs synthesize is what the handler accepts', () => {
  const stack = new Stack(testApp(), 'Stack', { env: { account: ACCOUNT, region: REGION } });
  const gateway = new PacketGateway(stack, 'Gateway');
  const fn = new lambda.Function(stack, 'Ingest', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
  const queue = new sqs.Queue(stack, 'Archive');
  const listener = gateway.addListener('Telemetry', {
    port: 5555,
    clientRestrictions: ['203.0.113.0/24'],
    destinations: [Destination.lambda(fn, { batchSize: 20 }), Destination.sqs(queue)],
  });
  new PacketSource(stack, 'Push', { listener, enabled: false, description: 'pushes' });

  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const resolve = resolver(template.Resources);
  const of = (type: string) => Object.values(template.Resources)
    .filter((r) => r.Type === type)
    .map((r) => resolve(r.Properties) as Record<string, unknown>);

  const [listenerProps] = of('Custom::PacketGatewayListener');
  const record = parseListenerProperties(listenerProps);
  expect(validateListenerRecord(record, 'Listener', { rejectUnknownFields: true })).toEqual([]);
  expect(record).toMatchObject({ Name: 'Telemetry', Port: 5555, Destinations: [{ Type: 'lambda', Batching: { Count: 20 } }, { Type: 'sqs', QueueUrl: expect.stringMatching(/^https:\/\/sqs\./) }] });

  const [sourceProps] = of('Custom::PacketGatewayPacketSource');
  const parsed = parsePacketSourceProperties(sourceProps, { region: REGION, account: ACCOUNT });
  expect(parsed).toMatchObject({
    ListenerName: 'Telemetry',
    TopicArn: expect.stringMatching(/^arn:aws:sns:eu-west-1:123456789012:PushTopic/),
    RoleArn: expect.stringMatching(/^arn:aws:iam::123456789012:role\/packet-gateway\/PushRole/),
    ExternalId: expect.stringMatching(/^11111111-2222-3333-4444-555555555555:c8[0-9a-f]{40}$/),
    DeliveryLogGroupArn: expect.stringMatching(/^arn:aws:logs:eu-west-1:123456789012:log-group:PushLogGroup/),
    Enabled: false,
    Description: 'pushes',
  });
  expect(validatePacketSourceRecord(parsed, 'PacketSource')).toEqual([]);
});

test('a WireGuard Listener: the key resource\'s properties and the record are what the handler accepts', () => {
  const stack = new Stack(testApp(), 'Stack', { env: { account: ACCOUNT, region: REGION } });
  const gateway = new PacketGateway(stack, 'Gateway');
  const fn = new lambda.Function(stack, 'Ingest', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
  gateway.addListener('Tunnel', {
    listenerName: 'iot-tunnel',
    port: 51820,
    protocol: ListenerProtocol.WIREGUARD,
    destinations: [Destination.lambda(fn)],
    wireGuardPeers: [{ publicKey: PEER_KEY, allowedIps: ['10.10.0.2/32'], presharedKey: new secretsmanager.Secret(stack, 'Psk'), endpoint: '198.51.100.7:51820' }],
    decapsulatedDelivery: true,
    privateKeyGeneration: 4,
  });

  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const resolve = resolver(template.Resources);
  const of = (type: string) => Object.values(template.Resources)
    .filter((r) => r.Type === type)
    .map((r) => resolve(r.Properties) as Record<string, unknown>);

  const [keyProps] = of('Custom::PacketGatewayWireGuardKey');
  expect(parseWireGuardKeyProperties(keyProps)).toEqual({
    listenerName: 'iot-tunnel',
    secretArn: expect.stringMatching(/^arn:aws:secretsmanager:eu-west-1:123456789012:secret:GatewayTunnelPrivateKey/),
    source: 'Generated',
    generation: 4,
  });

  const [listenerProps] = of('Custom::PacketGatewayListener');
  const record = parseListenerProperties(listenerProps);
  expect(validateListenerRecord(record, 'Listener', { rejectUnknownFields: true })).toEqual([]);
  expect(record.WireGuard).toEqual({
    PrivateKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_KEY_IOT_TUNNEL',
    PublicKey: PUBLIC_KEY,
    Peers: [{ PublicKey: PEER_KEY, AllowedIPs: ['10.10.0.2/32'], PresharedKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_PSK_IOT_TUNNEL_0', Endpoint: '198.51.100.7:51820' }],
    DecapsulatedDelivery: true,
  });
});
