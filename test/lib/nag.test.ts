import { App, Aspects, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigatewayv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ACCOUNT, ensureAssets, OTHER_ACCOUNT, REGION } from './support';
import { AwsApiAccess, Destination, Listener, ListenerProtocol, PacketGateway, PacketGatewayProps, PacketSource } from '../../lib';
import { testApp } from '../support/cdk-app';

beforeAll(ensureAssets);

/** AwsSolutions findings (errors and warnings) that no acknowledgement covers. */
function findings(app: App, stack: Stack): string[] {
  Aspects.of(stack).add(new AwsSolutionsChecks());
  const messages = app.synth().getStackArtifact(stack.artifactId).messages;
  return messages
    .filter((m) => (m.level === 'error' || m.level === 'warning') && /AwsSolutions-|CdkNagValidationFailure/.test(String(m.entry.data)))
    .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
}

/** Every construct of the library: a gateway with a Listener of each destination type, WireGuard Listeners (generated and own key) and PacketSources of both kinds. */
function everything(props: PacketGatewayProps, stack: Stack): void {
  const gw = new PacketGateway(stack, 'Gateway', { allowedAccounts: [OTHER_ACCOUNT], ...props });
  const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
  const queue = sqs.Queue.fromQueueAttributes(stack, 'Archive', {
    queueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:archive`,
    keyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  });
  const listener = gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn), Destination.sqs(queue)] });
  gw.addListener('Archive', {
    port: 5556,
    destinations: [
      Destination.cloudWatchLogs(logs.LogGroup.fromLogGroupName(stack, 'AuditLog', '/udp/audit')),
      Destination.s3(s3.Bucket.fromBucketAttributes(stack, 'ArchiveBucket', {
        bucketName: 'packet-archive',
        encryptionKey: kms.Key.fromKeyArn(stack, 'ArchiveBucketKey', `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ac`),
      }), { keyPrefix: 'udp/' }),
      Destination.s3(s3.Bucket.fromBucketName(stack, 'WholeBucket', 'packet-archive-2')),
      Destination.dynamoDb(dynamodb.Table.fromTableAttributes(stack, 'PacketTable', {
        tableName: 'packets',
        encryptionKey: kms.Key.fromKeyArn(stack, 'PacketTableKey', `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ad`),
      })),
    ],
  });
  gw.addListener('Workflows', {
    port: 5560,
    destinations: [
      Destination.stepFunctions(sfn.StateMachine.fromStateMachineArn(stack, 'Counter', `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:counter`)),
      Destination.apiGateway(apigateway.RestApi.fromRestApiId(stack, 'Outbound', 'a1b2c3d4e5'), { path: '/measurements', stageName: 'prod' }),
      Destination.httpApi(apigatewayv2.HttpApi.fromHttpApiAttributes(stack, 'Http', { httpApiId: 'f6g7h8i9j0' }), { path: '/udp', method: 'ANY' }),
    ],
  });
  const psk = secretsmanager.Secret.fromSecretNameV2(stack, 'PeerPsk', 'devices/psk');
  const tunnel = gw.addListener('Tunnel', {
    port: 51820,
    protocol: ListenerProtocol.WIREGUARD,
    destinations: [Destination.lambda(fn)],
    wireGuardPeers: [{ publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', allowedIps: ['10.10.0.2/32'], presharedKey: psk }],
  });
  gw.addListener('OwnKeyTunnel', {
    port: 51821,
    protocol: ListenerProtocol.WIREGUARD,
    destinations: [Destination.lambda(fn)],
    privateKey: secretsmanager.Secret.fromSecretCompleteArn(stack, 'OwnKey', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:devices/wg-key-QwErTy`),
    allowUnknownPeers: true,
  });
  new PacketSource(stack, 'PushTunnel', { listener: tunnel });
  new PacketSource(stack, 'Push', { listener });
  const remote = Listener.fromListenerAttributes(stack, 'Remote', {
    listenerName: 'telemetry',
    serviceToken: gw.serviceToken,
    registrationPrincipalArn: gw.registrationPrincipalArn,
  });
  new PacketSource(stack, 'PushViaAttributes', { listener: remote });
}

const modes: Array<[string, (stack: Stack) => PacketGatewayProps]> = [
  ['NAT gateway (default)', () => ({})],
  ['VPC endpoints', () => ({ awsApiAccess: AwsApiAccess.VPC_ENDPOINTS })],
  ['your own VPC', (stack) => ({ vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, restrictDefaultSecurityGroup: false, flowLogs: { all: {} } }) })],
];

test.each(modes)('cdk-nag AwsSolutions: no unacknowledged finding with %s', (_name, props) => {
  const app = testApp();
  const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
  everything(props(stack), stack);
  expect(findings(app, stack)).toEqual([]);
});

test('the library acknowledges findings by rule id with a reason, never wholesale', () => {
  const app = testApp();
  const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
  everything({}, stack);
  const template = app.synth().getStackByName('Stack').template as { Resources: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: Array<{ id: string; reason: string }> } } }> };
  const rules = Object.values(template.Resources).flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? []);
  expect(rules.length).toBeGreaterThan(0);
  for (const rule of rules) {
    expect(rule.id).toMatch(/^AwsSolutions-[A-Z]+\d+$/);
    expect(rule.reason.length).toBeGreaterThan(30);
  }
});

test('without the acknowledgements cdk-nag would report the library\'s known findings', () => {
  // Guards the test above against passing because nothing was checked.
  const app = testApp();
  const stack = new Stack(app, 'Stack', { env: { account: ACCOUNT, region: REGION } });
  everything({}, stack);
  for (const construct of stack.node.findAll()) {
    const metadata = (construct as { cfnOptions?: { metadata?: Record<string, unknown> } }).cfnOptions?.metadata;
    if (metadata) delete metadata.cdk_nag;
  }
  const ids = findings(app, stack).map((f) => f.split(': ')[1].split(':')[0].replace(/\[.*$/, ''));
  expect(new Set(ids)).toEqual(new Set(['AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-L1', 'AwsSolutions-SF2', 'AwsSolutions-ECS2',
    'AwsSolutions-SMG4', 'AwsSolutions-EC23', 'AwsSolutions-ELB2', 'AwsSolutions-SQS3']));
});
