import {
  CreateStreamCommand, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, KinesisClient,
} from '@aws-sdk/client-kinesis';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { InboundPacket } from '../../../service/destinations/packet';
import { encodeData } from '../../../service/formatter';
import { Gateway } from '../../../service/gateway';
import { LocalFauxqs } from '../../support/local-fauxqs';
import { LocalKinesis, startKinesalite } from '../../support/local-kinesalite';
import { CapturingFailureReporter, CapturingMetrics, freePort, MemoryConfigSource, silentLogger, UdpClient } from '../helpers';

/** Datagrams sent to a Listener arrive, one packet each, in an SNS-subscribed queue (fauxqs) and a Kinesis stream (kinesalite). */
describe('a Listener with SNS and Kinesis destinations', () => {
  let fauxqs: LocalFauxqs;
  let kinesisApi: LocalKinesis;
  let sns: SNSClient;
  let sqs: SQSClient;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    [fauxqs, kinesisApi] = await Promise.all([LocalFauxqs.start(), startKinesalite()]);
    sns = new SNSClient(fauxqs.clientConfig());
    sqs = new SQSClient(fauxqs.clientConfig());
    kinesis = new KinesisClient({ endpoint: kinesisApi.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  }, 30_000);
  afterAll(async () => {
    for (const c of [sns, sqs, kinesis]) c?.destroy();
    await Promise.all([fauxqs?.stop(), kinesisApi?.close()]);
  });

  test('each datagram is one SNS message and one Kinesis record keyed by its first two bytes', async () => {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'ingress' }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'ingress-copy' }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
    await kinesis.send(new CreateStreamCommand({ StreamName: 'ingress', ShardCount: 1 }));
    for (let i = 0; i < 50; i++) {
      const { StreamDescription } = await kinesis.send(new DescribeStreamCommand({ StreamName: 'ingress' }));
      if (StreamDescription?.StreamStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const port = await freePort();
    const failures = new CapturingFailureReporter();
    const gateway = new Gateway({
      config: new MemoryConfigSource({
        Listeners: [{
          Name: 'ingress',
          Protocol: 'udp',
          Port: port,
          BindAddress: '127.0.0.1',
          Formatter: 'base64',
          Destinations: [
            { Name: 'topic', Type: 'sns', Arn: TopicArn, Batching: { Count: 10, TimeoutInSeconds: 0.02 } },
            {
              Name: 'stream',
              Type: 'kinesis',
              Arn: 'arn:aws:kinesis:us-east-1:000000000000:stream/ingress',
              Arguments: { PartitionKeyExpression: '[0:2]' },
              Batching: { Count: 10, TimeoutInSeconds: 0.02 },
            },
          ],
        }],
      }),
      region: 'us-east-1',
      logger: silentLogger,
      metrics: new CapturingMetrics(),
      failures,
      local: true,
      snsClient: sns,
      kinesisClient: kinesis,
    });
    const client = await UdpClient.open();
    try {
      await gateway.start();
      const payloads = [Buffer.from([0xca, 0xfe, 1]), Buffer.from([0xbe, 0xef, 2]), Buffer.from([0x00, 0x01, 3])];
      for (const p of payloads) await client.send(p, port);

      const messages: InboundPacket[] = [];
      for (let tries = 0; messages.length < payloads.length && tries < 20; tries++) {
        const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
        for (const m of Messages ?? []) messages.push(JSON.parse(m.Body!) as InboundPacket);
      }
      expect(messages.map((m) => m.Data).sort()).toEqual(payloads.map((p) => p.toString('base64')).sort());
      expect(messages.every((m) => m.Remote.Port === client.port && m.Local.Port === port && m.Formatter === 'base64')).toBe(true);

      const { StreamDescription } = await kinesis.send(new DescribeStreamCommand({ StreamName: 'ingress' }));
      const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({
        StreamName: 'ingress', ShardId: StreamDescription!.Shards![0].ShardId, ShardIteratorType: 'TRIM_HORIZON',
      }));
      let records: Array<{ key: string; packet: InboundPacket }> = [];
      for (let tries = 0; records.length < payloads.length && tries < 50; tries++) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
        records = (page.Records ?? []).map((r) => ({ key: r.PartitionKey!, packet: JSON.parse(Buffer.from(r.Data!).toString()) as InboundPacket }));
        if (records.length < payloads.length) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // The key is the first two bytes in the default argument Formatter, hex.
      expect(records.map((r) => [r.key, r.packet.Data]).sort()).toEqual(
        payloads.map((p) => [encodeData(p.subarray(0, 2), 'hex'), p.toString('base64')]).sort(),
      );
      expect(failures.records).toEqual([]);
    } finally {
      await client.close();
      await gateway.stop();
    }
  }, 30_000);
});
