import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { CapturingFailureReporter, CapturingMetrics, freePort, MemoryConfigSource, silentLogger, UdpClient } from './helpers';
import type { ListenerRecord } from '../../lib/private/records';
import { Gateway } from '../../service/gateway';
import { LocalDynamo } from '../support/local-dynamo';
import { LocalFauxqs } from '../support/local-fauxqs';

/** Datagrams in, and what the CloudWatch Logs, S3 and DynamoDB APIs hold afterwards: the gateway's own factory table and clients. */
describe('write-only destinations through the gateway', () => {
  let fauxqs: LocalFauxqs;
  let dynamo: LocalDynamo;
  const logs = mockClient(CloudWatchLogsClient);
  beforeAll(async () => {
    [fauxqs, dynamo] = await Promise.all([LocalFauxqs.start(), LocalDynamo.start()]);
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: 'packet-archive' }));
    await dynamo.raw.send(new CreateTableCommand({
      TableName: 'packets',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
  });
  afterAll(async () => {
    logs.restore();
    await Promise.all([fauxqs?.stop(), dynamo?.stop()]);
  });

  test('each datagram becomes a log event, a line of an S3 object and a DynamoDB item', async () => {
    const port = await freePort();
    const batching = { Count: 3, TimeoutInSeconds: 0.05 };
    const record: ListenerRecord = {
      Name: 'telemetry',
      Protocol: 'udp',
      Port: port,
      BindAddress: '127.0.0.1',
      Formatter: 'utf8',
      Destinations: [
        { Name: 'audit', Type: 'logs', Arn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/udp/audit:*', Batching: batching },
        { Name: 'archive', Type: 's3', Arn: 'arn:aws:s3:::packet-archive', Arguments: { KeyPrefix: 'udp/' }, Batching: batching },
        { Name: 'store', Type: 'dynamodb', Arn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/packets', Batching: batching },
      ],
    };
    const failures = new CapturingFailureReporter();
    const regions: string[] = [];
    const gateway = new Gateway({
      config: new MemoryConfigSource({ Listeners: [record] }),
      region: 'us-east-1',
      logger: silentLogger,
      metrics: new CapturingMetrics(),
      failures,
      local: false,
      requireActiveFlow: false,
      s3Client: fauxqs.s3,
      dynamoDbClient: (region) => {
        regions.push(region);
        return dynamo.raw;
      },
      cloudWatchLogsClient: (region) => {
        regions.push(region);
        return new CloudWatchLogsClient({ region });
      },
    });
    await gateway.start();
    const client = await UdpClient.open();
    try {
      for (const text of ['t=21.5', 't=21.7', 't=21.9']) await client.send(text, port);
      const deadline = Date.now() + 10_000;
      let objects = await fauxqs.s3.send(new ListObjectsV2Command({ Bucket: 'packet-archive', Prefix: 'udp/telemetry/archive/' }));
      while ((objects.KeyCount ?? 0) === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        objects = await fauxqs.s3.send(new ListObjectsV2Command({ Bucket: 'packet-archive', Prefix: 'udp/telemetry/archive/' }));
      }
      await gateway.stop();
      const body = await (await fauxqs.s3.send(new GetObjectCommand({ Bucket: 'packet-archive', Key: objects.Contents![0].Key }))).Body!.transformToString();
      expect(body.trimEnd().split('\n').map((line) => JSON.parse(line).Data)).toEqual(['t=21.5', 't=21.7', 't=21.9']);

      const items = await dynamo.documents.send(new QueryCommand({
        TableName: 'packets', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `127.0.0.1:${client.port}|telemetry:${port}` },
      }));
      // Items sort by ReceivedAt; packets of one millisecond sort by their (random) Tag.
      expect(items.Items!.map((i) => i.Data).sort()).toEqual(['t=21.5', 't=21.7', 't=21.9']);

      const events = logs.commandCalls(PutLogEventsCommand).flatMap((c) => c.args[0].input.logEvents!.map((e) => e.message));
      expect(events).toEqual(['t=21.5', 't=21.7', 't=21.9']);
      expect(logs.commandCalls(PutLogEventsCommand)[0].args[0].input.logGroupName).toBe('/udp/audit');
      expect(regions.sort()).toEqual(['eu-west-1', 'eu-west-1']);
      expect(failures.records).toEqual([]);
    } finally {
      await client.close();
      await gateway.stop();
    }
  });
});
