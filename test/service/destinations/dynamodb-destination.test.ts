import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createDynamoDbDestination, DYNAMODB_MAX_BATCH_ITEMS, DynamoDbDestination } from '../../../service/destinations/dynamodb-destination';
import { packetTemplate, queueDatagram, QueuedPacket } from '../../../service/destinations/packet';
import { LocalDynamo } from '../../support/local-dynamo';

const T0 = Date.UTC(2026, 2, 11, 14, 23, 1, 412);

function packet(i: number, remoteAddress = '203.0.113.5', receivedAt = T0): QueuedPacket {
  const template = packetTemplate({ Domain: 'telemetry', Port: 5555, IpAddress: '192.0.2.1', Protocol: 'udp' }, 'eu-west-1', 'hex');
  const q = queueDatagram({ data: Buffer.from([i % 256, 0xab]), remoteAddress, remotePort: 4000, receivedAt }, `tag${i}`, template);
  if (!('json' in q)) throw new Error('not queued');
  return q;
}

describe('DynamoDbDestination against a real DynamoDB API (dynalite)', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
  });
  afterAll(() => dynamo?.stop());

  async function table(name: string, partitionKey = 'pk', sortKey = 'sk'): Promise<string> {
    await dynamo.raw.send(new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }, { AttributeName: sortKey, KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }, { AttributeName: sortKey, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    return `arn:aws:dynamodb:eu-west-1:123456789012:table/${name}`;
  }

  test('writes one item per packet: the packet fields as attributes, keyed by client and Listener, sorted by arrival', async () => {
    const arn = await table('packets');
    const batch = Array.from({ length: 60 }, (_, i) => packet(i));
    const dest = new DynamoDbDestination({ Name: 'store', Type: 'dynamodb', Arn: arn }, dynamo.raw);
    expect(await dest.deliver(batch)).toEqual({});
    const out = await dynamo.documents.send(new QueryCommand({
      TableName: 'packets', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': '203.0.113.5:4000|telemetry:5555' },
    }));
    expect(out.Items).toHaveLength(60);
    const first = out.Items!.find((item) => item.Tag === 'tag0');
    expect(first).toEqual({
      pk: '203.0.113.5:4000|telemetry:5555',
      sk: '2026-03-11T14:23:01.412Z#tag0',
      ...JSON.parse(batch[0].json),
    });
    expect(first).toMatchObject({ Remote: { IpAddress: '203.0.113.5', Port: 4000 }, Local: { Domain: 'telemetry', Port: 5555 }, Data: '00AB', Formatter: 'hex' });
  });

  test('key attribute names are configurable; IPv6 clients are written in brackets', async () => {
    const arn = await table('custom-keys', 'Flow', 'Arrival');
    const dest = new DynamoDbDestination({ Name: 'store', Type: 'dynamodb', Arn: arn, Arguments: { PartitionKeyAttribute: 'Flow', SortKeyAttribute: 'Arrival' } }, dynamo.raw);
    expect(await dest.deliver([packet(1, '2001:db8::7', T0 + 1), packet(2, '2001:db8::7', T0 + 2)])).toEqual({});
    const out = await dynamo.documents.send(new QueryCommand({
      TableName: 'custom-keys', KeyConditionExpression: 'Flow = :f', ExpressionAttributeValues: { ':f': '[2001:db8::7]:4000|telemetry:5555' },
    }));
    expect(out.Items!.map((i) => i.Arrival)).toEqual(['2026-03-11T14:23:01.413Z#tag1', '2026-03-11T14:23:01.414Z#tag2']);
  });

  test('a table whose key schema does not match fails the packets, naming the error', async () => {
    const arn = await table('other-keys', 'id', 'ts');
    const dest = createDynamoDbDestination({ Name: 'store', Type: 'dynamodb', Arn: arn }, undefined, { dynamoDbClient: () => dynamo.raw } as never);
    const result = await dest.deliver([packet(1), packet(2)]);
    expect(result.failed?.map((f) => f.index)).toEqual([0, 1]);
    expect(result.failed?.[0].reason).toMatch(/^DynamoDB BatchWriteItem failed \(ValidationException\): /);
  });
});

describe('DynamoDbDestination unprocessed items', () => {
  let ddb: ReturnType<typeof mockClient>;
  beforeAll(() => {
    ddb = mockClient(DynamoDBDocumentClient);
  });
  afterAll(() => ddb.restore());
  beforeEach(() => ddb.reset());
  const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/packets';

  test('splits batches into calls of 25 puts', async () => {
    ddb.on(BatchWriteCommand).resolves({});
    const dest = new DynamoDbDestination({ Name: 's', Type: 'dynamodb', Arn: ARN }, new DynamoDBClient({ region: 'eu-west-1' }));
    await dest.deliver(Array.from({ length: 60 }, (_, i) => packet(i)));
    const calls = ddb.commandCalls(BatchWriteCommand)
      .map((c) => (c.args[0].input as { RequestItems: Record<string, unknown[]> }).RequestItems.packets.length);
    expect(calls).toEqual([DYNAMODB_MAX_BATCH_ITEMS, DYNAMODB_MAX_BATCH_ITEMS, 10]);
  });

  test('writes unprocessed items again, only those, until they are processed', async () => {
    const dest = new DynamoDbDestination({ Name: 's', Type: 'dynamodb', Arn: ARN }, new DynamoDBClient({ region: 'eu-west-1' }), { retryDelaysMs: [1, 1, 1] });
    const batch = [packet(0), packet(1), packet(2)];
    const item = (i: number) => dest.itemOf(batch[i]);
    ddb.on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { packets: [{ PutRequest: { Item: item(1) } }, { PutRequest: { Item: item(2) } }] } })
      .resolvesOnce({ UnprocessedItems: { packets: [{ PutRequest: { Item: item(2) } }] } })
      .resolves({});
    expect(await dest.deliver(batch)).toEqual({});
    type Input = { RequestItems: Record<string, Array<{ PutRequest: { Item: { Tag: string } } }>> };
    const written = ddb.commandCalls(BatchWriteCommand).map((c) => (c.args[0].input as Input).RequestItems.packets.map((r) => r.PutRequest.Item.Tag));
    expect(written).toEqual([['tag0', 'tag1', 'tag2'], ['tag1', 'tag2'], ['tag2']]);
  });

  test('items still unprocessed after the last retry are failed packets; the others are delivered', async () => {
    const dest = new DynamoDbDestination({ Name: 's', Type: 'dynamodb', Arn: ARN }, new DynamoDBClient({ region: 'eu-west-1' }), { retryDelaysMs: [1, 1] });
    const batch = [packet(0), packet(1), packet(2)];
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: { packets: [{ PutRequest: { Item: dest.itemOf(batch[1]) } }] } });
    expect(await dest.deliver(batch)).toEqual({
      failed: [{ index: 1, reason: 'DynamoDB left the item unprocessed after 3 BatchWriteItem calls (throughput exceeded)' }],
    });
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(3);
  });
});
