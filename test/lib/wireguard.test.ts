import { CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ACCOUNT, actionsOf, ensureAssets, joinedJson, logicalId, policyStatements, REGION, resourcesOf, testStack } from './support';
import { Destination, Listener, ListenerOptions, ListenerProtocol, PacketGateway, WireGuardPeer } from '../../lib';
import { testApp } from '../support/cdk-app';

beforeAll(ensureAssets);

const PEER_A = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const PEER_B = 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=';
const OWN_KEY_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:devices/wg-key-QwErTy`;

/** Matches any WireGuard-key-shaped string (44 characters of base64 encoding 32 bytes), anywhere. */
const KEY_SHAPED = /[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=/g;

interface Fixture {
  readonly stack: Stack;
  readonly gw: PacketGateway;
  readonly fn: lambda.IFunction;
}

function fixture(stack: Stack = testStack()): Fixture {
  const gw = new PacketGateway(stack, 'Gateway');
  const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
  return { stack, gw, fn };
}

function tunnel(f: Fixture, options: Partial<ListenerOptions> = {}, id = 'Tunnel'): Listener {
  return f.gw.addListener(id, {
    port: 51820,
    protocol: ListenerProtocol.WIREGUARD,
    destinations: [Destination.lambda(f.fn)],
    wireGuardPeers: [{ publicKey: PEER_A, allowedIps: ['10.10.0.2/32'] }],
    ...options,
  });
}

function record(t: Template, listenerName = 'Tunnel'): any {
  const [resource] = Object.values(t.findResources('Custom::PacketGatewayListener', { Properties: { ListenerName: listenerName } }));
  return joinedJson(resource.Properties.Configuration);
}

function containerSecrets(t: Template): Array<{ Name: string; ValueFrom: unknown }> {
  const [taskDefinition] = Object.values(t.findResources('AWS::ECS::TaskDefinition'));
  return taskDefinition.Properties.ContainerDefinitions[0].Secrets;
}

test('a UDP load-balancer listener on the WireGuard port, health-checked over HTTP on the health port at its own path like every Listener', () => {
  const f = fixture();
  tunnel(f);
  const t = Template.fromStack(f.stack);
  t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 51820, Protocol: 'UDP' });
  t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
    Port: 51820, Protocol: 'UDP', TargetType: 'ip', HealthCheckProtocol: 'HTTP', HealthCheckPort: '8080', HealthCheckPath: '/healthz/listeners/Tunnel',
  });
  t.hasResourceProperties('AWS::ECS::TaskDefinition', {
    ContainerDefinitions: [Match.objectLike({ PortMappings: Match.arrayWith([{ ContainerPort: 51820, Protocol: 'udp' }]) })],
  });
});

describe('a generated key', () => {
  test('a secret created with a placeholder, and the key resource that fills it and reports the public key', () => {
    const f = fixture();
    const listener = tunnel(f);
    const t = Template.fromStack(f.stack);
    const secretId = logicalId(t, 'AWS::SecretsManager::Secret', 'GatewayTunnelPrivateKey');

    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('WireGuard private key of Listener Tunnel'),
      GenerateSecretString: { PasswordLength: 32, ExcludePunctuation: true },
    });
    t.hasResource('Custom::PacketGatewayWireGuardKey', {
      Properties: {
        ServiceToken: { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'GatewayRegistrationProviderframeworkonEvent'), 'Arn'] },
        ListenerName: 'Tunnel',
        SecretArn: { Ref: secretId },
        KeySource: 'Generated',
        Generation: 1,
      },
      DependsOn: [logicalId(t, 'AWS::IAM::Policy', 'GatewayRegistrationHandlerRoleDefaultPolicy')],
    });
    const keyPairId = logicalId(t, 'Custom::PacketGatewayWireGuardKey', 'GatewayTunnelKeyPair');
    expect(f.stack.resolve(listener.publicKey)).toEqual({ 'Fn::GetAtt': [keyPairId, 'PublicKey'] });
    expect(f.stack.resolve(listener.privateKeySecret?.secretArn)).toEqual({ Ref: secretId });
  });

  test('the private key reaches the container as an ECS secret pinned to the key resource\'s version; the record names the variable', () => {
    const f = fixture();
    tunnel(f);
    const t = Template.fromStack(f.stack);
    const secretId = logicalId(t, 'AWS::SecretsManager::Secret', 'GatewayTunnelPrivateKey');
    const keyPairId = logicalId(t, 'Custom::PacketGatewayWireGuardKey', 'GatewayTunnelKeyPair');

    expect(containerSecrets(t)).toEqual([
      { Name: 'PACKET_GATEWAY_TAG_SECRET', ValueFrom: { Ref: logicalId(t, 'AWS::SecretsManager::Secret', 'GatewayReplyTagSecret') } },
      { Name: 'PACKET_GATEWAY_WG_KEY_TUNNEL', ValueFrom: { 'Fn::Join': ['', [{ Ref: secretId }, ':::', { 'Fn::GetAtt': [keyPairId, 'VersionId'] }]] } },
    ]);
    expect(record(t).WireGuard).toEqual({
      PrivateKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_KEY_TUNNEL',
      PublicKey: `<GetAtt:${keyPairId}.PublicKey>`,
      Peers: [{ PublicKey: PEER_A, AllowedIPs: ['10.10.0.2/32'] }],
    });
    expect(record(t)).toMatchObject({ Name: 'Tunnel', Protocol: 'wg', Port: 51820 });
  });

  test('a peer without allowedIps: the record leaves AllowedIPs out (every address) and is valid', () => {
    const f = fixture();
    tunnel(f, { wireGuardPeers: [{ publicKey: PEER_A }] });
    const t = Template.fromStack(f.stack);
    expect(record(t).WireGuard.Peers).toEqual([{ PublicKey: PEER_A }]);
  });

  test('no key material in the template: no secret values, no key-shaped strings but the peers\' public keys', () => {
    const f = fixture();
    const psk = new secretsmanager.Secret(f.stack, 'PeerBPsk');
    tunnel(f, { wireGuardPeers: [{ publicKey: PEER_A, allowedIps: ['10.10.0.2/32'] }, { publicKey: PEER_B, allowedIps: ['10.10.0.3/32'], presharedKey: psk }] });
    const t = Template.fromStack(f.stack);
    const json = JSON.stringify(t.toJSON());

    expect(new Set(json.match(KEY_SHAPED) ?? [])).toEqual(new Set([PEER_A, PEER_B]));
    for (const secret of Object.values(t.findResources('AWS::SecretsManager::Secret'))) expect(secret.Properties.SecretString).toBeUndefined();
    const [taskDefinition] = Object.values(t.findResources('AWS::ECS::TaskDefinition'));
    const environment = taskDefinition.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string }>;
    expect(environment.map((e) => e.Name).filter((n) => n.includes('WG'))).toEqual([]);
  });

  test('least privilege: the registration role may read and write exactly this secret; the fleet reads it only through ECS', () => {
    const f = fixture();
    tunnel(f);
    const t = Template.fromStack(f.stack);
    const secretRef = { Ref: logicalId(t, 'AWS::SecretsManager::Secret', 'GatewayTunnelPrivateKey') };
    const secretStatements = (roleId: string) => policyStatements(t, roleId).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));

    const registration = secretStatements(logicalId(t, 'AWS::IAM::Role', 'GatewayRegistrationHandlerRole'));
    expect(registration).toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], Resource: secretRef }]);

    const execution = secretStatements(logicalId(t, 'AWS::IAM::Role', 'GatewayTaskDefinitionExecutionRole'));
    expect(execution.filter((s) => resourcesOf(s).some((r) => JSON.stringify(r) === JSON.stringify(secretRef))))
      .toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: secretRef }]);

    // The task role (the fleet's code) gets no access to any secret.
    expect(secretStatements(logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'))).toEqual([]);
  });

  test('privateKeyGeneration is the key resource\'s Generation', () => {
    const f = fixture();
    tunnel(f, { privateKeyGeneration: 3 });
    Template.fromStack(f.stack).hasResourceProperties('Custom::PacketGatewayWireGuardKey', { Generation: 3, KeySource: 'Generated' });
  });

  test('the record goes live after the fleet has rolled (the tasks then carry the key variables); UDP records do not wait', () => {
    const f = fixture();
    tunnel(f);
    f.gw.addListener('Plain', { port: 5555, destinations: [Destination.lambda(f.fn)] });
    const t = Template.fromStack(f.stack);
    const serviceId = logicalId(t, 'AWS::ECS::Service', 'GatewayService');
    const dependsOn = (name: string) => Object.values(t.findResources('Custom::PacketGatewayListener', { Properties: { ListenerName: name } }))[0].DependsOn;
    expect(dependsOn('Tunnel')).toContain(serviceId);
    expect(dependsOn('Plain')).not.toContain(serviceId);
  });

  test('no output unless asked for', () => {
    const f = fixture();
    tunnel(f);
    expect(Template.fromStack(f.stack).toJSON().Outputs).toBeUndefined();
  });
});

describe('a key brought as a secret', () => {
  test('is read by the key resource (never written) and passed to the fleet; no secret is created', () => {
    const f = fixture();
    const key = secretsmanager.Secret.fromSecretCompleteArn(f.stack, 'OwnKey', OWN_KEY_ARN);
    const listener = tunnel(f, { privateKey: key, privateKeyGeneration: 2 });
    const t = Template.fromStack(f.stack);

    expect(Object.keys(t.findResources('AWS::SecretsManager::Secret')).filter((id) => id.includes('Tunnel'))).toEqual([]);
    t.hasResourceProperties('Custom::PacketGatewayWireGuardKey', { SecretArn: OWN_KEY_ARN, KeySource: 'Provided', Generation: 2 });
    const registration = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayRegistrationHandlerRole'))
      .filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(registration).toEqual([{ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: OWN_KEY_ARN }]);
    const keyPairId = logicalId(t, 'Custom::PacketGatewayWireGuardKey', 'GatewayTunnelKeyPair');
    expect(containerSecrets(t)).toContainEqual({
      Name: 'PACKET_GATEWAY_WG_KEY_TUNNEL', ValueFrom: { 'Fn::Join': ['', [`${OWN_KEY_ARN}:::`, { 'Fn::GetAtt': [keyPairId, 'VersionId'] }]] },
    });
    expect(listener.privateKeySecret).toBe(key);
  });

  test('encrypted with a customer-managed key: the registration role and the execution role may decrypt with it through Secrets Manager', () => {
    const f = fixture();
    const encryptionKey = new kms.Key(f.stack, 'WgKeyKey');
    const key = new secretsmanager.Secret(f.stack, 'OwnKey', { encryptionKey });
    tunnel(f, { privateKey: key });
    const t = Template.fromStack(f.stack);
    const [kmsKey] = Object.values(t.findResources('AWS::KMS::Key'));
    const decrypters = (kmsKey.Properties.KeyPolicy.Statement as Array<{ Action: unknown; Principal: { AWS: unknown }; Condition?: unknown }>)
      .filter((s) => s.Action === 'kms:Decrypt')
      .map((s) => ({ principal: s.Principal.AWS, condition: s.Condition }));
    const via = { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } };
    expect(decrypters).toEqual([
      { principal: { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'GatewayRegistrationHandlerRole'), 'Arn'] }, condition: via },
      { principal: { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'GatewayTaskDefinitionExecutionRole'), 'Arn'] }, condition: via },
    ]);
  });
});

describe('peers', () => {
  test('preshared keys reach the fleet as ECS secrets; the record names their variables; a secret shared by peers is passed once', () => {
    const f = fixture();
    const psk = new secretsmanager.Secret(f.stack, 'SharedPsk');
    const listener = tunnel(f, {
      wireGuardPeers: [{ publicKey: PEER_A, allowedIps: ['10.10.0.2/32', 'fd00:10::2/128'], presharedKey: psk, endpoint: 'device-a.example.com:51820' }],
      allowUnknownPeers: false,
      decapsulatedDelivery: false,
    });
    listener.addWireGuardPeer({ publicKey: PEER_B, allowedIps: ['10.10.0.3/32'], presharedKey: psk });
    const t = Template.fromStack(f.stack);
    const pskRef = { Ref: logicalId(t, 'AWS::SecretsManager::Secret', 'SharedPsk') };

    expect(containerSecrets(t).filter((s) => s.Name.startsWith('PACKET_GATEWAY_WG_PSK_'))).toEqual([{ Name: 'PACKET_GATEWAY_WG_PSK_TUNNEL_0', ValueFrom: pskRef }]);
    expect(record(t).WireGuard).toMatchObject({
      Peers: [
        { PublicKey: PEER_A, AllowedIPs: ['10.10.0.2/32', 'fd00:10::2/128'], PresharedKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_PSK_TUNNEL_0', Endpoint: 'device-a.example.com:51820' },
        { PublicKey: PEER_B, AllowedIPs: ['10.10.0.3/32'], PresharedKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_PSK_TUNNEL_0' },
      ],
      AllowUnknownPeers: false,
      DecapsulatedDelivery: false,
    });
    const execution = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayTaskDefinitionExecutionRole'));
    expect(execution.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(pskRef))).toHaveLength(1);
  });

  test('a Listener accepting unknown peers needs no peer list', () => {
    const f = fixture();
    tunnel(f, { wireGuardPeers: undefined, allowUnknownPeers: true });
    const wg = record(Template.fromStack(f.stack)).WireGuard;
    expect(wg.AllowUnknownPeers).toBe(true);
    expect(wg.Peers).toBeUndefined();
  });

  test('variable names: the Listener name in capitals, other characters as _, numbered when two names meet', () => {
    const f = fixture();
    tunnel(f, { listenerName: 'iot-edge' }, 'A');
    tunnel(f, { listenerName: 'IOT_EDGE', port: 51821 }, 'B');
    const t = Template.fromStack(f.stack);
    expect(record(t, 'iot-edge').WireGuard.PrivateKeyEnvironmentVariable).toBe('PACKET_GATEWAY_WG_KEY_IOT_EDGE');
    expect(record(t, 'IOT_EDGE').WireGuard.PrivateKeyEnvironmentVariable).toBe('PACKET_GATEWAY_WG_KEY_IOT_EDGE_2');
    expect(containerSecrets(t).map((s) => s.Name)).toEqual(['PACKET_GATEWAY_TAG_SECRET', 'PACKET_GATEWAY_WG_KEY_IOT_EDGE', 'PACKET_GATEWAY_WG_KEY_IOT_EDGE_2']);
  });

  test('values known only at deploy time are not validated at synth', () => {
    const f = fixture();
    const key = new CfnParameter(f.stack, 'PeerKey').valueAsString;
    const cidrs = new CfnParameter(f.stack, 'PeerCidrs', { type: 'CommaDelimitedList' }).valueAsList;
    const endpoint = new CfnParameter(f.stack, 'PeerEndpoint').valueAsString;
    expect(() => tunnel(f, { wireGuardPeers: [{ publicKey: key, allowedIps: cidrs, endpoint }, { publicKey: Fn.join('', [key]), allowedIps: [Fn.select(0, cidrs)] }] }))
      .not.toThrow();
    expect(() => Template.fromStack(f.stack)).not.toThrow();
  });
});

describe('fails if …', () => {
  const peer = (overrides: Partial<WireGuardPeer>): WireGuardPeer => ({ publicKey: PEER_A, allowedIps: ['10.10.0.2/32'], ...overrides });

  test.each([
    ['wireGuardPeers', { wireGuardPeers: [peer({})] }],
    ['allowUnknownPeers', { allowUnknownPeers: true }],
    ['decapsulatedDelivery', { decapsulatedDelivery: false }],
    ['privateKeyGeneration', { privateKeyGeneration: 2 }],
  ] as Array<[string, Partial<ListenerOptions>]>)('a UDP Listener is given %s', (name, options) => {
    const f = fixture();
    expect(() => f.gw.addListener('Plain', { port: 5555, destinations: [Destination.lambda(f.fn)], ...options }))
      .toThrow(new RegExp(`${name} applies only to WireGuard Listeners, got protocol udp; remove it or set protocol: ListenerProtocol.WIREGUARD`));
  });

  test('a UDP Listener is given a private key and peers (both named)', () => {
    const f = fixture();
    const key = secretsmanager.Secret.fromSecretCompleteArn(f.stack, 'Key', OWN_KEY_ARN);
    expect(() => f.gw.addListener('Plain', { port: 5555, destinations: [Destination.lambda(f.fn)], privateKey: key, wireGuardPeers: [] }))
      .toThrow(/wireGuardPeers, privateKey apply only to WireGuard Listeners/);
  });

  test.each([
    ['a public key is not base64', peer({ publicKey: 'not a key' }), /wireGuardPeers\[0\]\.publicKey must be a WireGuard public key: 32 bytes in base64 \(44 characters, as printed by 'wg pubkey'\), got "not a key"/],
    ['a public key is 31 bytes', peer({ publicKey: Buffer.alloc(31, 1).toString('base64') }), /wireGuardPeers\[0\]\.publicKey must be a WireGuard public key/],
    ['a public key has spare bits set', peer({ publicKey: `${PEER_A.slice(0, 42)}h=` }), /wireGuardPeers\[0\]\.publicKey must be a WireGuard public key/],
    ['allowed IPs are empty', peer({ allowedIps: [] }), /wireGuardPeers\[0\]\.allowedIps must hold at least one CIDR block/],
    ['an allowed IP has a prefix beyond 32', peer({ allowedIps: ['10.10.0.0/33'] }), /wireGuardPeers\[0\]\.allowedIps must hold CIDR blocks such as .* got "10.10.0.0\/33": is not a CIDR \(prefix must be 0–32\)/],
    ['an allowed IP is a host name', peer({ allowedIps: ['device.example.com/32'] }), /got "device.example.com\/32": is not a CIDR \(the address part is not an IP address\)/],
    ['an allowed IP is a bare address', peer({ allowedIps: ['10.10.0.3'] }), /got "10.10.0.3": is not a CIDR \(the prefix is missing: write 10.10.0.3\/32 for one address\)/],
    ['an endpoint has no port', peer({ endpoint: 'device.example.com' }), /wireGuardPeers\[0\]\.endpoint must be host:port or \[IPv6\]:port with port 1–65535, got "device.example.com"/],
    ['an IPv6 endpoint has no brackets', peer({ endpoint: 'fd00::1:51820' }), /wireGuardPeers\[0\]\.endpoint must be host:port/],
  ])('%s', (_name, bad, message) => {
    const f = fixture();
    expect(() => tunnel(f, { wireGuardPeers: [bad] })).toThrow(message);
  });

  test('two peers share a public key', () => {
    const f = fixture();
    expect(() => tunnel(f, { wireGuardPeers: [peer({}), peer({ publicKey: PEER_B }), peer({ allowedIps: ['10.10.0.9/32'] })] }))
      .toThrow(`wireGuardPeers[2].publicKey "${PEER_A}" is already the key of wireGuardPeers[0]; each peer key may appear once`);
    const g = fixture();
    const listener = tunnel(g);
    expect(() => listener.addWireGuardPeer(peer({}))).toThrow(/wireGuardPeers\[1\]\.publicKey .* is already the key of wireGuardPeers\[0\]/);
  });

  test('privateKeyGeneration is not a non-negative integer', () => {
    expect(() => tunnel(fixture(), { privateKeyGeneration: -1 })).toThrow(/privateKeyGeneration must be an integer from 0 to 2147483647, got -1/);
    expect(() => tunnel(fixture(), { privateKeyGeneration: 1.5 })).toThrow(/privateKeyGeneration must be an integer from 0 to 2147483647, got 1.5/);
  });

  test('the private key secret has no complete ARN', () => {
    const f = fixture();
    const byName = secretsmanager.Secret.fromSecretNameV2(f.stack, 'ByName', 'devices/wg-key');
    expect(() => tunnel(f, { privateKey: byName })).toThrow(/privateKey must be a secret with a complete ARN .*Secret.fromSecretCompleteArn\(\)/);
  });

  test('a WireGuard Listener accepts no peer', () => {
    const app = testApp();
    const f = fixture(testStack('Stack', app));
    tunnel(f, { wireGuardPeers: [] });
    expect(() => app.synth()).toThrow(/WireGuard Listener Tunnel accepts no peer: pass wireGuardPeers, call addWireGuardPeer\(\), or set allowUnknownPeers: true/);
  });

  test('a peer is added to a UDP Listener', () => {
    const f = fixture();
    const plain = f.gw.addListener('Plain', { port: 5555, destinations: [Destination.lambda(f.fn)] });
    expect(() => plain.addWireGuardPeer(peer({}))).toThrow(/addWireGuardPeer applies only to WireGuard Listeners, got protocol udp/);
    expect(plain.publicKey).toBeUndefined();
  });

  test('a secret variable is added twice, or under a name that is no variable name', () => {
    const f = fixture();
    const secret = new secretsmanager.Secret(f.stack, 'Extra');
    expect(() => f.gw.addSecretEnvironment('PACKET_GATEWAY_TAG_SECRET', secret)).toThrow(/environment variable PACKET_GATEWAY_TAG_SECRET already carries a secret/);
    expect(() => f.gw.addSecretEnvironment('1BAD', secret)).toThrow(/name must be an environment variable name .*got "1BAD"/);
    const byName = secretsmanager.Secret.fromSecretNameV2(f.stack, 'ByName', 'devices/other');
    expect(() => f.gw.addSecretEnvironment('OTHER', byName, { versionId: 'v1' })).toThrow(/versionId needs a secret with a complete ARN/);
  });
});
