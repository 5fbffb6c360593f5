import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { SqsDestination } from '../../../service/destinations/sqs-destination';

const sqs = mockClient(SQSClient);

function packets(n: number, bytes = 100): QueuedPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const json = JSON.stringify({ Tag: `t${i}`, Data: 'x'.repeat(Math.max(0, bytes - 30)) });
    return { json, bytes, tag: `t${i}`, remoteAddress: '203.0.113.5', remotePort: 4000 + i, data: '', receivedAt: 0 };
  });
}

describe('SqsDestination', () => {
  beforeEach(() => sqs.reset());
  const client = (): SQSClient => new SQSClient({ region: 'us-east-1' });

  test('sends one packet per message, 10 per SendMessageBatch', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const batch = packets(23);
    const dest = new SqsDestination({ Name: 'q', Type: 'sqs', Arn: 'arn:aws:sqs:us-east-1:123456789012:telemetry' }, client());
    expect(await dest.deliver(batch)).toEqual({});
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries!.length)).toEqual([10, 10, 3]);
    expect(calls[0].QueueUrl).toBe('https://sqs.us-east-1.amazonaws.com/123456789012/telemetry');
    expect(calls.flatMap((c) => c.Entries!.map((e) => e.MessageBody))).toEqual(batch.map((p) => p.json));
  });

  test('keeps each call under 256 KiB', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const dest = new SqsDestination({ Name: 'q', Type: 'sqs', QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/q' }, client());
    await dest.deliver(packets(6, 100 * 1024));
    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([2, 2, 2]);
  });

  test('partial failures are reported per packet; the rest is delivered', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '1', Code: 'InvalidParameterValue', Message: 'bad body', SenderFault: true }, { Id: '3', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });
    const dest = new SqsDestination({ Name: 'q', Type: 'sqs', QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/q' }, client());
    expect(await dest.deliver(packets(4))).toEqual({
      failed: [
        { index: 1, reason: 'SQS rejected the message (InvalidParameterValue, sender fault): bad body' },
        { index: 3, reason: 'SQS rejected the message (InternalError): try again' },
      ],
    });
  });

  test('a failed call fails only the packets of that call', async () => {
    sqs.on(SendMessageBatchCommand).resolvesOnce({}).rejectsOnce(Object.assign(new Error('Access to the resource is denied'), { name: 'AccessDenied' }));
    const dest = new SqsDestination({ Name: 'q', Type: 'sqs', QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/q' }, client());
    const result = await dest.deliver(packets(12));
    expect(result.failed?.map((f) => f.index)).toEqual([10, 11]);
    expect(result.failed?.[0].reason).toBe('SQS SendMessageBatch failed (AccessDenied): Access to the resource is denied');
  });

  test('never sends to the host a QueueUrl names: the URL is built from the Arn on the endpoint the SDK resolves', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const forged = { Name: 'q', Type: 'sqs' as const, Arn: 'arn:aws:sqs:us-east-1:123456789012:telemetry', QueueUrl: 'https://collector.example.net/123456789012/telemetry' };
    await new SqsDestination(forged, client()).deliver(packets(1));
    const onlyUrl = { Name: 'q', Type: 'sqs' as const, QueueUrl: 'https://collector.example.net/123456789012/telemetry' };
    await new SqsDestination(onlyUrl, client()).deliver(packets(1));
    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.QueueUrl)).toEqual([
      'https://sqs.us-east-1.amazonaws.com/123456789012/telemetry',
      'https://sqs.us-east-1.amazonaws.com/123456789012/telemetry',
    ]);
  });

  test('on a configured endpoint (tests, labs) the queue is addressed on that endpoint', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const arn = 'arn:aws:sqs:us-east-1:123456789012:telemetry';
    const local = new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9324' });
    await new SqsDestination({ Name: 'q', Type: 'sqs', Arn: arn }, local).deliver(packets(1));
    const saved = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = 'http://127.0.0.1:9325';
    try {
      await new SqsDestination({ Name: 'q', Type: 'sqs', Arn: arn }, new SQSClient({ region: 'us-east-1' })).deliver(packets(1));
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = saved;
    }
    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.QueueUrl)).toEqual([
      'http://127.0.0.1:9324/123456789012/telemetry',
      'http://127.0.0.1:9325/123456789012/telemetry',
    ]);
  });

  test('FIFO queues get a message group per client and the Tag as deduplication id', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const dest = new SqsDestination({ Name: 'q', Type: 'sqs', Arn: 'arn:aws:sqs:eu-west-1:123456789012:t.fifo' }, client());
    await dest.deliver(packets(1));
    const entry = sqs.commandCalls(SendMessageBatchCommand)[0].args[0].input.Entries![0];
    expect(entry).toMatchObject({ MessageGroupId: '203.0.113.5:4000', MessageDeduplicationId: 't0' });
  });

  test('a group id expression is sent to a standard queue too (fair queues), without a deduplication id', async () => {
    sqs.on(SendMessageBatchCommand).resolves({});
    const record = { Name: 'q', Type: 'sqs' as const, Arn: 'arn:aws:sqs:us-east-1:123456789012:telemetry', Arguments: { MessageGroupIdExpression: '[0]' } };
    const listener = { Name: 'l', Protocol: 'udp' as const, Port: 5555, Destinations: [] };
    const packet = { ...packets(1)[0], data: Buffer.from([7, 1]).toString('base64') };
    expect(await new SqsDestination(record, client(), listener).deliver([packet])).toEqual({});
    const [entry] = sqs.commandCalls(SendMessageBatchCommand)[0].args[0].input.Entries!;
    expect(entry.MessageGroupId).toBe('07');
    expect(entry.MessageDeduplicationId).toBeUndefined();
  });
});
