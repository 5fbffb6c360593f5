import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ListenerRecord, PacketSourceRecord } from '../../../lib/private/records';
import { DynamoDbConfigSource, RECORD_IGNORED_LOG_MESSAGE, RECORD_KEPT_LOG_MESSAGE } from '../../../service/config/dynamodb-config-source';
import { LocalDynamo } from '../../support/local-dynamo';
import { capturingLogger } from '../helpers';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:packets';
const demo: ListenerRecord = { Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: [{ Name: 'queue', Type: 'sqs', Arn: QUEUE_ARN }] };
const source: PacketSourceRecord = { TopicArn: 'arn:aws:sns:us-east-1:123456789012:push', ListenerName: 'demo', Enabled: true };

describe('DynamoDbConfigSource against a real DynamoDB API', () => {
  let dynamo: LocalDynamo;
  let table: string;

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
    table = await dynamo.createTable('packet-gateway-config');
  });
  afterAll(async () => {
    await dynamo.stop();
  });
  beforeEach(async () => {
    for (const pk of ['LISTENER#demo', 'LISTENER#other', 'LISTENER#broken', `SOURCE#${source.TopicArn}`]) {
      await dynamo.documents.send(new DeleteCommand({ TableName: table, Key: { pk } }));
    }
  });

  const put = (pk: string, kind: string, record: unknown): Promise<unknown> =>
    dynamo.documents.send(new PutCommand({ TableName: table, Item: { pk, kind, record, version: 1 } }));

  test('loads Listener and PacketSource records with one scan', async () => {
    await put('LISTENER#demo', 'Listener', demo);
    await put(`SOURCE#${source.TopicArn}`, 'PacketSource', source);
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: table, reloadIntervalSeconds: 60 });
    try {
      expect(await config.start()).toEqual({ Listeners: [demo], PacketSources: [source] });
      expect(config.current().Listeners[0].Destinations[0]).toEqual({ Name: 'queue', Type: 'sqs', Arn: QUEUE_ARN });
    } finally {
      await config.stop();
    }
  });

  test('a record naming its protocol by Proxylity\'s Protocols list reaches the data plane with its Protocol', async () => {
    const { Protocol: _protocol, ...withoutProtocol } = demo;
    await put('LISTENER#demo', 'Listener', { ...withoutProtocol, Protocols: ['udp'] });
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: table, reloadIntervalSeconds: 60 });
    try {
      expect((await config.start()).Listeners).toEqual([{ ...demo, Protocols: ['udp'] }]);
    } finally {
      await config.stop();
    }
  });

  test('reload notifies changes, and only changes', async () => {
    await put('LISTENER#demo', 'Listener', demo);
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: table, reloadIntervalSeconds: 60 });
    const seen: number[] = [];
    config.onChange((c) => seen.push(c.Listeners[0]?.Port ?? -1));
    try {
      await config.start();
      expect(await config.reload()).toBe(false);
      await put('LISTENER#demo', 'Listener', { ...demo, Port: 6000 });
      expect(await config.reload()).toBe(true);
      expect(seen).toEqual([6000]);
      expect(config.current().Listeners[0].Port).toBe(6000);
    } finally {
      await config.stop();
    }
  });

  test('an invalid record is left out and logged once; the others apply', async () => {
    const { logger, records: logged } = capturingLogger();
    await put('LISTENER#demo', 'Listener', demo);
    await put('LISTENER#broken', 'Listener', { ...demo, Name: 'broken', Port: 99999 });
    await put('LISTENER#other', 'Listener', { ...demo, Name: 'other' }); // same port as demo
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: table, reloadIntervalSeconds: 60, logger });
    try {
      const loaded = await config.start();
      await config.reload();
      expect(loaded.Listeners.map((l) => l.Name)).toEqual(['demo']);
      const records = logged.filter((r) => r.message === RECORD_IGNORED_LOG_MESSAGE);
      expect(records).toHaveLength(2);
      expect(records.map((r) => (r.attributes.errors as string[])[0])).toEqual([
        'LISTENER#broken record.Port: 99999 is not a valid port (allowed: integer 1–65535)',
        'LISTENER#other record.Port: 5555 is used by Listener demo (allowed: one Listener per port)',
      ]);
    } finally {
      await config.stop();
    }
  });

  test('a running Listener or PacketSource whose record becomes invalid keeps its last valid version; deleting the item removes it', async () => {
    const { logger, records: logged } = capturingLogger();
    await put('LISTENER#demo', 'Listener', demo);
    await put(`SOURCE#${source.TopicArn}`, 'PacketSource', source);
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: table, reloadIntervalSeconds: 60, logger });
    const changes: number[] = [];
    config.onChange((c) => changes.push(c.Listeners.length));
    try {
      await config.start();
      await put('LISTENER#demo', 'Listener', { ...demo, Port: 99999 });
      await put(`SOURCE#${source.TopicArn}`, 'PacketSource', { ...source, ListenerName: 42 });
      expect(await config.reload()).toBe(false);
      expect(config.current()).toEqual({ Listeners: [demo], PacketSources: [source] });
      const kept = logged.filter((r) => r.message === RECORD_KEPT_LOG_MESSAGE);
      expect(kept.map((r) => r.attributes.item).sort()).toEqual(['LISTENER#demo', `SOURCE#${source.TopicArn}`]);
      expect((kept.find((r) => r.attributes.item === 'LISTENER#demo')!.attributes.errors as string[])[0]).toContain('99999');
      await put('LISTENER#demo', 'Listener', { ...demo, Port: 6000 });
      expect(await config.reload()).toBe(true);
      expect(config.current().Listeners[0].Port).toBe(6000);
      await dynamo.documents.send(new DeleteCommand({ TableName: table, Key: { pk: 'LISTENER#demo' } }));
      expect(await config.reload()).toBe(true);
      expect(config.current().Listeners).toEqual([]);
      expect(changes).toEqual([1, 0]);
    } finally {
      await config.stop();
    }
  });

  test('a record naming a local-mode destination (local, log) is left out and logged, naming the types allowed', async () => {
    const { logger, records: logged } = capturingLogger();
    await put('LISTENER#demo', 'Listener', demo);
    await put('LISTENER#other', 'Listener', { ...demo, Name: 'other', Port: 6000, Destinations: [demo.Destinations[0], { Name: 'print', Type: 'log' }] });
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: table, reloadIntervalSeconds: 60, logger });
    try {
      const loaded = await config.start();
      expect(loaded.Listeners.map((l) => l.Name)).toEqual(['demo']);
      const records = logged.filter((r) => r.message === RECORD_IGNORED_LOG_MESSAGE);
      expect(records.map((r) => r.attributes.errors)).toEqual([
        ['LISTENER#other record.Destinations[1].Type: "log" exists only in local mode (allowed: lambda, sqs, stepfunctions, apigateway, logs, s3, dynamodb, sns, kinesis, firehose, eventbridge)'],
      ]);
    } finally {
      await config.stop();
    }
  });

  test('reloads periodically', async () => {
    await put('LISTENER#demo', 'Listener', demo);
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: table, reloadIntervalSeconds: 0.05 });
    try {
      await config.start();
      const changed = new Promise<number>((resolve) => config.onChange((c) => resolve(c.Listeners.length)));
      await put('LISTENER#other', 'Listener', { ...demo, Name: 'other', Port: 7000 });
      expect(await changed).toBe(2);
    } finally {
      await config.stop();
    }
  });

  test('a table that cannot be read fails start with a clear message', async () => {
    const config = new DynamoDbConfigSource({ client: dynamo.raw, tableName: 'missing-table' });
    await expect(config.start()).rejects.toThrow(/^table missing-table: cannot load the configuration: /);
  });
});
