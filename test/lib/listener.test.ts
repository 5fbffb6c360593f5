import { CfnParameter, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ACCOUNT, actionsOf, ensureAssets, joinedJson, logicalId, policyStatements, REGION, testStack } from './support';
import { Destination, Formatter, Listener, ListenerOptions, ListenerProtocol, PacketGateway } from '../../lib';

beforeAll(ensureAssets);

interface Fixture {
  readonly stack: Stack;
  readonly gw: PacketGateway;
  readonly fn: lambda.IFunction;
}

function fixture(): Fixture {
  const stack = testStack();
  const gw = new PacketGateway(stack, 'Gateway');
  const fn = new lambda.Function(stack, 'Ingest', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
  return { stack, gw, fn };
}

function configuration(template: Template, listenerName: string): any {
  const resources = template.findResources('Custom::PacketGatewayListener', { Properties: { ListenerName: listenerName } });
  const [resource] = Object.values(resources);
  return joinedJson(resource.Properties.Configuration);
}

test('a UDP load-balancer listener and ip target group on the Listener port, health-checked over HTTP on 8080 at the Listener\'s own path', () => {
  const { gw, fn, stack } = fixture();
  const listener = gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] });
  const t = Template.fromStack(stack);

  t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
    Port: 5555,
    Protocol: 'UDP',
    LoadBalancerArn: { Ref: logicalId(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'GatewayLoadBalancer') },
    DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: logicalId(t, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'GatewayTelemetryTargetGroup') } }],
  });
  t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
    Port: 5555,
    Protocol: 'UDP',
    TargetType: 'ip',
    HealthCheckProtocol: 'HTTP',
    HealthCheckPort: '8080',
    HealthCheckPath: '/healthz/listeners/Telemetry',
    Matcher: { HttpCode: '200' },
    TargetGroupAttributes: Match.arrayWith([
      { Key: 'deregistration_delay.timeout_seconds', Value: '30' },
      { Key: 'deregistration_delay.connection_termination.enabled', Value: 'true' },
    ]),
  });
  expect(listener.listenerName).toBe('Telemetry');
  expect(listener.port).toBe(5555);
  expect(listener.protocol).toBe(ListenerProtocol.UDP);
});

test('the coap Formatter reaches the Listener and destination records', () => {
  const { gw, fn } = fixture();
  gw.addListener('Coap', { listenerName: 'coap', port: 5683, formatter: Formatter.COAP, destinations: [Destination.lambda(fn, { formatter: Formatter.COAP })] });
  const t = Template.fromStack(Stack.of(gw));
  const record = configuration(t, 'coap');
  expect(record.Formatter).toBe('coap');
  expect(record.Destinations[0].Formatter).toBe('coap');
});

test('a batching window of 0 reaches the record as TimeoutInSeconds 0 (close with what was read together), not as the default', () => {
  const { gw, fn } = fixture();
  gw.addListener('Rpc', { listenerName: 'rpc', port: 5684, destinations: [Destination.lambda(fn, { batchSize: 10, maxBatchingWindow: Duration.millis(0) })] });
  const record = configuration(Template.fromStack(Stack.of(gw)), 'rpc');
  expect(record.Destinations[0].Batching).toEqual({ Count: 10, TimeoutInSeconds: 0 });
});

test('the Listener record: a Custom::PacketGatewayListener carrying the configuration as JSON', () => {
  const { gw, fn, stack } = fixture();
  const queue = new sqs.Queue(stack, 'Archive');
  gw.addListener('Telemetry', {
    listenerName: 'telemetry',
    port: 5555,
    formatter: Formatter.HEX,
    clientRestrictions: ['203.0.113.0/24', '2001:db8::/32'],
    egressAllowedNetworks: ['10.20.0.0/16'],
    maxPayloadSize: Size.bytes(1200),
    replyTagTtl: Duration.minutes(2),
    domain: 'telemetry.example.com',
    destinations: [
      Destination.lambda(fn, { destinationName: 'decoder', batchSize: 50, maxBatchingWindow: Duration.millis(20), maxBatchPayloadSize: Size.kibibytes(256), formatter: Formatter.BASE64 }),
      Destination.sqs(queue, { maxQueuedPackets: 5000, maxInFlightBatches: 16 }),
    ],
  });
  const t = Template.fromStack(stack);

  t.hasResourceProperties('Custom::PacketGatewayListener', {
    ServiceToken: { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'GatewayRegistrationProviderframeworkonEvent'), 'Arn'] },
    ListenerName: 'telemetry',
  });
  expect(configuration(t, 'telemetry')).toEqual({
    Name: 'telemetry',
    Protocol: 'udp',
    Port: 5555,
    Formatter: 'hex',
    Domain: 'telemetry.example.com',
    ClientRestrictions: { Networks: ['203.0.113.0/24', '2001:db8::/32'] },
    EgressAllowedNetworks: ['10.20.0.0/16'],
    MaxPayloadBytes: 1200,
    ReplyTagTtlSeconds: 120,
    Destinations: [
      {
        Name: 'decoder',
        Type: 'lambda',
        Arn: `<GetAtt:${logicalId(t, 'AWS::Lambda::Function', 'Ingest')}.Arn>`,
        Formatter: 'base64',
        Batching: { Count: 50, TimeoutInSeconds: 0.02, SizeInBytes: 262144 },
      },
      {
        Name: 'sqs-1',
        Type: 'sqs',
        Arn: `<GetAtt:${logicalId(t, 'AWS::SQS::Queue', 'Archive')}.Arn>`,
        QueueUrl: `<Ref:${logicalId(t, 'AWS::SQS::Queue', 'Archive')}>`,
        MaxQueuedPackets: 5000,
        MaxInFlightBatches: 16,
      },
    ],
  });
});

test('destinations added later reach the record, and the record waits for the fleet permissions', () => {
  const { gw, fn, stack } = fixture();
  const listener = gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] });
  listener.addDestination(Destination.lambda(fn, { destinationName: 'audit' }));
  const t = Template.fromStack(stack);
  expect(configuration(t, 'Telemetry').Destinations.map((d: { Name: string }) => d.Name)).toEqual(['lambda-0', 'audit']);
  const [resource] = Object.values(t.findResources('Custom::PacketGatewayListener'));
  expect(resource.DependsOn).toEqual(expect.arrayContaining([logicalId(t, 'AWS::IAM::Policy', 'GatewayAccessRoleDefaultPolicy')]));
  // The fleet starts once the load-balancer listener exists.
  const [service] = Object.values(t.findResources('AWS::ECS::Service'));
  expect(service.DependsOn).toEqual(expect.arrayContaining([logicalId(t, 'AWS::ElasticLoadBalancingV2::Listener', 'GatewayTelemetryLoadBalancerListener')]));
});

test('Destination.lambda grants the fleet lambda:InvokeFunction on that function only', () => {
  const { gw, fn, stack } = fixture();
  gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] });
  const t = Template.fromStack(stack);
  const invoke = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole')).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
  expect(invoke).toEqual([expect.objectContaining({
    Action: 'lambda:InvokeFunction',
    Resource: [
      { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'Ingest'), 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'Ingest'), 'Arn'] }, ':*']] },
    ],
  })]);
});

test('metricsEnabled and a delivery-error log group reach the record; the fleet may only create streams and put events in that log group', () => {
  const { gw, fn, stack } = fixture();
  const own = new logs.LogGroup(stack, 'FnErrors', { logGroupName: '/udp/fn-errors' });
  gw.addListener('Telemetry', {
    port: 5555,
    destinations: [
      Destination.lambda(fn, { destinationName: 'fn', metricsEnabled: true, deliveryErrorLogGroup: own }),
      Destination.lambda(fn, { destinationName: 'created', logDeliveryErrors: true }),
      Destination.lambda(fn, { destinationName: 'plain' }),
    ],
  });
  const t = Template.fromStack(stack);
  const created = logicalId(t, 'AWS::Logs::LogGroup', 'GatewayTelemetryDeliveryErrorscreated');
  t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  const record = configuration(t, 'Telemetry');
  expect(record.Destinations.map((d: any) => [d.Name, d.MetricsEnabled, d.LogGroupName])).toEqual([
    ['fn', true, `<Ref:${logicalId(t, 'AWS::Logs::LogGroup', 'FnErrors')}>`],
    ['created', undefined, `<Ref:${created}>`],
    ['plain', undefined, undefined],
  ]);
  const statements = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole')).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
  expect(statements).toEqual([
    expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::Logs::LogGroup', 'FnErrors'), 'Arn'] } }),
    expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [created, 'Arn'] } }),
  ]);
});

test('Destination.sqs grants the fleet sqs:SendMessage on the queue and use of its KMS key', () => {
  const { gw, stack } = fixture();
  const key = new kms.Key(stack, 'QueueKey', { enableKeyRotation: true });
  const queue = new sqs.Queue(stack, 'Archive', { encryptionMasterKey: key });
  gw.addListener('Telemetry', { port: 5555, destinations: [Destination.sqs(queue)] });
  const t = Template.fromStack(stack);
  const statements = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
  expect(statements).toContainEqual(expect.objectContaining({
    Action: 'sqs:SendMessage',
    Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'Archive'), 'Arn'] },
  }));
  expect(statements).toContainEqual(expect.objectContaining({
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'QueueKey'), 'Arn'] },
  }));
  expect(statements.filter((s) => JSON.stringify(s).includes('Archive') || JSON.stringify(s).includes('QueueKey'))).toHaveLength(2);
});

test('clients reach the port through the load balancer security group; the fleet accepts it from the load balancer only', () => {
  const { gw, fn, stack } = fixture();
  gw.addListener('Open', { port: 5555, destinations: [Destination.lambda(fn)] });
  gw.addListener('Restricted', { port: 6000, clientRestrictions: ['198.51.100.0/24'], destinations: [Destination.lambda(fn)] });
  const t = Template.fromStack(stack);
  const lbSg = logicalId(t, 'AWS::EC2::SecurityGroup', 'GatewayLoadBalancerSecurityGroup');
  const [sg] = Object.values(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('load balancer') } }));
  // (the other ingress rules of the group are ICMP for path MTU discovery, tested with the gateway)
  expect((sg.Properties.SecurityGroupIngress as Array<{ IpProtocol: string }>).filter((rule) => rule.IpProtocol === 'udp')).toEqual([
    expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'udp', FromPort: 5555, ToPort: 5555 }),
    expect.objectContaining({ CidrIp: '198.51.100.0/24', IpProtocol: 'udp', FromPort: 6000, ToPort: 6000 }),
  ]);
  for (const port of [5555, 6000]) {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'udp',
      FromPort: port,
      ToPort: port,
      GroupId: { 'Fn::GetAtt': [logicalId(t, 'AWS::EC2::SecurityGroup', 'GatewayServiceSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] },
    });
  }
});

test('connections of a Listener default to its port', () => {
  const { gw, fn, stack } = fixture();
  const listener = gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] });
  listener.connections.allowDefaultPortFrom(ec2.Peer.ipv4('192.0.2.0/24'));
  const [sg] = Object.values(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('load balancer') } }));
  expect(sg.Properties.SecurityGroupIngress).toContainEqual(expect.objectContaining({ CidrIp: '192.0.2.0/24', IpProtocol: 'udp', FromPort: 5555 }));
});

test('metrics of a Listener carry its name', () => {
  const { gw, fn } = fixture();
  const listener = gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] });
  const metric = listener.metricDatagramsIn({ period: Duration.minutes(5) });
  expect(metric).toMatchObject({ namespace: 'PacketGateway', metricName: 'DatagramsIn', dimensions: { Service: 'packet-gateway', Listener: 'Telemetry' } });
  expect(metric.period.toMinutes()).toBe(5);
  expect(listener.metricRepliesOut().metricName).toBe('RepliesOut');
  const perDestination = listener.metricDestination('fn', 'PacketsIn');
  expect(perDestination).toMatchObject({ namespace: 'PacketGateway', metricName: 'PacketsIn', dimensions: { Service: 'packet-gateway', Listener: 'Telemetry', Destination: 'fn' } });
});

test('Listener.fromListenerAttributes describes a Listener of another account', () => {
  const stack = testStack();
  const listener = Listener.fromListenerAttributes(stack, 'Remote', {
    listenerName: 'telemetry',
    serviceToken: `arn:aws:lambda:${REGION}:999999999999:function:registration`,
    registrationPrincipalArn: 'arn:aws:iam::999999999999:role/gateway-AccessRole',
  });
  expect(listener.listenerName).toBe('telemetry');
  expect(stack.resolve(listener.deliveryQueueArns)).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:*:999999999999:*']] }]);
});

describe('fails if …', () => {
  function addTo(gw: PacketGateway, fn: lambda.IFunction, options: Partial<ListenerOptions>, id = 'Listener'): Listener {
    return gw.addListener(id, { port: 5555, destinations: [Destination.lambda(fn)], ...options });
  }

  const cases: Array<[string, Partial<ListenerOptions>, RegExp]> = [
    ['the name has other characters', { listenerName: 'tele metry' }, /listenerName must be 1–64 characters of A-Z a-z 0-9 _ -, got "tele metry"/],
    ['the port is 0', { port: 0 }, /port must be an integer from 1 to 65535, got 0/],
    ['the port is above 65535', { port: 70000 }, /port must be an integer from 1 to 65535, got 70000/],
    ['a client restriction is not a CIDR block', { clientRestrictions: ['203.0.113.7'] }, /clientRestrictions must hold CIDR blocks .*got "203.0.113.7"/],
    ['client restrictions are empty', { clientRestrictions: [] }, /clientRestrictions must not be empty/],
    ['an egress network is not a CIDR block', { egressAllowedNetworks: ['10.0.0.0/33'] }, /egressAllowedNetworks must hold CIDR blocks .*got "10.0.0.0\/33"/],
    ['the payload limit exceeds a UDP datagram', { maxPayloadSize: Size.bytes(70000) }, /maxPayloadSize \(bytes\) must be an integer from 1 to 65507, got 70000/],
    ['the reply tag TTL exceeds an hour', { replyTagTtl: Duration.hours(2) }, /replyTagTtl must be from 1 s to 3600 s, got 7200 s/],
    ['the domain is not a host name', { domain: 'not a host' }, /domain must be a host name .*got "not a host"/],
    ['a domain label starts with a hyphen', { domain: '-edge.example.com' }, /domain must be a host name/],
  ];
  test.each(cases)('%s', (_name, options, message) => {
    const { gw, fn } = fixture();
    expect(() => addTo(gw, fn, options)).toThrow(message);
  });

  test('a destination option is out of range', () => {
    const { gw, fn } = fixture();
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { batchSize: 0 })] })).toThrow(/destination lambda-0: batchSize must be an integer from 1 to 10000, got 0/);
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { maxBatchingWindow: Duration.minutes(2) })] }, 'B'))
      .toThrow(/destination lambda-0: maxBatchingWindow must be from 0 ms to 60000 ms, got 120000 ms/);
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { maxBatchPayloadSize: Size.mebibytes(7) })] }, 'C'))
      .toThrow(/maxBatchPayloadSize \(bytes\) must be an integer from 1024 to 6291456, got 7340032/);
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { maxQueuedPackets: 0 })] }, 'D')).toThrow(/maxQueuedPackets must be an integer from 1 to 1000000, got 0/);
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { destinationName: 'a/b' })] }, 'E')).toThrow(/destinationName must be 1–64 characters/);
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { maxInFlightBatches: 0 })] }, 'F'))
      .toThrow(/destination lambda-0: maxInFlightBatches must be an integer from 1 to 1000, got 0/);
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { maxInFlightBatches: 2.5 })] }, 'G'))
      .toThrow(/maxInFlightBatches must be an integer from 1 to 1000, got 2\.5/);
  });

  test('a delivery-error log group is given while logDeliveryErrors is false', () => {
    const { gw, fn, stack } = fixture();
    const group = new logs.LogGroup(stack, 'Errors');
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { destinationName: 'fn', logDeliveryErrors: false, deliveryErrorLogGroup: group })] }))
      .toThrow(/destination fn: deliveryErrorLogGroup is given but logDeliveryErrors is false/);
  });

  test('two destinations share a name', () => {
    const { gw, fn } = fixture();
    expect(() => addTo(gw, fn, { destinations: [Destination.lambda(fn, { destinationName: 'x' }), Destination.lambda(fn, { destinationName: 'x' })] }))
      .toThrow(/destinationName "x" is used twice in Listener Listener/);
  });

  test('a Listener has no destination', () => {
    const { gw, stack } = fixture();
    gw.addListener('Empty', { port: 5555 });
    expect(() => Template.fromStack(stack)).toThrow(/Listener Empty has no destinations: pass destinations or call addDestination\(\)/);
  });

  test('two Listeners share a name or a port', () => {
    const { gw, fn } = fixture();
    addTo(gw, fn, { listenerName: 'telemetry', port: 5555 }, 'A');
    expect(() => addTo(gw, fn, { listenerName: 'telemetry', port: 6000 }, 'B')).toThrow(/listenerName "telemetry" is already used by another Listener of this gateway/);
    expect(() => addTo(gw, fn, { listenerName: 'other', port: 5555 }, 'C')).toThrow(/port 5555 is already used by another Listener of this gateway/);
  });

  test('a gateway gets more than 5 Listeners (an ECS service registers with at most 5 target groups)', () => {
    const { gw, fn } = fixture();
    for (let i = 0; i < 5; i++) addTo(gw, fn, { port: 6000 + i }, `L${i}`);
    expect(() => addTo(gw, fn, { port: 7000 }, 'L5')).toThrow(/Listener L5 would be Listener number 6 of this gateway; a gateway serves at most 5 Listeners, because .* at most 5 target groups/);
  });

  test('imported attributes have an invalid name or no delivery queues', () => {
    const stack = testStack();
    const base = { serviceToken: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:r`, registrationPrincipalArn: `arn:aws:iam::${ACCOUNT}:role/a` };
    expect(() => Listener.fromListenerAttributes(stack, 'A', { ...base, listenerName: 'a b' })).toThrow(/listenerName must be 1–64 characters/);
    expect(() => Listener.fromListenerAttributes(stack, 'B', { ...base, listenerName: 'ok', deliveryQueueArns: [] })).toThrow(/deliveryQueueArns must not be empty/);
  });

  test('a Lambda destination names a function the data plane refuses (the record validator)', () => {
    const { gw, stack } = fixture();
    const fn = lambda.Function.fromFunctionArn(stack, 'Dotted', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest.v2`);
    expect(() => addTo(gw, fn, {}, 'Telemetry')).toThrow(
      `Stack/Gateway/Telemetry: Listener.Destinations[0].Arn: "arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest.v2" is not a Lambda function `
      + '(allowed: a function ARN, name, or name:alias)',
    );
  });

  test('an SQS destination added later names a queue the data plane refuses (the record validator)', () => {
    const { gw, fn, stack } = fixture();
    const listener = addTo(gw, fn, {}, 'Telemetry');
    const queue = sqs.Queue.fromQueueArn(stack, 'Dotted', `arn:aws:sqs:${REGION}:${ACCOUNT}:orders.v2`);
    expect(() => listener.addDestination(Destination.sqs(queue))).toThrow(
      `Stack/Gateway/Telemetry: Listener.Destinations[1].Arn: "arn:aws:sqs:${REGION}:${ACCOUNT}:orders.v2" is not an SQS queue ARN`,
    );
  });

  test('the gateway is not a PacketGateway of this library', () => {
    const { gw, fn, stack } = fixture();
    const lookalike = Object.assign(new Construct(stack, 'Lookalike'), {
      serviceToken: gw.serviceToken,
      registrationPrincipalArn: gw.registrationPrincipalArn,
      deliveryQueueArns: gw.deliveryQueueArns,
      accessRole: gw.accessRole,
      loadBalancerDnsName: gw.loadBalancerDnsName,
      elasticIpAddresses: gw.elasticIpAddresses,
      connections: gw.connections,
    });
    expect(() => new Listener(stack, 'Telemetry', { gateway: lookalike, port: 5555, destinations: [Destination.lambda(fn)] }))
      .toThrow('Stack/Telemetry: gateway must be a PacketGateway of cdk-packet-gateway, got Stack/Lookalike; create the Listener with gateway.addListener()');
  });

  test('a port known only at deploy time is not validated at synth', () => {
    const { gw, fn, stack } = fixture();
    const port = new CfnParameter(stack, 'Port', { type: 'Number' }).valueAsNumber;
    expect(() => addTo(gw, fn, { port })).not.toThrow();
  });

  test('only values known at synth go through the record validator', () => {
    const { gw, stack } = fixture();
    const name = new CfnParameter(stack, 'FunctionName').valueAsString;
    const fn = lambda.Function.fromFunctionArn(stack, 'FromParameter', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`);
    expect(() => addTo(gw, fn, {}, 'Telemetry')).not.toThrow();
  });
});

test('an internet-safe payload limit by default: 1452 bytes for UDP, 1372 inside WireGuard', () => {
  const { gw, fn, stack } = fixture();
  gw.addListener('Plain', { port: 5555, destinations: [Destination.lambda(fn)] });
  gw.addListener('Tunnel', { port: 51820, protocol: ListenerProtocol.WIREGUARD, destinations: [Destination.lambda(fn)], allowUnknownPeers: true });
  gw.addListener('Large', { port: 5556, destinations: [Destination.lambda(fn)], maxPayloadSize: Size.bytes(9000) });
  const t = Template.fromStack(stack);
  expect(configuration(t, 'Plain').MaxPayloadBytes).toBe(1452);
  expect(configuration(t, 'Tunnel').MaxPayloadBytes).toBe(1372);
  expect(configuration(t, 'Large').MaxPayloadBytes).toBe(9000);
});

test('metrics of a Listener carry its gateway', () => {
  const { gw, fn } = fixture();
  const listener = gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] });
  expect(listener.metricDatagramsIn().dimensions).toEqual({ Service: 'packet-gateway', Gateway: 'Stack/Gateway', Listener: 'Telemetry' });
});
