import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { DestinationArgumentsRecord, FormatterName, ListenerRecord } from '../../../lib/private/records';
import { packetTemplate, queueDatagram, QueuedPacket } from '../../../service/destinations/packet';
import { createSqsDestination } from '../../../service/destinations/sqs-destination';
import { LocalFauxqs } from '../../support/local-fauxqs';

const listener: ListenerRecord = { Name: 'telemetry', Domain: 'telemetry.example.com', Protocol: 'udp', Port: 5555, Destinations: [] };

function packet(payload: Buffer | string, formatter: FormatterName, i: number, remoteAddress = '203.0.113.5'): QueuedPacket {
  const template = packetTemplate({ Domain: 'telemetry.example.com', Port: 5555, IpAddress: '192.0.2.1', Protocol: 'udp' }, 'us-east-1', formatter);
  const q = queueDatagram({ data: Buffer.from(payload), remoteAddress, remotePort: 4000 + i, receivedAt: 1_780_000_000_000 + i }, `tag-${i}`, template);
  if (!('json' in q)) throw new Error('not queued');
  return q;
}

describe('SQS destination options against a real SQS API (fauxqs)', () => {
  let fauxqs: LocalFauxqs;
  beforeAll(async () => {
    fauxqs = await LocalFauxqs.start();
  });
  afterAll(() => fauxqs?.stop());

  let queues = 0;
  async function queue(fifo: boolean): Promise<{ arn: string; url: string }> {
    const name = `q${++queues}${fifo ? '.fifo' : ''}`;
    const created = await fauxqs.sqs.send(new CreateQueueCommand({ QueueName: name, ...(fifo ? { Attributes: { FifoQueue: 'true' } } : {}) }));
    const url = created.QueueUrl!;
    const attrs = await fauxqs.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    return { arn: attrs.Attributes!.QueueArn!, url };
  }

  async function receive(url: string, count: number): Promise<Message[]> {
    const messages: Message[] = [];
    for (let tries = 0; messages.length < count && tries < 10; tries++) {
      const out = await fauxqs.sqs.send(new ReceiveMessageCommand({
        QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'],
      }));
      messages.push(...(out.Messages ?? []));
      // a FIFO group delivers its next message once the one in flight is deleted
      for (const m of out.Messages ?? []) await fauxqs.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
    return messages;
  }

  function destination(arn: string, args: DestinationArgumentsRecord, formatter: FormatterName) {
    return createSqsDestination({ Name: 'q', Type: 'sqs', Arn: arn, Formatter: formatter, Arguments: args }, listener, { sqsClient: () => fauxqs.sqs } as never);
  }

  test('by default the body is the packet JSON, without attributes', async () => {
    const { arn, url } = await queue(false);
    const batch = [packet('hello', 'utf8', 1)];
    expect(await destination(arn, {}, 'utf8').deliver(batch)).toEqual({});
    const [m] = await receive(url, 1);
    expect(m.Body).toBe(batch[0].json);
    expect(m.MessageAttributes).toBeUndefined();
  });

  test('SendRaw sends Data alone, in the destination Formatter; UseMessageAttributes adds the endpoints', async () => {
    const { arn, url } = await queue(false);
    const dest = destination(arn, { SendRaw: true, UseMessageAttributes: true }, 'utf8');
    expect(await dest.deliver([packet('temp=21.5', 'utf8', 1), packet('temp=22.0', 'utf8', 2, '2001:db8::9')])).toEqual({});
    const messages = await receive(url, 2);
    expect(messages.map((m) => m.Body).sort()).toEqual(['temp=21.5', 'temp=22.0']);
    const first = messages.find((m) => m.Body === 'temp=21.5')!;
    expect(first.MessageAttributes).toEqual({
      LocalDomain: { DataType: 'String', StringValue: 'telemetry.example.com' },
      LocalPort: { DataType: 'Number', StringValue: '5555' },
      RemoteAddress: { DataType: 'String', StringValue: '203.0.113.5' },
      RemotePort: { DataType: 'Number', StringValue: '4001' },
    });
    expect(messages.find((m) => m.Body === 'temp=22.0')!.MessageAttributes!.RemoteAddress.StringValue).toBe('2001:db8::9');

    const hex = destination(arn, { SendRaw: true }, 'hex');
    expect(await hex.deliver([packet(Buffer.from([0xde, 0xad]), 'hex', 3)])).toEqual({});
    expect((await receive(url, 1))[0].Body).toBe('DEAD');
  });

  test('a FIFO queue gets group and deduplication ids from the payload expressions, in their Formatters', async () => {
    const { arn, url } = await queue(true);
    // Proxylity's example: group = first byte as hex, deduplication id = the rest as base64
    const dest = destination(arn, {
      SendRaw: true,
      MessageGroupIdExpression: '[0:1]',
      MessageGroupIdFormatter: 'hex',
      MessageDeduplicationIdExpression: '[1:]',
      MessageDeduplicationIdFormatter: 'base64',
    }, 'base64');
    const payloads = [Buffer.from([0x01, 0x10, 0x11]), Buffer.from([0x02, 0x20]), Buffer.from([0x01, 0x12])];
    expect(await dest.deliver(payloads.map((p, i) => packet(p, 'base64', i)))).toEqual({});
    const messages = await receive(url, 3);
    expect(messages.map((m) => [m.Body, m.Attributes?.MessageGroupId, m.Attributes?.MessageDeduplicationId]).sort()).toEqual([
      ['ARAR', '01', 'EBE='],
      ['ARI=', '01', 'Eg=='],
      ['AiA=', '02', 'IA=='],
    ].sort());
  });

  test('without expressions a FIFO queue groups by client endpoint and deduplicates by Tag', async () => {
    const { arn, url } = await queue(true);
    const batch = [packet('a', 'utf8', 1)];
    expect(await destination(arn, {}, 'utf8').deliver(batch)).toEqual({});
    const [m] = await receive(url, 1);
    expect(m.Attributes).toMatchObject({ MessageGroupId: '203.0.113.5:4001', MessageDeduplicationId: 'tag-1' });
  });

  test('a standard queue accepts a message with a group id (fair queues; the request is checked in sqs-destination.test.ts)', async () => {
    const { arn, url } = await queue(false);
    const dest = destination(arn, { MessageGroupIdExpression: '[0]' }, 'base64');
    expect(await dest.deliver([packet(Buffer.from([7, 1]), 'base64', 1)])).toEqual({});
    expect(await receive(url, 1)).toHaveLength(1);
  });

  test('a packet whose id or body cannot be sent fails alone; the others are delivered', async () => {
    const { arn, url } = await queue(true);
    const dest = destination(arn, { SendRaw: true, MessageGroupIdExpression: '[0:4]', MessageGroupIdFormatter: 'ascii' }, 'base64');
    const result = await dest.deliver([
      packet(Buffer.from('dev1-reading'), 'base64', 1),
      packet(Buffer.from('a b c'), 'base64', 2), // 'a b ' has spaces: not an SQS id
      packet(Buffer.from([0xff, 1, 2, 3]), 'base64', 3), // not ascii
      packet(Buffer.alloc(0), 'base64', 4), // empty body
    ]);
    expect(result.failed).toEqual([
      { index: 1, reason: 'MessageGroupIdExpression gave "a b ", which is not an SQS message id (allowed: 1–128 characters of A-Z a-z 0-9 and ASCII punctuation)' },
      { index: 2, reason: expect.stringMatching(/^MessageGroupIdExpression/) },
      { index: 3, reason: 'SendRaw: the payload is empty and SQS does not accept an empty message body' },
    ]);
    const [m] = await receive(url, 1);
    expect([m.Body, m.Attributes?.MessageGroupId]).toEqual(['ZGV2MS1yZWFkaW5n', 'dev1']);
  });
});
