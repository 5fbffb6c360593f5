import {
  CreateStreamCommand, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import type { DestinationContext } from '../../../service/destinations/destination';
import { createDestination } from '../../../service/destinations/destination-factory';
import { KinesisDestination } from '../../../service/destinations/kinesis-destination';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { compilePacketArgument } from '../../../service/destinations/packet-argument';
import { encodeData } from '../../../service/formatter';
import { LocalKinesis, startKinesalite } from '../../support/local-kinesalite';

/** Packets whose base64 Data is `payload(i)`, as the ingress pipeline writes them. */
function packets(n: number, payload: (i: number) => Buffer = (i) => Buffer.from([Math.floor(i / 256), i % 256, 0xaa, 0xbb])): QueuedPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const json = JSON.stringify({ Tag: `t${i}`, Remote: { IpAddress: '203.0.113.5', Port: 4000 }, Formatter: 'base64', Data: payload(i).toString('base64') });
    return { json, bytes: Buffer.byteLength(json), tag: `t${i}`, remoteAddress: '203.0.113.5', remotePort: 4000, data: JSON.parse(json).Data, receivedAt: 0 };
  });
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

describe('KinesisDestination against kinesalite', () => {
  let server: LocalKinesis;
  let client: KinesisClient;
  let streams = 0;

  beforeAll(async () => {
    server = await startKinesalite();
    client = new KinesisClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  async function createStream(shards: number): Promise<string> {
    const name = `packets-${++streams}`;
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    for (let i = 0; i < 50; i++) {
      const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamName: name }));
      if (StreamDescription?.StreamStatus === 'ACTIVE') return name;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`stream ${name} did not become ACTIVE`);
  }

  /** Every record of the stream: its data as text and its partition key. */
  async function readAll(name: string): Promise<Array<{ data: string; key: string }>> {
    const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamName: name }));
    const out: Array<{ data: string; key: string }> = [];
    for (const shard of StreamDescription!.Shards!) {
      let { ShardIterator: iterator } = await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
      for (;;) {
        const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        for (const r of page.Records ?? []) out.push({ data: Buffer.from(r.Data!).toString('utf8'), key: r.PartitionKey! });
        if (!page.Records?.length) break;
        iterator = page.NextShardIterator;
      }
    }
    return out;
  }

  test('one record per packet, the packet JSON as data; more than 500 packets go in several calls', async () => {
    const name = await createStream(3);
    const batch = packets(1_234);
    const dest = new KinesisDestination({ Name: 'k', Type: 'kinesis', Arn: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name}` }, client, REGION);
    expect(await dest.deliver(batch)).toEqual({});
    const records = await readAll(name);
    expect(records.map((r) => r.data).sort()).toEqual(batch.map((p) => p.json).sort());
    // No expression: random keys, so the records spread over the shards.
    expect(new Set(records.map((r) => r.key)).size).toBe(batch.length);
  });

  test('the partition key is computed from each packet\'s payload', async () => {
    const name = await createStream(1);
    const batch = packets(6);
    const firstTwoBytesHex = (payload: Uint8Array): string => Buffer.from(payload.subarray(0, 2)).toString('hex').toUpperCase();
    const dest = new KinesisDestination({ Name: 'k', Type: 'kinesis', Arn: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name}` }, client, REGION, {
      partitionKey: firstTwoBytesHex, formatter: 'base64',
    });
    expect(await dest.deliver(batch)).toEqual({});
    const records = await readAll(name);
    expect(records.map((r) => r.key).sort()).toEqual(['0000', '0001', '0002', '0003', '0004', '0005']);
  });

  test('PartitionKeyExpression of the record, compiled when the destination is created, keys each record (hex by default)', async () => {
    const name = await createStream(2);
    const context = { region: REGION, kinesisClient: () => client } as unknown as DestinationContext;
    const listener = { Name: 'demo', Protocol: 'udp' as const, Port: 5555, Formatter: 'base64' as const, Destinations: [] };
    const arn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name}`;
    const dest = await createDestination({ Name: 'k', Type: 'kinesis', Arn: arn, Arguments: { PartitionKeyExpression: '[1:3]' } }, listener, context);
    const batch = packets(3, (i) => Buffer.from([0xff, i, 0xab, 0x10]));
    expect(await dest.deliver(batch)).toEqual({});
    const expected = [[0x00, 0xab], [0x01, 0xab], [0x02, 0xab]].map((bytes) => encodeData(Buffer.from(bytes), 'hex'));
    expect((await readAll(name)).map((r) => r.key).sort()).toEqual(expected);
    await expect(createDestination({ Name: 'k', Type: 'kinesis', Arn: arn, Arguments: { PartitionKeyExpression: '[1:' } }, listener, context))
      .rejects.toThrow('Listener demo, destination k: PartitionKeyExpression: "[1:" at column 4: expected');
  });

  test('a stream that does not exist fails every packet with the reason Kinesis gives', async () => {
    const dest = new KinesisDestination({ Name: 'k', Type: 'kinesis', Arn: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/missing` }, client, REGION);
    const result = await dest.deliver(packets(2));
    expect(result.failed?.map((f) => f.index)).toEqual([0, 1]);
    expect(result.failed?.[0].reason).toMatch(/^Kinesis PutRecords failed \(ResourceNotFoundException\): /);
  });
});

describe('KinesisDestination (PutRecords requests)', () => {
  let mock: ReturnType<typeof mockClient>;
  beforeAll(() => { mock = mockClient(KinesisClient); });
  afterAll(() => mock.restore());
  beforeEach(() => mock.reset());
  const client = (): KinesisClient => new KinesisClient({ region: REGION });
  const record = { Name: 'k', Type: 'kinesis' as const, Arn: 'arn:aws:kinesis:us-east-1:123456789012:stream/packets' };

  test('calls carry at most 500 records and 5 MiB, sent at most maxConcurrentCalls at a time', async () => {
    let inFlight = 0;
    let most = 0;
    mock.on(PutRecordsCommand).callsFake(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return { Records: [] };
    });
    await new KinesisDestination(record, client(), REGION, { maxConcurrentCalls: 2 }).deliver(packets(2_100));
    const big = Buffer.alloc(700 * 1024, 1);
    await new KinesisDestination(record, client(), REGION).deliver(packets(9, () => big));
    const calls = mock.commandCalls(PutRecordsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Records!.length)).toEqual([500, 500, 500, 500, 100, 5, 4]);
    expect(most).toBe(2);
    expect(calls[0].StreamName).toBe('packets');
  });

  test('puts again only the records Kinesis failed for throughput or internal errors', async () => {
    mock.on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 2,
        Records: [{ SequenceNumber: '1' }, { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'rate' }, { SequenceNumber: '2' }, { ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'no key' }],
      })
      .resolvesOnce({ FailedRecordCount: 0, Records: [{ SequenceNumber: '3' }] });
    const batch = packets(4);
    const result = await new KinesisDestination(record, client(), REGION, { retryDelayMs: 1 }).deliver(batch);
    expect(result).toEqual({ failed: [{ index: 3, reason: 'Kinesis rejected the record (KMSAccessDeniedException): no key' }] });
    const calls = mock.commandCalls(PutRecordsCommand).map((c) => c.args[0].input.Records!.map((r) => Buffer.from(r.Data!).toString()));
    expect(calls).toEqual([batch.map((p) => p.json), [batch[1].json]]);
  });

  test('a packet whose key bytes its Formatter cannot represent fails alone; the others are put', async () => {
    mock.on(PutRecordsCommand).resolves({ Records: [] });
    const partitionKey = compilePacketArgument({ expression: '[0:2]', formatter: 'ascii' }, 'PartitionKeyExpression');
    const batch = packets(3, (i) => Buffer.from(i === 1 ? [0x80, 0x41] : [0x41, 0x42]));
    const result = await new KinesisDestination(record, client(), REGION, { partitionKey }).deliver(batch);
    expect(result.failed?.map((f) => f.index)).toEqual([1]);
    expect(result.failed?.[0].reason).toMatch(/^PartitionKeyExpression: /);
    const put = mock.commandCalls(PutRecordsCommand)[0].args[0].input.Records!;
    expect(put.map((r) => [Buffer.from(r.Data!).toString(), r.PartitionKey])).toEqual([[batch[0].json, 'AB'], [batch[2].json, 'AB']]);
  });

  test('an empty key from the expression gives a random key; a long one is cut to 256 characters', async () => {
    mock.on(PutRecordsCommand).resolves({ Records: [] });
    await new KinesisDestination(record, client(), REGION, { partitionKey: (p) => (p[1] === 0 ? '' : 'k'.repeat(300)) }).deliver(packets(2));
    const keys = mock.commandCalls(PutRecordsCommand)[0].args[0].input.Records!.map((r) => r.PartitionKey!);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe('k'.repeat(256));
  });
});
