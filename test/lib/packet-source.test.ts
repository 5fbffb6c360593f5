import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ACCOUNT, actionsOf, ensureAssets, logicalId, OTHER_ACCOUNT, policyStatements, REGION, testStack } from './support';
import { Destination, IListener, Listener, PacketGateway, PacketSource, PacketSourceProps } from '../../lib';
import { testApp } from '../support/cdk-app';

beforeAll(ensureAssets);

function sameStack(): { stack: Stack; listener: Listener; gw: PacketGateway } {
  const stack = testStack();
  const gw = new PacketGateway(stack, 'Gateway');
  const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
  const listener = gw.addListener('Telemetry', { listenerName: 'telemetry', port: 5555, destinations: [Destination.lambda(fn)] });
  return { stack, listener, gw };
}

function remoteListener(stack: Stack, attrs: { deliveryQueueArns?: string[] } = {}): IListener {
  return Listener.fromListenerAttributes(stack, 'Gateway', {
    listenerName: 'telemetry',
    serviceToken: `arn:aws:lambda:${REGION}:${OTHER_ACCOUNT}:function:gateway-registration`,
    registrationPrincipalArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-AccessRole`,
    ...attrs,
  });
}

describe('same account', () => {
  test('the custom resource carries exactly the documented properties', () => {
    const { stack, listener } = sameStack();
    new PacketSource(stack, 'Push', { listener, description: 'device push' });
    const t = Template.fromStack(stack);
    const [resource] = Object.values(t.findResources('Custom::PacketGatewayPacketSource'));
    expect(Object.keys(resource.Properties).sort()).toEqual(
      ['DeadLetterQueueArn', 'DeliveryLogGroupArn', 'Description', 'Enabled', 'ListenerName', 'ServiceToken', 'SnsTopicSource'],
    );
    expect(resource.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'GatewayRegistrationProviderframeworkonEvent'), 'Arn'] },
      ListenerName: 'telemetry',
      SnsTopicSource: {
        TopicArn: { Ref: logicalId(t, 'AWS::SNS::Topic', 'PushTopic') },
        Role: { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'PushRole'), 'Arn'] },
        ExternalId: { 'Fn::Join': ['', [{ 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }, expect.stringMatching(/^:c8[0-9a-f]{40}$/)]] },
      },
      DeadLetterQueueArn: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'PushDeadLetterQueue'), 'Arn'] },
      DeliveryLogGroupArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:logs:${REGION}:${ACCOUNT}:log-group:`, { Ref: logicalId(t, 'AWS::Logs::LogGroup', 'PushLogGroup') }]] },
      Enabled: true,
      Description: 'device push',
    });
    // Registered only after the Listener record, the role's policy and the queue policy exist.
    expect(Object.values(t.findResources('Custom::PacketGatewayPacketSource'))[0].DependsOn).toEqual(expect.arrayContaining([
      logicalId(t, 'Custom::PacketGatewayListener', 'GatewayTelemetry'),
      logicalId(t, 'AWS::IAM::Policy', 'PushRoleDefaultPolicy'),
      logicalId(t, 'AWS::SQS::QueuePolicy', 'PushDeadLetterQueuePolicy'),
    ]));
  });

  test('a new topic encrypted with a rotating KMS key, signed with SHA256withRSA, that requires TLS to publish', () => {
    const { stack, listener } = sameStack();
    new PacketSource(stack, 'Push', { listener });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'PushTopicKey'), 'Arn'] },
      SignatureVersion: '2',
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
    });
  });

  test('a dead-letter queue with 14-day retention that SNS (for this topic) may send to; the gateway sends as the role, not as its fleet', () => {
    const { stack, listener } = sameStack();
    new PacketSource(stack, 'Push', { listener });
    const t = Template.fromStack(stack);
    const queue = logicalId(t, 'AWS::SQS::Queue', 'PushDeadLetterQueue');
    t.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowTopicRedrive',
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
            Condition: { ArnEquals: { 'aws:SourceArn': { Ref: logicalId(t, 'AWS::SNS::Topic', 'PushTopic') } } },
          },
        ]),
      },
    });
    const policy = Object.values(t.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: queue }] } }))[0];
    expect(JSON.stringify(policy.Properties.PolicyDocument)).not.toContain(logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
  });

  test('a dead-letter queue with a customer-managed key: the role may use the key to send, and nothing more of it', () => {
    const { stack, listener } = sameStack();
    const key = new kms.Key(stack, 'DlqKey');
    const deadLetterQueue = new sqs.Queue(stack, 'Dlq', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key });
    new PacketSource(stack, 'Push', { listener, deadLetterQueue });
    const t = Template.fromStack(stack);
    const statements = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'PushRole'));
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'DlqKey'), 'Arn'] },
    });
    expect(JSON.stringify(statements)).not.toMatch(/kms:Encrypt|kms:ReEncrypt/);
  });

  test('the role trusts only the registration principal with an sts:ExternalId condition, on the /packet-gateway/ path', () => {
    const { stack, listener } = sameStack();
    new PacketSource(stack, 'Push', { listener });
    const t = Template.fromStack(stack);
    const [externalId] = Object.values(t.findResources('Custom::PacketGatewayPacketSource')).map((r) => r.Properties.SnsTopicSource.ExternalId);
    t.hasResourceProperties('AWS::IAM::Role', {
      Path: '/packet-gateway/',
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [{
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'), 'Arn'] } },
          Condition: { StringEquals: { 'sts:ExternalId': externalId } },
        }],
      },
    });
  });

  test('the role trusts every gateway that sends for it: the peers\' principals too, with the same ExternalId', () => {
    const stack = testStack();
    const peerPrincipal = `arn:aws:iam::${ACCOUNT}:role/peer-gateway-AccessRole`;
    const gw = new PacketGateway(stack, 'Gateway', {
      peers: [{ region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:peer-queue`, tableName: 'peer-table', registrationPrincipalArn: peerPrincipal }],
    });
    const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
    const listener = gw.addListener('Telemetry', { listenerName: 'telemetry', port: 5555, destinations: [Destination.lambda(fn)] });
    new PacketSource(stack, 'Push', { listener });
    const t = Template.fromStack(stack);
    const [externalId] = Object.values(t.findResources('Custom::PacketGatewayPacketSource')).map((r) => r.Properties.SnsTopicSource.ExternalId);
    const role = t.findResources('AWS::IAM::Role')[logicalId(t, 'AWS::IAM::Role', 'PushRole')];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { AWS: { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'), 'Arn'] } }, Condition: { StringEquals: { 'sts:ExternalId': externalId } } }),
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: peerPrincipal }, Condition: { StringEquals: { 'sts:ExternalId': externalId } } },
    ]);
  });

  test('a Listener of another account passes its gateway\'s peer principals on', () => {
    const stack = testStack();
    const peerPrincipal = `arn:aws:iam::${OTHER_ACCOUNT}:role/peer-gateway-AccessRole`;
    const listener = Listener.fromListenerAttributes(stack, 'Gateway', {
      listenerName: 'telemetry',
      serviceToken: `arn:aws:lambda:${REGION}:${OTHER_ACCOUNT}:function:gateway-registration`,
      registrationPrincipalArn: `arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-AccessRole`,
      peerPrincipalArns: [peerPrincipal],
    });
    new PacketSource(stack, 'Push', { listener });
    const t = Template.fromStack(stack);
    const role = t.findResources('AWS::IAM::Role')[logicalId(t, 'AWS::IAM::Role', 'PushRole')];
    expect(role.Properties.AssumeRolePolicyDocument.Statement.map((s: any) => s.Principal.AWS))
      .toEqual([`arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-AccessRole`, peerPrincipal]);
  });

  test('least privilege: subscribe only the gateway delivery queue over sqs, manage only this topic, send to its queue, write its log group', () => {
    const { stack, listener } = sameStack();
    new PacketSource(stack, 'Push', { listener });
    const t = Template.fromStack(stack);
    const topic = { Ref: logicalId(t, 'AWS::SNS::Topic', 'PushTopic') };
    const statements = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'PushRole'));
    expect(statements).toEqual(expect.arrayContaining([
      {
        Sid: 'SubscribeGatewayDeliveryQueues',
        Effect: 'Allow',
        Action: 'sns:Subscribe',
        Resource: topic,
        Condition: {
          StringEquals: { 'sns:Protocol': 'sqs' },
          StringLike: { 'sns:Endpoint': [{ 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'GatewayDeliveryQueue'), 'Arn'] }] },
        },
      },
      { Sid: 'ReadTopic', Effect: 'Allow', Action: ['sns:GetTopicAttributes', 'sns:ListSubscriptionsByTopic'], Resource: topic },
      {
        Sid: 'ManageTopicSubscriptions',
        Effect: 'Allow',
        Action: ['sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes'],
        Resource: [topic, { 'Fn::Join': ['', [topic, ':*']] }],
      },
      expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'PushDeadLetterQueue'), 'Arn'] } }),
      expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::Logs::LogGroup', 'PushLogGroup'), 'Arn'] } }),
    ]));
    expect(statements).toHaveLength(5);
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);
  });

  test('the delivery log group has the given retention', () => {
    const { stack, listener } = sameStack();
    new PacketSource(stack, 'Push', { listener, logRetention: logs.RetentionDays.TWO_WEEKS });
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14, LogGroupName: Match.absent() });
  });

  test('enabled false and a description are passed on; attributes come from the resource', () => {
    const { stack, listener } = sameStack();
    const source = new PacketSource(stack, 'Push', { listener, enabled: false });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('Custom::PacketGatewayPacketSource', { Enabled: false, Description: Match.absent() });
    const id = logicalId(t, 'Custom::PacketGatewayPacketSource', 'Push');
    expect(stack.resolve(source.bindingId)).toEqual({ 'Fn::GetAtt': [id, 'BindingId'] });
    expect(stack.resolve(source.subscriptionArns)).toEqual({ 'Fn::GetAtt': [id, 'SubscriptionArns'] });
  });

  test('each PacketSource gets its own ExternalId, the same on every synth', () => {
    const build = () => {
      const { stack, listener } = sameStack();
      const a = new PacketSource(stack, 'A', { listener });
      const b = new PacketSource(stack, 'B', { listener });
      return [stack.resolve(a.externalId), stack.resolve(b.externalId)].map((v) => JSON.stringify(v));
    };
    const first = build();
    expect(first[0]).not.toEqual(first[1]);
    expect(build()).toEqual(first);
  });

  test('bring your own topic, dead-letter queue and log group', () => {
    const { stack, listener } = sameStack();
    const topic = sns.Topic.fromTopicArn(stack, 'Topic', `arn:aws:sns:${REGION}:${ACCOUNT}:existing`);
    const deadLetterQueue = sqs.Queue.fromQueueArn(stack, 'Dlq', `arn:aws:sqs:${REGION}:${ACCOUNT}:existing-dlq`);
    const logGroup = logs.LogGroup.fromLogGroupName(stack, 'Logs', 'existing-logs');
    const source = new PacketSource(stack, 'Push', { listener, topic, deadLetterQueue, logGroup });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SNS::Topic', 0);
    t.resourceCountIs('AWS::KMS::Key', 0);
    expect(Object.keys(t.findResources('AWS::SQS::Queue')).filter((id) => id.startsWith('Push'))).toEqual([]);
    t.hasResourceProperties('Custom::PacketGatewayPacketSource', {
      SnsTopicSource: Match.objectLike({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:existing` }),
      DeadLetterQueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:existing-dlq`,
      DeliveryLogGroupArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:logs:${REGION}:${ACCOUNT}:log-group:existing-logs`]] },
    });
    expect(source.topic).toBe(topic);
  });

  test('grantPublish lets a function publish to the encrypted topic', () => {
    const { stack, listener } = sameStack();
    const source = new PacketSource(stack, 'Push', { listener });
    const fn = new lambda.Function(stack, 'Notifier', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>{}') });
    source.grantPublish(fn);
    const t = Template.fromStack(stack);
    const statements = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'NotifierServiceRole'));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: logicalId(t, 'AWS::SNS::Topic', 'PushTopic') } }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'PushTopicKey'), 'Arn'] },
    }));
    expect(JSON.stringify(statements)).not.toContain('*');
  });

  test('metrics of the topic and the dead-letter queue', () => {
    const { stack, listener } = sameStack();
    const source = new PacketSource(stack, 'Push', { listener });
    expect(source.metricMessagesPublished().metricName).toBe('NumberOfMessagesPublished');
    expect(source.metricNotificationsFailed().metricName).toBe('NumberOfNotificationsFailed');
    expect(source.metricDeadLetters().metricName).toBe('ApproximateNumberOfMessagesVisible');
  });

  test('a gateway with peers lets the role subscribe every region\'s delivery queue', () => {
    const stack = testStack();
    const peer = `arn:aws:sqs:eu-central-1:${ACCOUNT}:peer-queue`;
    const gw = new PacketGateway(stack, 'Gateway', { peers: [{ region: 'eu-central-1', deliveryQueueArn: peer, tableName: 'peer-table' }] });
    const fn = lambda.Function.fromFunctionArn(stack, 'Ingest', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
    new PacketSource(stack, 'Push', { listener: gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn)] }) });
    const t = Template.fromStack(stack);
    const subscribe = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'PushRole')).find((s) => actionsOf(s).includes('sns:Subscribe'));
    expect(subscribe?.Condition?.StringLike['sns:Endpoint']).toEqual([{ 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'GatewayDeliveryQueue'), 'Arn'] }, peer]);
  });
});

describe('another account', () => {
  test('registers with the exported service token and trusts the exported registration principal', () => {
    const stack = testStack('Application');
    new PacketSource(stack, 'Push', { listener: remoteListener(stack, { deliveryQueueArns: [`arn:aws:sqs:${REGION}:${OTHER_ACCOUNT}:gateway-DeliveryQueue`] }) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('Custom::PacketGatewayPacketSource', {
      ServiceToken: `arn:aws:lambda:${REGION}:${OTHER_ACCOUNT}:function:gateway-registration`,
      ListenerName: 'telemetry',
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-AccessRole` } })] },
    });
    const subscribe = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'PushRole')).find((s) => actionsOf(s).includes('sns:Subscribe'));
    expect(subscribe?.Condition?.StringLike['sns:Endpoint']).toEqual([`arn:aws:sqs:${REGION}:${OTHER_ACCOUNT}:gateway-DeliveryQueue`]);
  });

  test('without delivery queue ARNs the role may subscribe only SQS queues of the gateway account', () => {
    const stack = testStack('Application');
    new PacketSource(stack, 'Push', { listener: remoteListener(stack) });
    const t = Template.fromStack(stack);
    const subscribe = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'PushRole')).find((s) => actionsOf(s).includes('sns:Subscribe'));
    expect(subscribe?.Condition?.StringLike['sns:Endpoint']).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sqs:*:${OTHER_ACCOUNT}:*`]] }]);
  });
});

test('one PacketSource per topic: several PacketSources of an app, each on its own topic, synthesize', () => {
  const { stack, listener } = sameStack();
  const alerts = new sns.Topic(stack, 'Alerts');
  new PacketSource(stack, 'Push', { listener });
  new PacketSource(stack, 'PushMore', { listener });
  new PacketSource(stack, 'Alarms', { listener, topic: alerts });
  new PacketSource(stack, 'Imported', { listener, topic: sns.Topic.fromTopicArn(stack, 'Other', `arn:aws:sns:${REGION}:${ACCOUNT}:other`) });
  Template.fromStack(stack).resourceCountIs('Custom::PacketGatewayPacketSource', 4);
});

describe('fails if …', () => {
  const cases: Array<[string, (stack: Stack) => Partial<PacketSourceProps>, RegExp]> = [
    ['logRetention comes with a logGroup', (stack) => ({ logGroup: logs.LogGroup.fromLogGroupName(stack, 'L', 'x'), logRetention: logs.RetentionDays.ONE_DAY }),
      /logRetention applies only to the log group this construct creates/],
    ['the description exceeds 1024 characters', () => ({ description: 'd'.repeat(1025) }), /description must be at most 1024 characters, got 1025/],
    ['the topic is in another region', (stack) => ({ topic: sns.Topic.fromTopicArn(stack, 'T', `arn:aws:sns:us-east-1:${ACCOUNT}:t`) }),
      /topic must be in this stack's region \(eu-west-1\), got a topic in us-east-1/],
    ['the topic is in another account', (stack) => ({ topic: sns.Topic.fromTopicArn(stack, 'T', `arn:aws:sns:${REGION}:${OTHER_ACCOUNT}:t`) }),
      /topic must be in this stack's account \(123456789012\), got a topic of account 210987654321/],
  ];
  test.each(cases)('%s', (_name, props, message) => {
    const stack = testStack('Application');
    expect(() => new PacketSource(stack, 'Push', { listener: remoteListener(stack), ...props(stack) })).toThrow(message);
  });

  test('the topic or the dead-letter queue has a name the registration function refuses (the record validator)', () => {
    const stack = testStack('Application');
    const topic = sns.Topic.fromTopicArn(stack, 'T', `arn:aws:sns:${REGION}:${ACCOUNT}:alerts.v2`);
    expect(() => new PacketSource(stack, 'Push', { listener: remoteListener(stack), topic })).toThrow(
      `Application/Push: PacketSource.TopicArn: "arn:aws:sns:${REGION}:${ACCOUNT}:alerts.v2" is not an SNS topic ARN `
      + '(allowed: arn:<partition>:sns:<region>:<account>:<topic>)',
    );
    const other = testStack('Application');
    const deadLetterQueue = sqs.Queue.fromQueueArn(other, 'Q', `arn:aws:sqs:${REGION}:${ACCOUNT}:failures.v2`);
    expect(() => new PacketSource(other, 'Push', { listener: remoteListener(other), deadLetterQueue })).toThrow(
      `Application/Push: PacketSource.DeadLetterQueueArn: "arn:aws:sqs:${REGION}:${ACCOUNT}:failures.v2" is not an SQS queue ARN`,
    );
  });

  test('a FIFO dead-letter queue (the subscription of a standard topic takes only a standard one)', () => {
    const stack = testStack('Application');
    const deadLetterQueue = new sqs.Queue(stack, 'Failures', { fifo: true });
    expect(() => new PacketSource(stack, 'Push', { listener: remoteListener(stack), deadLetterQueue })).toThrow(
      'Application/Push: deadLetterQueue Application/Failures is a FIFO queue (allowed: a standard queue: SNS moves a standard topic\'s undeliverable messages '
      + 'only to a standard queue, and failure records carry no message group)',
    );
    const other = testStack('Application');
    const imported = sqs.Queue.fromQueueArn(other, 'Q', `arn:aws:sqs:${REGION}:${ACCOUNT}:failures.fifo`);
    expect(() => new PacketSource(other, 'Push', { listener: remoteListener(other), deadLetterQueue: imported })).toThrow(
      'Application/Push: deadLetterQueue Application/Q is a FIFO queue',
    );
  });

  test('a second PacketSource of the app binds the same topic (it would take the binding over)', () => {
    const app = testApp();
    const stack = new Stack(app, 'Application', { env: { account: ACCOUNT, region: REGION } });
    const topic = new sns.Topic(stack, 'Alerts');
    const listener = remoteListener(stack);
    new PacketSource(stack, 'Push', { listener, topic });
    expect(() => new PacketSource(stack, 'PushAgain', { listener, topic })).toThrow(
      'Application/PushAgain: topic Application/Alerts is already bound by PacketSource Application/Push; a topic is bound by one PacketSource '
      + '(the second would take the binding over from the first): use another topic, or remove one of them',
    );

    // the same topic imported by ARN in another stack of the app
    const arn = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`;
    const first = new Stack(app, 'First', { env: { account: ACCOUNT, region: REGION } });
    new PacketSource(first, 'Push', { listener: remoteListener(first), topic: sns.Topic.fromTopicArn(first, 'T', arn) });
    const second = new Stack(app, 'Second', { env: { account: ACCOUNT, region: REGION } });
    expect(() => new PacketSource(second, 'Push', { listener: remoteListener(second), topic: sns.Topic.fromTopicArn(second, 'T', arn) })).toThrow(
      `Second/Push: topic ${arn} is already bound by PacketSource First/Push`,
    );
  });

  test('the gateway is in another region', () => {
    const stack = new Stack(testApp(), 'Application', { env: { account: ACCOUNT, region: 'us-east-1' } });
    expect(() => new PacketSource(stack, 'Push', { listener: remoteListener(stack) }))
      .toThrow(/listener belongs to a gateway in eu-west-1, but this stack is in us-east-1/);
  });
});
