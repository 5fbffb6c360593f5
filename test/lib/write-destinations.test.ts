import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ACCOUNT, ensureAssets, joinedJson, logicalId, policyStatements, REGION, Statement, testStack } from './support';
import { Destination, Formatter, PacketGateway } from '../../lib';

beforeAll(ensureAssets);

function fixture(): { stack: Stack; gw: PacketGateway } {
  const stack = testStack();
  return { stack, gw: new PacketGateway(stack, 'Gateway') };
}

function destinations(template: Template): any[] {
  const [resource] = Object.values(template.findResources('Custom::PacketGatewayListener'));
  return joinedJson(resource.Properties.Configuration).Destinations;
}

/** The fleet role's statements that name `fragment` (a logical id or an ARN part). */
function fleetStatements(t: Template, ...fragments: string[]): Statement[] {
  return policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'))
    .filter((s) => fragments.some((f) => JSON.stringify(s.Resource).includes(f)));
}

test('Destination.sns: sns:Publish on the topic and use of its KMS key; the record names the topic', () => {
  const { stack, gw } = fixture();
  const key = new kms.Key(stack, 'TopicKey', { enableKeyRotation: true });
  const topic = new sns.Topic(stack, 'Packets', { masterKey: key });
  gw.addListener('Telemetry', { port: 5555, destinations: [Destination.sns(topic)] });
  const t = Template.fromStack(stack);
  expect(fleetStatements(t, 'Packets', 'TopicKey')).toEqual([
    expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: logicalId(t, 'AWS::SNS::Topic', 'Packets') } }),
    expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'TopicKey'), 'Arn'] } }),
  ]);
  expect(destinations(t)).toEqual([{ Name: 'sns-0', Type: 'sns', Arn: `<Ref:${logicalId(t, 'AWS::SNS::Topic', 'Packets')}>` }]);
});

test('Destination.kinesis: kinesis:PutRecords on the stream and kms:GenerateDataKey on its key; the partition key arguments reach the record', () => {
  const { stack, gw } = fixture();
  const key = new kms.Key(stack, 'StreamKey', { enableKeyRotation: true });
  const stream = new kinesis.Stream(stack, 'Readings', { encryption: kinesis.StreamEncryption.KMS, encryptionKey: key });
  gw.addListener('Telemetry', {
    port: 5555,
    destinations: [Destination.kinesis(stream, { destinationName: 'readings', partitionKeyExpression: '[0:4]', partitionKeyFormatter: Formatter.BASE64 })],
  });
  const t = Template.fromStack(stack);
  expect(fleetStatements(t, 'Readings', 'StreamKey')).toEqual([
    expect.objectContaining({ Action: 'kinesis:PutRecords', Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::Kinesis::Stream', 'Readings'), 'Arn'] } }),
    expect.objectContaining({ Action: 'kms:GenerateDataKey', Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'StreamKey'), 'Arn'] } }),
  ]);
  expect(destinations(t)).toEqual([{
    Name: 'readings',
    Type: 'kinesis',
    Arn: `<GetAtt:${logicalId(t, 'AWS::Kinesis::Stream', 'Readings')}.Arn>`,
    Arguments: { PartitionKeyExpression: '[0:4]', PartitionKeyFormatter: 'base64' },
  }]);
});

test('Destination.kinesis on a stream with an AWS-managed key grants no KMS permission', () => {
  const { stack, gw } = fixture();
  const stream = new kinesis.Stream(stack, 'Readings', { encryption: kinesis.StreamEncryption.MANAGED });
  gw.addListener('Telemetry', { port: 5555, destinations: [Destination.kinesis(stream)] });
  const t = Template.fromStack(stack);
  expect(policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole')).filter((s) => JSON.stringify(s.Action).includes('kms:'))).toEqual([]);
  expect(destinations(t)[0]).toEqual({ Name: 'kinesis-0', Type: 'kinesis', Arn: `<GetAtt:${logicalId(t, 'AWS::Kinesis::Stream', 'Readings')}.Arn>` });
});

test('Destination.firehose: firehose:PutRecordBatch on the delivery stream only', () => {
  const { stack, gw } = fixture();
  const arn = `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/packets`;
  gw.addListener('Telemetry', { port: 5555, destinations: [Destination.firehose(firehose.DeliveryStream.fromDeliveryStreamArn(stack, 'Packets', arn))] });
  const t = Template.fromStack(stack);
  expect(fleetStatements(t, 'deliverystream')).toEqual([expect.objectContaining({ Action: 'firehose:PutRecordBatch', Resource: arn })]);
  expect(destinations(t)).toEqual([{ Name: 'firehose-0', Type: 'firehose', Arn: arn }]);
});

test('Destination.eventBridge: events:PutEvents on the bus; source and detail-type reach the record when set', () => {
  const { stack, gw } = fixture();
  const bus = new events.EventBus(stack, 'Bus');
  gw.addListener('Telemetry', {
    port: 5555,
    destinations: [
      Destination.eventBridge(bus),
      Destination.eventBridge(events.EventBus.fromEventBusName(stack, 'Default', 'default'), { source: 'com.example.telemetry', detailType: 'reading' }),
    ],
  });
  const t = Template.fromStack(stack);
  const busArn = { 'Fn::GetAtt': [logicalId(t, 'AWS::Events::EventBus', 'Bus'), 'Arn'] };
  expect(fleetStatements(t, 'Bus', 'event-bus/default')).toEqual([
    expect.objectContaining({ Action: 'events:PutEvents', Resource: busArn }),
    expect.objectContaining({ Action: 'events:PutEvents', Resource: expect.anything() }),
  ]);
  const [own, named] = destinations(t);
  expect(own).toEqual({ Name: 'eventbridge-0', Type: 'eventbridge', Arn: `<GetAtt:${logicalId(t, 'AWS::Events::EventBus', 'Bus')}.Arn>` });
  expect(named).toMatchObject({ Name: 'eventbridge-1', Type: 'eventbridge', Arguments: { EventSource: 'com.example.telemetry', EventDetailType: 'reading' } });
});

describe('fails at synth', () => {
  test('with an EventBridge source reserved for AWS', () => {
    const { stack, gw } = fixture();
    const bus = new events.EventBus(stack, 'Bus');
    expect(() => gw.addListener('Telemetry', { port: 5555, destinations: [Destination.eventBridge(bus, { source: 'aws.s3' })] }))
      .toThrow('Listener.Destinations[0].Arguments.EventSource: "aws.s3" is not an event source (allowed: 1–256 printable characters, not starting with aws.)');
  });

  test('with a partition key expression that does not parse, naming the column', () => {
    const { stack, gw } = fixture();
    const stream = new kinesis.Stream(stack, 'Readings');
    expect(() => gw.addListener('Telemetry', { port: 5555, destinations: [Destination.kinesis(stream, { partitionKeyExpression: '[0:4' })] }))
      .toThrow('Listener.Destinations[0].Arguments.PartitionKeyExpression: "[0:4" at column 5: expected');
  });

  test('with a stream ARN that is not a Kinesis stream', () => {
    const { stack, gw } = fixture();
    const stream = kinesis.Stream.fromStreamArn(stack, 'Stream', `arn:aws:kinesis:${REGION}:${ACCOUNT}:deliverystream/packets`);
    expect(() => gw.addListener('Telemetry', { port: 5555, destinations: [Destination.kinesis(stream)] }))
      .toThrow(`Listener.Destinations[0].Arn: "arn:aws:kinesis:${REGION}:${ACCOUNT}:deliverystream/packets" is not a Kinesis stream ARN`);
  });
});
