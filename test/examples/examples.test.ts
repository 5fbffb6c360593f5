import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsSolutionsChecks } from 'cdk-nag';
import { crossAccountApp } from '../../examples/cross-account/app';
import { GameFanoutStack } from '../../examples/game-fanout/app';
import { IotPushStack, PUSH_TO_DEVICES_SEEN_WITHIN } from '../../examples/iot-push/app';
import { COUNT_BY_ADDRESS, PacketCounterStack } from '../../examples/packet-counter-sfn/app';
import { actionsOf, ensureAssets, logicalId, policyStatements } from '../lib/support';
import { testApp } from '../support/cdk-app';

const ROOT = join(__dirname, '..', '..');

beforeAll(ensureAssets);

/** Unacknowledged AwsSolutions findings of a stack. */
function nagFindings(app: App, stack: Stack): string[] {
  Aspects.of(stack).add(new AwsSolutionsChecks());
  return app.synth().getStackArtifact(stack.artifactId).messages
    .filter((m) => (m.level === 'error' || m.level === 'warning') && /AwsSolutions-|CdkNagValidationFailure/.test(String(m.entry.data)))
    .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
}

const ENV = { account: '123456789012', region: 'eu-west-1' };

describe('iot-push', () => {
  test('a gateway, a telemetry Listener with a Lambda destination, a PacketSource and a scheduled notifier', () => {
    const stack = new IotPushStack(testApp(), 'IotPush', { env: ENV });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 5555, Protocol: 'UDP' });
    t.hasResourceProperties('Custom::PacketGatewayListener', { ListenerName: 'telemetry' });
    t.hasResourceProperties('Custom::PacketGatewayPacketSource', { ListenerName: 'telemetry', Description: 'WAKE pushes to devices' });
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Pushes WAKE to recently seen devices',
      Environment: { Variables: { TOPIC_ARN: { Ref: Match.stringLikeRegexp('PushTopic') }, DEVICES_TABLE: Match.anyValue() } },
    });
  });

  test('the notifier pushes only to devices seen within 110 s, below the load balancer\'s 120 s flow idle timeout', async () => {
    const t = Template.fromStack(new IotPushStack(testApp(), 'IotPush', { env: ENV }));
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Pushes WAKE to recently seen devices',
      Environment: { Variables: Match.objectLike({ SEEN_WITHIN_SECONDS: '110' }) },
    });
    expect(PUSH_TO_DEVICES_SEEN_WITHIN.toSeconds()).toBeLessThanOrEqual(110);

    const dynamodb = mockClient(DynamoDBClient);
    const sns = mockClient(SNSClient);
    dynamodb.on(ScanCommand).resolves({ Items: [] });
    try {
      const before = Date.now();
      process.env.DEVICES_TABLE = 'devices';
      delete process.env.SEEN_WITHIN_SECONDS;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const notifier = require('../../examples/iot-push/functions/notifier/index.js') as { handler: () => Promise<unknown> };
      await notifier.handler();
      const after = Date.now();
      const since = Number(dynamodb.commandCalls(ScanCommand)[0].args[0].input.ExpressionAttributeValues![':since'].N);
      expect(since).toBeGreaterThanOrEqual(before - 110_000);
      expect(since).toBeLessThanOrEqual(after - 110_000);
    } finally {
      dynamodb.restore();
      sns.restore();
      delete process.env.DEVICES_TABLE;
    }
  });

  test('a WireGuard Listener for the same telemetry: generated key, device peers, its own PacketSource, the public key as an output', () => {
    const stack = new IotPushStack(testApp(), 'IotPush', { env: ENV });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 51820, Protocol: 'UDP' });
    t.hasResourceProperties('Custom::PacketGatewayWireGuardKey', { ListenerName: 'telemetry-wg', KeySource: 'Generated' });
    t.hasResourceProperties('Custom::PacketGatewayPacketSource', { ListenerName: 'telemetry-wg' });
    const [keyPairId] = Object.keys(t.findResources('Custom::PacketGatewayWireGuardKey'));
    t.hasOutput('TunnelPublicKey', { Value: { 'Fn::GetAtt': [keyPairId, 'PublicKey'] } });
    const [listener] = Object.values(t.findResources('Custom::PacketGatewayListener', { Properties: { ListenerName: 'telemetry-wg' } }));
    const configuration = JSON.stringify(listener.Properties.Configuration);
    expect(configuration).toContain('\\"PrivateKeyEnvironmentVariable\\":\\"PACKET_GATEWAY_WG_KEY_TELEMETRY_WG\\"');
    expect(configuration).toContain('\\"Peers\\":[{\\"PublicKey\\":\\"ExampleDevicePublicKeyReplaceMeWithYourOwn0=\\"');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Pushes WAKE to recently seen devices',
      Environment: { Variables: Match.objectLike({ TUNNEL_TOPIC_ARN: { Ref: Match.stringLikeRegexp('PushTunnelTopic') } }) },
    });
  });

  test('device peers come from the devicePeers context', () => {
    const peers = [{ publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', allowedIps: ['10.10.0.7/32'] }];
    const app = testApp({ context: { devicePeers: JSON.stringify(peers) } });
    const [listener] = Object.values(Template.fromStack(new IotPushStack(app, 'IotPush', { env: ENV }))
      .findResources('Custom::PacketGatewayListener', { Properties: { ListenerName: 'telemetry-wg' } }));
    expect(JSON.stringify(listener.Properties.Configuration)).toContain('xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=');
    expect(JSON.stringify(listener.Properties.Configuration)).not.toContain('ExampleDevicePublicKey');
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
    const app = testApp();
    expect(nagFindings(app, new IotPushStack(app, 'IotPush', { env: ENV }))).toEqual([]);
  });

  test('cdk.json runs this app and it synthesizes without AWS credentials', () => {
    const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8'));
    // cdk.json bundles the assets first, so a fresh clone synthesizes right after `npm ci`.
    expect(cdkJson.app).toBe('npx tsx scripts/bundle.ts && npx tsx examples/iot-push/app.ts');
    const outdir = mkdtempSync(join(tmpdir(), 'pgw-cdk-out-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, CDK_OUTDIR: outdir, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: 'none', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
      delete env.CDK_DEFAULT_ACCOUNT;
      delete env.CDK_DEFAULT_REGION;
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'examples', 'iot-push', 'app.ts')], { cwd: ROOT, env, stdio: 'pipe' });
      expect(existsSync(join(outdir, 'PacketGatewayIotPush.template.json'))).toBe(true);
      const template = JSON.parse(readFileSync(join(outdir, 'PacketGatewayIotPush.template.json'), 'utf8'));
      expect(Object.values(template.Resources).some((r: any) => r.Type === 'Custom::PacketGatewayPacketSource')).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('cross-account', () => {
  test('the application stack binds its topic through the platform outputs; the platform allows the application account', () => {
    const app = testApp({ context: { platformAccount: '111111111111', applicationAccount: '222222222222', region: 'eu-west-1' } });
    const { platform, application } = crossAccountApp(app);
    const p = Template.fromStack(platform);
    p.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: '222222222222' });
    p.hasOutput('GatewayServiceToken', {});
    // the output is the token that serves PacketSources only, the one the application account may invoke
    expect(platform.resolve(platform.gateway.packetSourceServiceToken)).toEqual(p.toJSON().Outputs.GatewayServiceToken.Value);
    p.hasResourceProperties('AWS::Lambda::Permission', { Principal: '222222222222', FunctionName: p.toJSON().Outputs.GatewayServiceToken.Value });
    p.hasOutput('GatewayPrincipalArn', {});
    p.hasOutput('GatewayDeliveryQueueArn', {});
    const a = Template.fromStack(application);
    a.hasResourceProperties('Custom::PacketGatewayPacketSource', {
      ServiceToken: Match.stringLikeRegexp('^arn:aws:lambda:eu-west-1:111111111111:function:'),
      ListenerName: 'devices',
    });
    a.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { AWS: Match.stringLikeRegexp('^arn:aws:iam::111111111111:role/') }, Condition: { StringEquals: { 'sts:ExternalId': Match.anyValue() } } })] },
    });
  });

  test('context values replace the placeholders', () => {
    const app = testApp({ context: { gatewayServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:real', gatewayPrincipalArn: 'arn:aws:iam::111111111111:role/real' } });
    const { application } = crossAccountApp(app);
    Template.fromStack(application).hasResourceProperties('Custom::PacketGatewayPacketSource', { ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:real' });
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding in either stack', () => {
    const app = testApp();
    const { platform, application } = crossAccountApp(app);
    Aspects.of(platform).add(new AwsSolutionsChecks());
    expect(nagFindings(app, application)).toEqual([]);
    const platformMessages = app.synth().getStackArtifact(platform.artifactId).messages.filter((m) => /AwsSolutions-/.test(String(m.entry.data)));
    expect(platformMessages.map((m) => m.id)).toEqual([]);
  });
});

test('no example needs a context lookup, so `cdk synth` needs no AWS credentials', () => {
  const apps = [testApp(), testApp(), testApp()];
  new IotPushStack(apps[0], 'IotPush');
  new GameFanoutStack(apps[1], 'Game');
  crossAccountApp(apps[2]);
  for (const app of apps) expect(app.synth().manifest.missing ?? []).toEqual([]);
});

describe('game-fanout', () => {
  test('a utf8 game Listener, a PacketSource and a broadcast function that may publish to it', () => {
    const stack = new GameFanoutStack(testApp(), 'Game', { env: ENV });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 7777, Protocol: 'UDP' });
    t.hasResourceProperties('Custom::PacketGatewayPacketSource', { ListenerName: 'game' });
    t.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } });
    const [listener] = Object.values(t.findResources('Custom::PacketGatewayListener'));
    expect(JSON.stringify(listener.Properties.Configuration)).toContain('\\"Formatter\\":\\"utf8\\"');
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
    const app = testApp();
    expect(nagFindings(app, new GameFanoutStack(app, 'Game', { env: ENV }))).toEqual([]);
  });
});

describe('packet-counter-sfn', () => {
  test('an EXPRESS JSONata state machine behind a Listener; the fleet may only run it synchronously', () => {
    const app = testApp();
    const stack = new PacketCounterStack(app, 'PacketCounter', { env: ENV });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 5555, Protocol: 'UDP' });
    const [counter] = Object.values(t.findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineType: 'EXPRESS' } }));
    const definition = JSON.stringify(counter.Properties.DefinitionString);
    expect(definition).toContain('JSONata');
    expect(definition).toContain('$states.input.Messages');
    expect(COUNT_BY_ADDRESS).toContain('"Replies"');
    const [listener] = Object.values(t.findResources('Custom::PacketGatewayListener'));
    const configuration = JSON.stringify(listener.Properties.Configuration);
    expect(configuration).toContain('\\"Type\\":\\"stepfunctions\\"');
    expect(configuration).toContain('\\"Arguments\\":{\\"StateMachineType\\":\\"EXPRESS\\"}');
    const fleet = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
    expect(fleet.flatMap(actionsOf).filter((a) => a.startsWith('states:'))).toEqual(['states:StartSyncExecution']);
  });

  test('synthesizes without a context lookup', () => {
    const app = testApp();
    new PacketCounterStack(app, 'PacketCounter');
    expect(app.synth().manifest.missing ?? []).toEqual([]);
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
    const app = testApp();
    expect(nagFindings(app, new PacketCounterStack(app, 'PacketCounter', { env: ENV }))).toEqual([]);
  });
});
