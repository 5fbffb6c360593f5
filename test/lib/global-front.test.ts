import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ACCOUNT, ensureAssets } from './support';
import {
  Destination, GlobalFront, GlobalFrontIpAddressType, GlobalFrontProps, ListenerProtocol, PacketGateway, WireGuardKeyReplica,
} from '../../lib';
import { testApp } from '../support/cdk-app';

beforeAll(ensureAssets);

const EAST = 'us-east-1';
const EUROPE = 'eu-west-1';
const PEER = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const KEY_NAME = 'packet-gateway/devices-wg';
const PARAMETER = '/packet-gateway/load-balancer-arn';
const KEY_SHAPED = /[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=/g;

function nlbArn(region: string): string {
  return `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:loadbalancer/net/gateway/0123456789abcdef`;
}

interface RegionStack {
  readonly stack: Stack;
  readonly gateway: PacketGateway;
}

/** A regional gateway stack with a plain Listener on 5555 and a WireGuard Listener on 51820. */
function regionStack(app: App, region: string, privateKey: 'primary' | 'replica'): RegionStack {
  const stack = new Stack(app, `Gateway-${region}`, { env: { account: ACCOUNT, region } });
  const gateway = new PacketGateway(stack, 'Gateway');
  const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${region}:${ACCOUNT}:function:ingest`);
  gateway.addListener('Plain', { port: 5555, destinations: [Destination.lambda(fn)] });
  gateway.addListener('Tunnel', {
    port: 51820,
    protocol: ListenerProtocol.WIREGUARD,
    destinations: [Destination.lambda(fn)],
    wireGuardPeers: [{ publicKey: PEER, allowedIps: ['10.10.0.2/32'] }],
    ...(privateKey === 'primary'
      ? { privateKeySecretName: KEY_NAME, privateKeyReplicaRegions: [EUROPE] }
      : { privateKey: new WireGuardKeyReplica(stack, 'TunnelKey', { secretName: KEY_NAME }).secret }),
  });
  GlobalFront.exportLoadBalancerArn(gateway, PARAMETER);
  return { stack, gateway };
}

function frontStack(app: App, props: Partial<GlobalFrontProps> = {}, region = 'us-west-2'): { stack: Stack; front: GlobalFront } {
  const stack = new Stack(app, `Front-${region}`, { env: { account: ACCOUNT, region } });
  const front = new GlobalFront(stack, 'Front', {
    listenerPorts: [5555, 51820],
    regions: [
      { region: EAST, loadBalancerArnParameterName: PARAMETER },
      { region: EUROPE, loadBalancerArn: nlbArn(EUROPE), trafficDialPercentage: 50 },
    ],
    ...props,
  });
  return { stack, front };
}

describe('a two-region app behind one accelerator', () => {
  const app = testApp();
  const east = regionStack(app, EAST, 'primary');
  const europe = regionStack(app, EUROPE, 'replica');
  europe.stack.addDependency(east.stack);
  const front = frontStack(app);
  front.stack.addDependency(east.stack);
  front.stack.addDependency(europe.stack);
  const assembly = app.synth();
  const frontTemplate = Template.fromStack(front.stack);

  test('a standard IPv4 accelerator with one UDP listener per Listener port, 5-tuple affinity', () => {
    frontTemplate.resourceCountIs('AWS::GlobalAccelerator::Accelerator', 1);
    frontTemplate.hasResourceProperties('AWS::GlobalAccelerator::Accelerator', { IpAddressType: 'IPV4', Enabled: true });
    frontTemplate.resourceCountIs('AWS::GlobalAccelerator::Listener', 2);
    for (const port of [5555, 51820]) {
      frontTemplate.hasResourceProperties('AWS::GlobalAccelerator::Listener', {
        Protocol: 'UDP', ClientAffinity: 'NONE', PortRanges: [{ FromPort: port, ToPort: port }],
      });
    }
  });

  test('one endpoint group per listener and region, the region\'s load balancer with the client IP preserved', () => {
    frontTemplate.resourceCountIs('AWS::GlobalAccelerator::EndpointGroup', 4);
    const groups = Object.values(frontTemplate.findResources('AWS::GlobalAccelerator::EndpointGroup')).map((r: any) => r.Properties);
    expect(groups.map((g) => g.EndpointGroupRegion).sort()).toEqual([EUROPE, EUROPE, EAST, EAST]);
    for (const group of groups) {
      expect(group.EndpointConfigurations).toHaveLength(1);
      expect(group.EndpointConfigurations[0].ClientIPPreservationEnabled).toBe(true);
      // Health is the load balancer's target health: no health check of the accelerator's own.
      expect(group.HealthCheckProtocol).toBeUndefined();
    }
    const europeGroups = groups.filter((g) => g.EndpointGroupRegion === EUROPE);
    for (const group of europeGroups) {
      expect(group.EndpointConfigurations[0].EndpointId).toBe(nlbArn(EUROPE));
      expect(group.TrafficDialPercentage).toBe(50);
    }
    const eastGroups = groups.filter((g) => g.EndpointGroupRegion === EAST);
    for (const group of eastGroups) {
      expect(group.EndpointConfigurations[0].EndpointId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/LoadBalancerArn0/), 'Parameter.Value'] });
      expect(group.TrafficDialPercentage).toBeUndefined();
    }
  });

  test('the ARN of a region named by parameter is read from that region\'s SSM parameter, with a policy for that parameter only', () => {
    frontTemplate.hasResourceProperties('Custom::AWS', {
      Create: Match.serializedJson(Match.objectLike({
        service: 'SSM', action: 'getParameter', region: EAST, parameters: { Name: PARAMETER },
      })),
    });
    frontTemplate.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [Match.objectLike({
          Action: 'ssm:GetParameter',
          Resource: { 'Fn::Join': ['', Match.arrayWith([`:ssm:${EAST}:${ACCOUNT}:parameter/packet-gateway/load-balancer-arn`])] },
        })],
      },
    });
  });

  test('each gateway stack exports its load balancer ARN in an SSM parameter of its own region', () => {
    for (const { stack } of [east, europe]) {
      Template.fromStack(stack).hasResourceProperties('AWS::SSM::Parameter', {
        Name: PARAMETER, Type: 'String', Value: { Ref: Match.stringLikeRegexp('GatewayLoadBalancer') },
      });
    }
  });

  test('the WireGuard key lives in one named secret with a replica in the other region', () => {
    const t = Template.fromStack(east.stack);
    t.hasResourceProperties('AWS::SecretsManager::Secret', { Name: KEY_NAME, ReplicaRegions: [{ Region: EUROPE }] });
  });

  test('the other region reads the replica: its complete ARN by DescribeSecret, its key never in a template', () => {
    const t = Template.fromStack(europe.stack);
    const secrets = Object.values(t.findResources('AWS::SecretsManager::Secret')).map((r: any) => r.Properties.Name);
    expect(secrets).not.toContain(KEY_NAME);
    t.hasResourceProperties('Custom::AWS', {
      Create: Match.serializedJson(Match.objectLike({ service: 'SecretsManager', action: 'describeSecret', parameters: { SecretId: KEY_NAME } })),
    });
    t.hasResourceProperties('Custom::PacketGatewayWireGuardKey', {
      KeySource: 'Provided',
      SecretArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('TunnelKeyLookup'), 'ARN'] },
    });
    for (const stack of assembly.stacks) {
      const text = JSON.stringify(stack.template);
      expect((text.match(KEY_SHAPED) ?? []).filter((k) => k !== PEER)).toEqual([]);
    }
  });
});

describe('GlobalFront options', () => {
  test('DUAL_STACK gives the accelerator IPv6 addresses too', () => {
    const { stack } = frontStack(testApp(), { ipAddressType: GlobalFrontIpAddressType.DUAL_STACK });
    Template.fromStack(stack).hasResourceProperties('AWS::GlobalAccelerator::Accelerator', { IpAddressType: 'DUAL_STACK' });
  });
});

describe('GlobalFront validation', () => {
  const cases: Array<[string, Partial<GlobalFrontProps>, RegExp] | [string, Partial<GlobalFrontProps>, RegExp, string]> = [
    ['a stack outside us-west-2', {}, /must be in a stack of us-west-2 .*got a stack in eu-central-1/, 'eu-central-1'],
    ['no port', { listenerPorts: [] }, /listenerPorts must hold at least one port/],
    ['a port out of range', { listenerPorts: [5555, 70000] }, /listenerPorts\[1\] must be an integer from 1 to 65535, got 70000/],
    ['a port twice', { listenerPorts: [5555, 5555] }, /listenerPorts\[1\] 5555 is already listenerPorts\[0\]/],
    ['no region', { regions: [] }, /regions must hold at least one region/],
    ['a bad region name', { regions: [{ region: 'Europe', loadBalancerArn: nlbArn(EUROPE) }] }, /regions\[0\]\.region must be an AWS region name .*got "Europe"/],
    ['a region twice', {
      regions: [{ region: EUROPE, loadBalancerArn: nlbArn(EUROPE) }, { region: EUROPE, loadBalancerArnParameterName: PARAMETER }],
    }, /regions\[1\]\.region "eu-west-1" is already regions\[0\]\.region/],
    ['neither ARN nor parameter', { regions: [{ region: EUROPE }] }, /regions\[0\] must give exactly one of loadBalancerArn and loadBalancerArnParameterName, got neither/],
    ['both ARN and parameter', {
      regions: [{ region: EUROPE, loadBalancerArn: nlbArn(EUROPE), loadBalancerArnParameterName: PARAMETER }],
    }, /got both/],
    ['an ARN that is not a network load balancer', {
      regions: [{ region: EUROPE, loadBalancerArn: `arn:aws:elasticloadbalancing:${EUROPE}:${ACCOUNT}:loadbalancer/app/web/0123` }],
    }, /regions\[0\]\.loadBalancerArn must be an ARN of elasticloadbalancing \(loadbalancer\/net\/…\), got ".*app\/web/],
    ['a network load balancer ARN without its id', {
      regions: [{ region: EUROPE, loadBalancerArn: `arn:aws:elasticloadbalancing:${EUROPE}:${ACCOUNT}:loadbalancer/net/gateway` }],
    }, /regions\[0\]\.loadBalancerArn must be an ARN of elasticloadbalancing \(loadbalancer\/net\/…\), got ".*net\/gateway" \(allowed: arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer\/net\/<name>\/<16 hex digits id>\)/],
    ['a network load balancer ARN with a short account', {
      regions: [{ region: EUROPE, loadBalancerArn: `arn:aws:elasticloadbalancing:${EUROPE}:1234:loadbalancer/net/gateway/0123456789abcdef` }],
    }, /regions\[0\]\.loadBalancerArn must be an ARN of elasticloadbalancing .*got ".*:1234:loadbalancer/],
    ['a network load balancer name with an underscore', {
      regions: [{ region: EUROPE, loadBalancerArn: `arn:aws:elasticloadbalancing:${EUROPE}:${ACCOUNT}:loadbalancer/net/gate_way/0123456789abcdef` }],
    }, /regions\[0\]\.loadBalancerArn must be an ARN of elasticloadbalancing .*got ".*net\/gate_way\//],
    ['an ARN of another region', { regions: [{ region: EUROPE, loadBalancerArn: nlbArn(EAST) }] },
      /regions\[0\]\.loadBalancerArn is a load balancer in us-east-1, not in regions\[0\]\.region eu-west-1/],
    ['a traffic dial above 100', { regions: [{ region: EUROPE, loadBalancerArn: nlbArn(EUROPE), trafficDialPercentage: 120 }] },
      /regions\[0\]\.trafficDialPercentage must be from 0% to 100%, got 120%/],
  ];
  test.each(cases.map((c) => [c[0], c[1], c[2], c[3] ?? 'us-west-2'] as const))('fails for %s', (_name, props, message, region) => {
    expect(() => frontStack(testApp(), props, region)).toThrow(message);
  });
});

describe('WireGuard key replication validation', () => {
  function tunnel(options: Record<string, unknown>, app = testApp()): void {
    const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: EAST } });
    const gateway = new PacketGateway(stack, 'Gateway');
    const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${EAST}:${ACCOUNT}:function:ingest`);
    gateway.addListener('Tunnel', {
      port: 51820,
      protocol: ListenerProtocol.WIREGUARD,
      destinations: [Destination.lambda(fn)],
      allowUnknownPeers: true,
      ...options,
    });
  }
  test('replicas need the secret name the other regions find them by', () => {
    expect(() => tunnel({ privateKeyReplicaRegions: [EUROPE] })).toThrow(/privateKeyReplicaRegions needs privateKeySecretName/);
  });
  test('a replica region must not be the Listener\'s own region', () => {
    expect(() => tunnel({ privateKeySecretName: KEY_NAME, privateKeyReplicaRegions: [EAST] }))
      .toThrow(/privateKeyReplicaRegions\[0\] "us-east-1" is the Listener's own region/);
  });
  test('a replica region is named once and must be a region name', () => {
    expect(() => tunnel({ privateKeySecretName: KEY_NAME, privateKeyReplicaRegions: [EUROPE, EUROPE] }))
      .toThrow(/privateKeyReplicaRegions\[1\] "eu-west-1" is already privateKeyReplicaRegions\[0\]/);
    expect(() => tunnel({ privateKeySecretName: KEY_NAME, privateKeyReplicaRegions: ['mars'] }))
      .toThrow(/privateKeyReplicaRegions\[0\] must be an AWS region name .*got "mars"/);
  });
  test('a bad secret name is named', () => {
    expect(() => tunnel({ privateKeySecretName: 'has space' })).toThrow(/privateKeySecretName must be 1–512 characters .*got "has space"/);
    expect(() => new WireGuardKeyReplica(new Stack(testApp()), 'Replica', { secretName: 'a b' })).toThrow(/secretName must be .*got "a b"/);
  });
  test('replication applies to a generated key only', () => {
    const app = testApp();
    const other = new Stack(app, 'Other', { env: { account: ACCOUNT, region: EAST } });
    const key = new WireGuardKeyReplica(other, 'Key', { secretName: KEY_NAME }).secret;
    expect(() => tunnel({ privateKey: key, privateKeyReplicaRegions: [EUROPE] }, app))
      .toThrow(/privateKeyReplicaRegions applies only to a generated key, not with privateKey/);
  });
  test('only WireGuard Listeners take the replication options', () => {
    const stack = new Stack(testApp(), 'Stack', { env: { account: ACCOUNT, region: EAST } });
    const gateway = new PacketGateway(stack, 'Gateway');
    const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${EAST}:${ACCOUNT}:function:ingest`);
    expect(() => gateway.addListener('Plain', { port: 5555, destinations: [Destination.lambda(fn)], privateKeyReplicaRegions: [EUROPE] }))
      .toThrow(/privateKeyReplicaRegions applies only to WireGuard Listeners/);
  });
});

describe('cdk-nag', () => {
  /** AwsSolutions findings (errors and warnings) that no acknowledgement covers. */
  function findings(app: App, stack: Stack): string[] {
    Aspects.of(stack).add(new AwsSolutionsChecks());
    const messages = app.synth().getStackArtifact(stack.artifactId).messages;
    return messages
      .filter((m) => (m.level === 'error' || m.level === 'warning') && /AwsSolutions-|CdkNagValidationFailure/.test(String(m.entry.data)))
      .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  }

  test('a GlobalFront reading a parameter has no unacknowledged AwsSolutions finding', () => {
    const app = testApp();
    const { stack } = frontStack(app);
    expect(findings(app, stack)).toEqual([]);
  });

  test('a WireGuardKeyReplica has no unacknowledged AwsSolutions finding', () => {
    const app = testApp();
    const stack = new Stack(app, 'Replica', { env: { account: ACCOUNT, region: EUROPE } });
    new WireGuardKeyReplica(stack, 'Key', { secretName: KEY_NAME });
    expect(findings(app, stack)).toEqual([]);
  });
});

describe('a directory shared by the regions (DynamoDB global table)', () => {
  const DIRECTORY = 'packet-gateway-directory';

  function gatewayStack(app: App, region: string, props: ConstructorParameters<typeof PacketGateway>[2]): { stack: Stack; gateway: PacketGateway } {
    const stack = new Stack(app, `Directory-${region}`, { env: { account: ACCOUNT, region } });
    return { stack, gateway: new PacketGateway(stack, 'Gateway', props) };
  }

  test('the first region creates a global table with a replica per other region; the task role is scoped as before', () => {
    const { stack } = gatewayStack(testApp(), EAST, { directoryTableName: DIRECTORY, directoryReplicaRegions: [EUROPE] });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::DynamoDB::Table', 1); // the configuration table
    t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: DIRECTORY,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: Match.arrayWith([
        Match.objectLike({ Region: EUROPE, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        Match.objectLike({ Region: EAST }),
      ]),
    });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        Environment: Match.arrayWith([{ Name: 'PACKET_GATEWAY_DIRECTORY_TABLE', Value: { Ref: Match.stringLikeRegexp('GatewayDirectoryTable') } }]),
      })],
    });
  });

  test('a replica region uses the replica by name: no table of its own, the same grants on it', () => {
    const app = testApp();
    const stack = new Stack(app, 'Replica', { env: { account: ACCOUNT, region: EUROPE } });
    const directory = dynamodb.TableV2.fromTableName(stack, 'Directory', DIRECTORY);
    new PacketGateway(stack, 'Gateway', { directoryTable: directory });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    t.resourceCountIs('AWS::DynamoDB::Table', 1); // the configuration table only
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'PACKET_GATEWAY_DIRECTORY_TABLE', Value: DIRECTORY }]) })],
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'WriteFleetDirectory',
          Resource: { 'Fn::Join': ['', Match.arrayWith([`:dynamodb:${EUROPE}:${ACCOUNT}:table/${DIRECTORY}`])] },
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['flow#*', 'peer#*', 'member#*'] } },
        })]),
      },
    });
  });

  test.each([
    ['replicas without a name', { directoryReplicaRegions: [EUROPE] }, /directoryReplicaRegions needs directoryTableName/],
    ['the own region as a replica', { directoryTableName: DIRECTORY, directoryReplicaRegions: [EAST] }, /directoryReplicaRegions\[0\] "us-east-1" is the gateway's own region/],
    ['a replica region twice', { directoryTableName: DIRECTORY, directoryReplicaRegions: [EUROPE, EUROPE] }, /directoryReplicaRegions\[1\] "eu-west-1" is already directoryReplicaRegions\[0\]/],
    ['a bad replica region', { directoryTableName: DIRECTORY, directoryReplicaRegions: ['Europe'] }, /directoryReplicaRegions\[0\] must be an AWS region name .*got "Europe"/],
    ['a bad table name', { directoryTableName: 'a b' }, /directoryTableName must be 3–255 characters .*got "a b"/],
  ])('fails for %s', (_name, props, message) => {
    expect(() => gatewayStack(testApp(), EAST, props as never)).toThrow(message);
  });

  test('a given directory table takes no name or replicas', () => {
    const app = testApp();
    const stack = new Stack(app, 'Given', { env: { account: ACCOUNT, region: EAST } });
    const directory = dynamodb.TableV2.fromTableName(stack, 'Directory', DIRECTORY);
    expect(() => new PacketGateway(stack, 'Gateway', { directoryTable: directory, directoryReplicaRegions: [EUROPE] }))
      .toThrow(/directoryReplicaRegions applies only to the directory table the gateway creates, not with directoryTable/);
  });
});
