import { CreateTopicCommand, PublishBatchCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { SnsDestination } from '../../../service/destinations/sns-destination';
import { LocalFauxqs } from '../../support/local-fauxqs';

function packets(n: number, bytes = 100): QueuedPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const json = JSON.stringify({ Tag: `t${i}`, Data: 'x'.repeat(Math.max(0, bytes - 30 - String(i).length)) });
    return { json, bytes: Buffer.byteLength(json), tag: `t${i}`, remoteAddress: '203.0.113.5', remotePort: 4000 + i, data: JSON.parse(json).Data, receivedAt: 0 };
  });
}

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:telemetry';

describe('SnsDestination against fauxqs (SNS → SQS subscription)', () => {
  let fauxqs: LocalFauxqs;
  let sns: SNSClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    fauxqs = await LocalFauxqs.start();
    sns = new SNSClient(fauxqs.clientConfig());
    sqs = new SQSClient(fauxqs.clientConfig());
  }, 30_000);
  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    await fauxqs?.stop();
  });

  async function subscribedQueue(topicName: string): Promise<{ topicArn: string; queueUrl: string }> {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: topicName }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${topicName}-q` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
    return { topicArn: TopicArn!, queueUrl: QueueUrl! };
  }

  async function receiveAll(queueUrl: string, count: number): Promise<string[]> {
    const bodies: string[] = [];
    for (let tries = 0; bodies.length < count && tries < 20; tries++) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of Messages ?? []) bodies.push(m.Body!);
    }
    return bodies;
  }

  test('every packet of a batch arrives as one message whose body is the packet JSON', async () => {
    const { topicArn, queueUrl } = await subscribedQueue('telemetry');
    const batch = packets(23);
    const dest = new SnsDestination({ Name: 'topic', Type: 'sns', Arn: topicArn }, sns, 'us-east-1');
    expect(await dest.deliver(batch)).toEqual({});
    const bodies = await receiveAll(queueUrl, batch.length);
    expect(bodies.sort()).toEqual(batch.map((p) => p.json).sort());
    expect(bodies.map((b) => JSON.parse(b) as { Tag: string }).every((p) => p.Tag.startsWith('t'))).toBe(true);
  });

  test('a topic that does not exist fails every packet with the reason SNS gives', async () => {
    const dest = new SnsDestination({ Name: 'topic', Type: 'sns', Arn: 'arn:aws:sns:us-east-1:000000000000:missing' }, sns, 'us-east-1');
    const result = await dest.deliver(packets(3));
    expect(result.failed?.map((f) => f.index)).toEqual([0, 1, 2]);
    expect(result.failed?.[0].reason).toMatch(/^SNS PublishBatch failed \(\w+\): /);
  });
});

describe('SnsDestination (PublishBatch requests)', () => {
  // Mocks every SNSClient while this block runs: created here, not at load, so fauxqs tests reach fauxqs.
  let mock: ReturnType<typeof mockClient>;
  beforeAll(() => { mock = mockClient(SNSClient); });
  afterAll(() => mock.restore());
  beforeEach(() => mock.reset());
  const client = (): SNSClient => new SNSClient({ region: 'us-east-1' });

  test('sends at most 10 messages and 256 KiB per PublishBatch', async () => {
    mock.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
    await new SnsDestination({ Name: 't', Type: 'sns', Arn: TOPIC }, client(), 'us-east-1').deliver(packets(23));
    await new SnsDestination({ Name: 't', Type: 'sns', Arn: TOPIC }, client(), 'us-east-1').deliver(packets(6, 100 * 1024));
    const calls = mock.commandCalls(PublishBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.PublishBatchRequestEntries!.length)).toEqual([10, 10, 3, 2, 2, 2]);
    expect(calls[0].TopicArn).toBe(TOPIC);
    expect(calls[0].PublishBatchRequestEntries![0]).toEqual({ Id: '0', Message: packets(1)[0].json });
  });

  test('publishes again only the messages SNS failed for its own reasons; sender faults fail at once', async () => {
    mock.on(PublishBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', Code: 'InvalidParameter', Message: 'bad', SenderFault: true }, { Id: '3', Code: 'InternalError', Message: 'busy', SenderFault: false }] })
      .resolvesOnce({ Failed: [] });
    const dest = new SnsDestination({ Name: 't', Type: 'sns', Arn: TOPIC }, client(), 'us-east-1', { retryDelayMs: 1 });
    expect(await dest.deliver(packets(5))).toEqual({ failed: [{ index: 1, reason: 'SNS rejected the message (InvalidParameter, sender fault): bad' }] });
    const calls = mock.commandCalls(PublishBatchCommand).map((c) => c.args[0].input.PublishBatchRequestEntries!.map((e) => e.Id));
    expect(calls).toEqual([['0', '1', '2', '3', '4'], ['3']]);
  });

  test('a message SNS keeps failing is reported after the bounded attempts', async () => {
    mock.on(PublishBatchCommand).callsFake((input: { PublishBatchRequestEntries: Array<{ Id: string }> }) => ({
      Failed: input.PublishBatchRequestEntries.filter((e) => e.Id === '2').map((e) => ({ Id: e.Id, Code: 'Throttled', Message: 'slow down', SenderFault: false })),
    }));
    const dest = new SnsDestination({ Name: 't', Type: 'sns', Arn: TOPIC }, client(), 'us-east-1', { retryDelayMs: 1, attempts: 3 });
    expect(await dest.deliver(packets(4))).toEqual({ failed: [{ index: 2, reason: 'SNS rejected the message (Throttled): slow down (after 3 attempts)' }] });
    expect(mock.commandCalls(PublishBatchCommand)).toHaveLength(3);
  });

  test('FIFO topics get the client endpoint as message group and the Tag as deduplication id', async () => {
    mock.on(PublishBatchCommand).resolves({});
    await new SnsDestination({ Name: 't', Type: 'sns', Arn: `${TOPIC}.fifo` }, client(), 'us-east-1').deliver(packets(1));
    expect(mock.commandCalls(PublishBatchCommand)[0].args[0].input.PublishBatchRequestEntries![0]).toMatchObject({
      MessageGroupId: '203.0.113.5:4000', MessageDeduplicationId: 't0',
    });
  });

  test('a topic of another region or a non-topic ARN is refused when the destination is created', () => {
    expect(() => new SnsDestination({ Name: 't', Type: 'sns', Arn: 'arn:aws:sns:eu-west-1:123456789012:t' }, client(), 'us-east-1'))
      .toThrow('Arn "arn:aws:sns:eu-west-1:123456789012:t" is in region eu-west-1 (allowed: an SNS topic ARN in the gateway\'s region us-east-1)');
    expect(() => new SnsDestination({ Name: 't', Type: 'sns', Arn: 'arn:aws:sqs:us-east-1:123456789012:q' }, client(), 'us-east-1'))
      .toThrow('is not an SNS topic ARN (allowed: arn:<partition>:sns:<region>:<account>:<topic>)');
    expect(() => new SnsDestination({ Name: 't', Type: 'sns' }, client(), 'us-east-1')).toThrow('Arn is required for Type sns');
  });
});
