import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ACCOUNT, actionsOf, ensureAssets, joinedJson, logicalId, policyStatements, REGION, testStack } from './support';
import { Destination, Formatter, PacketGateway } from '../../lib';

beforeAll(ensureAssets);

function fixture() {
  const stack = testStack();
  const gw = new PacketGateway(stack, 'Gateway');
  return { stack, gw };
}

function destinations(t: Template): any[] {
  const [resource] = Object.values(t.findResources('Custom::PacketGatewayListener'));
  return joinedJson(resource.Properties.Configuration).Destinations;
}

function fleetStatements(t: Template) {
  return policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
}

/** The statements of the fleet's policy that mention `logicalIdPart`. */
function statementsOn(t: Template, logicalIdPart: string) {
  return fleetStatements(t).filter((s) => JSON.stringify(s.Resource).includes(logicalIdPart));
}

describe('Destination.cloudWatchLogs', () => {
  test('grants the fleet CreateLogStream and PutLogEvents on the log group, and names it in the record', () => {
    const { stack, gw } = fixture();
    const group = new logs.LogGroup(stack, 'Audit', { retention: logs.RetentionDays.ONE_WEEK });
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.cloudWatchLogs(group, { formatter: Formatter.UTF8, destinationName: 'audit' })] });
    const t = Template.fromStack(stack);
    const id = logicalId(t, 'AWS::Logs::LogGroup', 'Audit');
    expect(statementsOn(t, id)).toEqual([expect.objectContaining({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [id, 'Arn'] },
    })]);
    expect(destinations(t)).toEqual([{ Name: 'audit', Type: 'logs', Arn: `<GetAtt:${id}.Arn>`, Formatter: 'utf8' }]);
  });

  test('an imported log group is named by its ARN', () => {
    const { stack, gw } = fixture();
    const group = logs.LogGroup.fromLogGroupName(stack, 'Imported', '/udp/audit');
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.cloudWatchLogs(group)] });
    const [d] = destinations(Template.fromStack(stack));
    expect(d).toMatchObject({ Name: 'logs-0', Type: 'logs', Arn: `arn:<Ref:AWS::Partition>:logs:${REGION}:${ACCOUNT}:log-group:/udp/audit:*` });
  });
});

describe('Destination.s3', () => {
  test('grants s3:PutObject under the key prefix only, and the bucket key\'s GenerateDataKey', () => {
    const { stack, gw } = fixture();
    const key = new kms.Key(stack, 'ArchiveKey', { enableKeyRotation: true });
    const bucket = new s3.Bucket(stack, 'Archive', { encryption: s3.BucketEncryption.KMS, encryptionKey: key, enforceSSL: true });
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.s3(bucket, { keyPrefix: 'udp/', keyFormat: '{yyyy}/{MM}/{dd}/{unique}.ndjson' })] });
    const t = Template.fromStack(stack);
    const bucketId = logicalId(t, 'AWS::S3::Bucket', 'Archive');
    const keyId = logicalId(t, 'AWS::KMS::Key', 'ArchiveKey');
    expect(statementsOn(t, bucketId)).toEqual([expect.objectContaining({
      Action: 's3:PutObject',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/udp/*']] },
    })]);
    expect(statementsOn(t, keyId)).toEqual([expect.objectContaining({ Action: 'kms:GenerateDataKey', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } })]);
    expect(destinations(t)).toEqual([{
      Name: 's3-0', Type: 's3', Arn: `<GetAtt:${bucketId}.Arn>`, Arguments: { KeyPrefix: 'udp/', KeyFormat: '{yyyy}/{MM}/{dd}/{unique}.ndjson' },
    }]);
  });

  test('without a prefix the fleet may put any key of the bucket, and the record has no Arguments', () => {
    const { stack, gw } = fixture();
    const bucket = new s3.Bucket(stack, 'Archive', { enforceSSL: true });
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.s3(bucket)] });
    const t = Template.fromStack(stack);
    const bucketId = logicalId(t, 'AWS::S3::Bucket', 'Archive');
    expect(statementsOn(t, bucketId).map((s) => [s.Action, s.Resource])).toEqual([
      ['s3:PutObject', { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }],
    ]);
    expect(destinations(t)[0].Arguments).toBeUndefined();
  });

  test('fails for a key format without {unique} or with an unknown placeholder, naming the option', () => {
    const { stack, gw } = fixture();
    const bucket = new s3.Bucket(stack, 'Archive');
    expect(() => gw.addListener('A', { port: 5555, destinations: [Destination.s3(bucket, { keyFormat: '{yyyy}/batch.ndjson' })] }))
      .toThrow(/keyFormat "\{yyyy\}\/batch\.ndjson" has no \{unique\} placeholder/);
    expect(() => gw.addListener('B', { port: 5556, destinations: [Destination.s3(bucket, { keyFormat: '{date}/{unique}' })] }))
      .toThrow(/keyFormat "\{date\}\/\{unique\}" has an unknown placeholder \{date\} at column 1/);
    expect(() => gw.addListener('C', { port: 5557, destinations: [Destination.s3(bucket, { keyPrefix: 'a\nb/' })] }))
      .toThrow(/keyPrefix "a\\nb\/" is not a key prefix/);
  });
});

describe('Destination.dynamoDb', () => {
  test('grants BatchWriteItem on the table and the use of its KMS key; key names come from the table', () => {
    const { stack, gw } = fixture();
    const key = new kms.Key(stack, 'TableKey', { enableKeyRotation: true });
    const table = new dynamodb.Table(stack, 'Packets', {
      partitionKey: { name: 'Flow', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'Arrival', type: dynamodb.AttributeType.STRING },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
    });
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.dynamoDb(table)] });
    const t = Template.fromStack(stack);
    const tableId = logicalId(t, 'AWS::DynamoDB::Table', 'Packets');
    const keyId = logicalId(t, 'AWS::KMS::Key', 'TableKey');
    const onTable = statementsOn(t, tableId);
    expect(onTable.map((s) => actionsOf(s))).toEqual([['dynamodb:BatchWriteItem']]);
    expect(onTable[0].Resource).toContainEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
    expect(statementsOn(t, keyId)).toEqual([expect.objectContaining({
      Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [keyId, 'Arn'] },
    })]);
    expect(destinations(t)).toEqual([{
      Name: 'dynamodb-0', Type: 'dynamodb', Arn: `<GetAtt:${tableId}.Arn>`, Arguments: { PartitionKeyAttribute: 'Flow', SortKeyAttribute: 'Arrival' },
    }]);
  });

  test('an imported table uses the given key names, or pk and sk', () => {
    const { stack, gw } = fixture();
    const table = dynamodb.Table.fromTableName(stack, 'Imported', 'packets');
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.dynamoDb(table), Destination.dynamoDb(table, { sortKeyAttribute: 'ts' })] });
    const [plain, named] = destinations(Template.fromStack(stack));
    expect(plain.Arguments).toBeUndefined();
    expect(named.Arguments).toEqual({ SortKeyAttribute: 'ts' });
    expect(plain.Arn).toBe(`arn:<Ref:AWS::Partition>:dynamodb:${REGION}:${ACCOUNT}:table/packets`);
  });

  test('fails for a table without a String sort key, and for key names the table does not have', () => {
    const { stack, gw } = fixture();
    const noSort = new dynamodb.Table(stack, 'NoSort', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const numeric = new dynamodb.Table(stack, 'Numeric', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING }, sortKey: { name: 'at', type: dynamodb.AttributeType.NUMBER },
    });
    const good = new dynamodb.Table(stack, 'Good', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING }, sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    });
    expect(() => gw.addListener('A', { port: 5555, destinations: [Destination.dynamoDb(noSort)] }))
      .toThrow(/table Stack\/NoSort cannot hold packets: it has no sort key \(allowed: a String partition key and a String sort key\)/);
    expect(() => gw.addListener('B', { port: 5556, destinations: [Destination.dynamoDb(numeric)] }))
      .toThrow(/table Stack\/Numeric cannot hold packets: its sort key at is of type N/);
    expect(() => gw.addListener('C', { port: 5557, destinations: [Destination.dynamoDb(good, { partitionKeyAttribute: 'id' })] }))
      .toThrow(/partitionKeyAttribute "id" is not a key of table Stack\/Good \(allowed: pk\)/);
  });
});

describe('Destination.sqs options', () => {
  test('become the Arguments of the record, with Proxylity\'s names', () => {
    const { stack, gw } = fixture();
    const queue = new sqs.Queue(stack, 'Ordered', { fifo: true });
    gw.addListener('Telemetry', {
      port: 5555,
      destinations: [Destination.sqs(queue, {
        formatter: Formatter.UTF8,
        sendRaw: true,
        useMessageAttributes: true,
        messageGroupIdExpression: '[0:1]',
        messageGroupIdFormatter: Formatter.HEX,
        messageDeduplicationIdExpression: '[1:]',
        messageDeduplicationIdFormatter: Formatter.BASE64,
      })],
    });
    const [d] = destinations(Template.fromStack(stack));
    expect(d.Arguments).toEqual({
      SendRaw: true,
      UseMessageAttributes: true,
      MessageGroupIdExpression: '[0:1]',
      MessageGroupIdFormatter: 'hex',
      MessageDeduplicationIdExpression: '[1:]',
      MessageDeduplicationIdFormatter: 'base64',
    });
  });

  test('a deduplication id expression on a standard queue fails at synth', () => {
    const { stack, gw } = fixture();
    const queue = sqs.Queue.fromQueueArn(stack, 'Std', `arn:aws:sqs:${REGION}:${ACCOUNT}:telemetry`);
    expect(() => gw.addListener('Telemetry', { port: 5555, destinations: [Destination.sqs(queue, { messageDeduplicationIdExpression: '[0:4]' })] }))
      .toThrow(/Arguments\.MessageDeduplicationIdExpression: is set for the standard queue .*telemetry \(allowed: only for FIFO queues/);
  });
});
