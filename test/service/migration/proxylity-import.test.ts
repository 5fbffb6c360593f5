import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as ts from 'typescript';
import { validateConfigDocument } from '../../../lib/private/validate-records';
import { runCli } from '../../../service/cli';
import { convertProxylityTemplate, parseProxylityTemplate, ProxylityImport, ProxylityTemplateError } from '../../../service/migration/proxylity-import';
import { ensureAssets, REGION, ACCOUNT } from '../../lib/support';
import { testApp } from '../../support/cdk-app';

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'proxylity');
const TEMPLATES = ['echo-lambda', 'queues', 'wireguard', 'multi-region-source', 'bindings', 'terraform', 'streams'] as const;
type Fixture = (typeof TEMPLATES)[number];

function convert(name: string, libraryImport = 'cdk-packet-gateway'): ProxylityImport {
  const file = join(FIXTURES, name === 'terraform' ? 'terraform.tfvars.json' : `${name}.template.json`);
  return convertProxylityTemplate(parseProxylityTemplate(readFileSync(file, 'utf8'), file), { libraryImport, stackClassName: 'MigratedStack' });
}

const PROXYLITY_ACCOUNT = "Proxylity's own account setting: the gateway in your account replaces it";
const port = (id: string): { path: string; reason: string } => ({
  path: `${id}.Port`,
  reason: `Proxylity assigns the port (GetAtt ${id}.Port); the generated code uses 5555: point clients at the new address and port`,
});

const EXPECTED_LEFTOVERS: Record<Fixture, Array<{ path: string; reason: string }>> = {
  'echo-lambda': [
    port('EchoListener'),
    { path: 'EchoListener.ServiceToken', reason: PROXYLITY_ACCOUNT },
    { path: 'EchoListener.ApiKey', reason: PROXYLITY_ACCOUNT },
    { path: 'EchoListener.Destinations[0].Description', reason: 'destinations have no description here: kept as a comment in the generated code' },
  ],
  'queues': [
    port('SensorListener'),
    { path: 'SensorListener.ServiceToken', reason: PROXYLITY_ACCOUNT },
    { path: 'SensorListener.ClientRestrictions.Domains', reason: 'restricting clients by domain name is not supported: list their networks in ClientRestrictions.Networks' },
    { path: 'SensorListener.Destinations[1].Arguments.Compression', reason: 'not an argument of the sqs destination here' },
  ],
  'wireguard': [
    port('Tunnel'),
    { path: 'Tunnel.Peers[0].PublicKey', reason: 'has no value for local mode (a parameter without Default): the local configuration leaves this peer out' },
  ],
  'multi-region-source': [
    port('CounterListener'),
    { path: 'CounterListener.Tags', reason: 'tags are not carried over: tag the stack or its constructs with Tags.of(…).add' },
    {
      path: 'CounterListener.Destinations[1].DestinationArn',
      reason: '{"Fn::Sub":"arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:other"} uses an intrinsic function this conversion cannot carry over (only literals, Ref and Fn::GetAtt): the destination is left out',
    },
    { path: 'Push.ServiceToken', reason: PROXYLITY_ACCOUNT },
    { path: 'Push.SnsTopicSource.Role', reason: 'the PacketSource construct creates its own role, trusted only with its ExternalId' },
  ],
  'bindings': [
    { path: 'RegionalWest.ApiKey', reason: PROXYLITY_ACCOUNT },
    port('ControlListener'),
    { path: 'ControlListener.Destinations[3]', reason: 'has no DestinationArn (and no DestinationArn resource binds its Name): the destination is left out' },
    { path: 'Orphan.Destination', reason: '"elsewhere" is not a destination of a Listener of the template that lacks a DestinationArn: the binding is left out' },
  ],
  'streams': [
    port('StreamListener'),
    {
      path: 'StreamListener.Destinations[4].DestinationArn',
      reason: '{"Fn::GetAtt":["Devices","Arn"]} names no destination type the conversion knows (Lambda, SQS, SNS, Kinesis, Firehose, EventBridge, Step Functions, CloudWatch Logs, S3): the destination is left out',
    },
    { path: 'StreamListener.Destinations[5].Batching.SizeInMb', reason: '10 is outside the batch size here (integer 1024–6291456 bytes, i.e. 1 KiB–6 MiB)' },
  ],
  'terraform': [
    port('GameServer'),
    { path: 'GameServer.Tags', reason: 'tags are not carried over: tag the stack or its constructs with Tags.of(…).add' },
    { path: 'GameServer.Destinations[0].Description', reason: 'destinations have no description here: kept as a comment in the generated code' },
  ],
};

describe.each(TEMPLATES)('%s template', (name) => {
  test('lists exactly the properties it could not carry over', () => {
    expect(convert(name).leftovers).toEqual(EXPECTED_LEFTOVERS[name]);
  });

  test('gives a valid local-mode configuration', () => {
    expect(validateConfigDocument(convert(name).localConfig)).toEqual([]);
  });
});

describe('generated CDK code', () => {
  const dir = mkdtempSync(join(ROOT, 'test', 'service', 'migration', '.generated-'));
  const files = new Map<Fixture, string>();
  beforeAll(() => {
    ensureAssets();
    const library = relative(dir, join(ROOT, 'lib'));
    for (const name of TEMPLATES) {
      const file = join(dir, `${name}.ts`);
      writeFileSync(file, convert(name, library).cdkCode);
      files.set(name, file);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('type-checks under the project compiler options', () => {
    const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'test', 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    const program = ts.createProgram([...files.values()], { ...config!.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && d.file.fileName.startsWith(dir))
      .map((d) => `${d.file!.fileName}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(diagnostics).toEqual([]);
  }, 180_000);

  function synth(name: Fixture): Template {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MigratedStack } = require(files.get(name)!);
    const app = testApp();
    return Template.fromStack(new MigratedStack(app, 'Migrated', { env: { account: ACCOUNT, region: REGION } }));
  }

  function listenerConfiguration(t: Template): string {
    const [resource] = Object.values(t.findResources('Custom::PacketGatewayListener'));
    return JSON.stringify(resource!.Properties.Configuration);
  }

  test('echo-lambda: a Lambda destination with batching, Formatter, metrics and role', () => {
    const t = synth('echo-lambda');
    t.hasParameter('AllowedClients', { Type: 'String', Default: '203.0.113.0/24' });
    t.hasParameter('EchoFunctionArn', { Type: 'String' });
    t.hasParameter('GatewayRoleArn', { Type: 'String' });
    const configuration = listenerConfiguration(t);
    for (const fragment of ['\\"Port\\":5555', '\\"Formatter\\":\\"hex\\"', '\\"MetricsEnabled\\":true', '\\"Count\\":500', '\\"TimeoutInSeconds\\":0.5', '\\"SizeInBytes\\":2097152', 'AllowedClients', 'GatewayRoleArn']) {
      expect(configuration).toContain(fragment);
    }
  });

  test('queues: SQS destinations with their arguments, an error log group, and S3', () => {
    const configuration = listenerConfiguration(synth('queues'));
    for (const fragment of ['\\"SendRaw\\":true', '\\"UseMessageAttributes\\":true', '[0:2]', '[2:]', '\\"MessageDeduplicationIdFormatter\\":\\"base64\\"', '/udp/readings-errors', '198.51.100.0/24', '2001:db8::/32', '\\"Type\\":\\"s3\\"']) {
      expect(configuration).toContain(fragment);
    }
  });

  test('wireguard: a WireGuard Listener with its peers', () => {
    const t = synth('wireguard');
    t.hasParameter('LaptopKey', { Type: 'String' });
    const configuration = listenerConfiguration(t);
    for (const fragment of ['\\"Protocol\\":\\"wg\\"', '\\"DecapsulatedDelivery\\":true', '\\"AllowUnknownPeers\\":false', '10.20.0.3/32', 'PhoneKey']) {
      expect(configuration).toContain(fragment);
    }
  });

  test('multi-region-source: a region-map Lambda destination and a PacketSource on the imported topic', () => {
    const t = synth('multi-region-source');
    expect(listenerConfiguration(t)).toContain('arn:aws:lambda:eu-west-1:111111111111:function:counter');
    expect(listenerConfiguration(t)).toContain('\\"Arguments\\":{\\"TenantIdExpression\\":\\"[0:4]\\"}');
    expect(Object.keys(t.findResources('Custom::PacketGatewayPacketSource'))).toHaveLength(1);
    t.hasParameter('PushTopicArn', { Type: 'String' });
  });

  test('bindings: DestinationArn resources become a region map; Step Functions and CloudWatch Logs destinations', () => {
    const t = synth('bindings');
    const configuration = listenerConfiguration(t);
    for (const fragment of [
      '\\"us-west-2\\":\\"arn:aws:lambda:us-west-2:222222222222:function:control\\"',
      '\\"*\\":\\"arn:aws:lambda:us-east-1:222222222222:function:control\\"',
      '\\"Type\\":\\"stepfunctions\\"',
      '\\"Formatter\\":\\"coap\\"',
      'WorkflowArn',
      'AuditArn',
    ]) {
      expect(configuration).toContain(fragment);
    }
    expect(configuration).not.toContain('unbound');
  });

  test('streams: Kinesis, Firehose, SNS and EventBridge destinations', () => {
    const configuration = listenerConfiguration(synth('streams'));
    for (const fragment of ['\\"Type\\":\\"kinesis\\"', '\\"Arguments\\":{\\"PartitionKeyExpression\\":\\"[0:4]\\",\\"PartitionKeyFormatter\\":\\"hex\\"}', '\\"Type\\":\\"firehose\\"', '\\"Type\\":\\"sns\\"', '\\"Type\\":\\"eventbridge\\"', 'arn:aws:events:us-west-2:444444444444:event-bus/default', '\\"SizeInBytes\\":4194304']) {
      expect(configuration).toContain(fragment);
    }
    expect(configuration).not.toContain('devices');
  });

  test('terraform: the module inputs become a Listener with its destinations', () => {
    const configuration = listenerConfiguration(synth('terraform'));
    for (const fragment of ['game-server', '192.0.2.0/24', '\\"Count\\":25', '\\"TimeoutInSeconds\\":0.2', '\\"Formatter\\":\\"ascii\\"', 'arn:aws:iam::333333333333:role/game-delivery', '\\"eu-central-1\\"']) {
      expect(configuration).toContain(fragment);
    }
  });
});

test('Arguments are checked as the gateway checks them: a value it would refuse is listed, the other arguments are carried over', () => {
  const template = {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Stream: { Type: 'AWS::Kinesis::Stream', Properties: {} },
      L: {
        Type: 'Custom::ProxylityUdpGatewayListener',
        Properties: {
          Protocols: ['udp'],
          Destinations: [
            { Name: 'fn', DestinationArn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Arguments: { TenantIdExpression: '[0:', UseResponseStreaming: 'true' } },
            { Name: 'stream', DestinationArn: { 'Fn::GetAtt': ['Stream', 'Arn'] }, Arguments: { PartitionKeyExpression: '[0:4]', PartitionKeyFormatter: 'coap', SendRaw: true } },
            // the spelling of Proxylity's Kinesis example template
            { Name: 'example', DestinationArn: { 'Fn::GetAtt': ['Stream', 'Arn'] }, Arguments: { PartitionKeyExpression: '[0:2]', PartitionKeyExpressionFormatter: 'base64' } },
          ],
        },
      },
    },
  };
  const result = convertProxylityTemplate(template);
  expect(result.leftovers.filter((l) => l.path.includes('Arguments'))).toEqual([
    { path: 'L.Destinations[0].Arguments.TenantIdExpression', reason: expect.stringMatching(/^"\[0:" at column 4: expected .* \(allowed: a binary range expression/) },
    { path: 'L.Destinations[1].Arguments.SendRaw', reason: 'not an argument of the kinesis destination here' },
    { path: 'L.Destinations[1].Arguments.PartitionKeyFormatter', reason: '"coap" is not a Formatter for an argument (allowed: base64, hex, ascii, utf8)' },
  ]);
  expect(result.cdkCode).toContain('responseStreaming: true');
  expect(result.cdkCode).toContain('partitionKeyExpression: "[0:4]"');
  expect(result.cdkCode).not.toContain('tenantIdExpression');
  expect(result.cdkCode).toContain('partitionKeyFormatter: Formatter.BASE64');
  expect(result.cdkCode.match(/partitionKeyFormatter/g)).toHaveLength(1);
});

test('the local configuration keeps client restrictions and allows loopback, to be tried from this machine', () => {
  expect(convert('queues').localConfig.Listeners[0]!.ClientRestrictions).toEqual({ Networks: ['198.51.100.0/24', '2001:db8::/32', '127.0.0.0/8', '::1/128'] });
  expect(convert('wireguard').localConfig.Listeners[0]!.ClientRestrictions).toBeUndefined();
});

describe('unreadable templates', () => {
  test.each([
    ['not JSON', '{"Resources": ', /^t\.json is not valid JSON: /],
    ['YAML', 'Resources:\n  L:\n    Type: Custom::ProxylityUdpGatewayListener\n', /only JSON templates are read; convert it to JSON first/],
    ['an array', '[]', /^t\.json is not a template: expected a JSON object with "Resources", got \[\]$/],
    ['no Resources', '{"Parameters": {}}', /^t\.json has no "Resources" object/],
  ])('%s', (_label, text, message) => {
    expect(() => parseProxylityTemplate(text, 't.json')).toThrow(ProxylityTemplateError);
    expect(() => parseProxylityTemplate(text, 't.json')).toThrow(message);
  });

  test('a resource or parameter name that is not a logical id', () => {
    expect(() => convertProxylityTemplate({ Resources: { "Bad'Id": { Type: 'Custom::ProxylityUdpGatewayListener' } } }))
      .toThrow('resource "Bad\'Id" is not a CloudFormation logical id (allowed: 1–255 characters of A-Z a-z 0-9)');
    expect(() => convertProxylityTemplate({ Parameters: { 'a-b': {} }, Resources: {} }))
      .toThrow('parameter "a-b" is not a CloudFormation logical id (allowed: 1–255 characters of A-Z a-z 0-9)');
  });

  test('a template without a Listener', () => {
    expect(() => convertProxylityTemplate({ Resources: { Q: { Type: 'AWS::SQS::Queue' } } }))
      .toThrow('the template has no Custom::ProxylityUdpGatewayListener resource: nothing to convert');
  });
});

describe('packet-gateway import-proxylity', () => {
  function io(): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
  }
  const tmp = mkdtempSync(join(ROOT, 'test', 'service', 'migration', '.cli-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  test('writes the stack, the local configuration and the leftovers, prints them, exits 0', async () => {
    const c = io();
    const code = await runCli(['import-proxylity', join(FIXTURES, 'queues.template.json'), '--out', tmp, '--first-port', '6000'], c.io);
    expect(c.err).toEqual([]);
    expect(code).toBe(0);
    expect(readFileSync(join(tmp, 'gateway-stack.ts'), 'utf8')).toContain('Destination.sqs(orderedReadings');
    expect(JSON.parse(readFileSync(join(tmp, 'gateway.json'), 'utf8')).Listeners[0].Port).toBe(6000);
    expect(JSON.parse(readFileSync(join(tmp, 'leftovers.json'), 'utf8'))).toHaveLength(4);
    expect(c.out).toContain('4 properties not carried over:');
    expect(c.out).toContain('  SensorListener.ClientRestrictions.Domains: restricting clients by domain name is not supported: list their networks in ClientRestrictions.Networks');
  });

  test('a missing file exits 1 naming it', async () => {
    const c = io();
    expect(await runCli(['import-proxylity', join(tmp, 'missing.json'), '--out', tmp], c.io)).toBe(1);
    expect(c.err).toEqual([`packet-gateway import-proxylity: cannot read ${join(tmp, 'missing.json')}: ENOENT`]);
  });

  test('a malformed template exits 1 with the problem', async () => {
    const c = io();
    const file = join(FIXTURES, 'no-listener.template.json');
    expect(await runCli(['import-proxylity', file, '--out', tmp], c.io)).toBe(1);
    expect(c.err).toEqual(['packet-gateway import-proxylity: the template has no Custom::ProxylityUdpGatewayListener resource: nothing to convert']);
  });

  test('a bad --first-port is a usage error', async () => {
    const c = io();
    expect(await runCli(['import-proxylity', 'x.json', '--first-port', '0'], c.io)).toBe(2);
    expect(c.err[0]).toBe('packet-gateway import-proxylity: --first-port "0" is not integer 1–65535');
  });
});
