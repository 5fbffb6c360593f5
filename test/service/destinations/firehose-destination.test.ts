import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { mockClient } from 'aws-sdk-client-mock';
import { FirehoseDestination } from '../../../service/destinations/firehose-destination';
import type { QueuedPacket } from '../../../service/destinations/packet';

const firehose = mockClient(FirehoseClient);
const ARN = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/packets';

function packets(n: number, dataBytes = 10): QueuedPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const json = JSON.stringify({ Tag: `t${i}`, Formatter: 'utf8', Data: `é${'x'.repeat(dataBytes)}` });
    return { json, bytes: Buffer.byteLength(json), tag: `t${i}`, remoteAddress: '203.0.113.5', remotePort: 4000, data: JSON.parse(json).Data, receivedAt: 0 };
  });
}

describe('FirehoseDestination', () => {
  beforeEach(() => firehose.reset());
  const client = (): FirehoseClient => new FirehoseClient({ region: 'us-east-1' });

  test('one record per packet: the packet JSON and a newline, so the delivered objects are newline-delimited JSON', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0, RequestResponses: [] });
    const batch = packets(3);
    expect(await new FirehoseDestination({ Name: 'f', Type: 'firehose', Arn: ARN }, client(), 'us-east-1').deliver(batch)).toEqual({});
    const input = firehose.commandCalls(PutRecordBatchCommand)[0].args[0].input;
    expect(input.DeliveryStreamName).toBe('packets');
    const joined = input.Records!.map((r) => Buffer.from(r.Data!).toString('utf8')).join('');
    expect(joined).toBe(batch.map((p) => `${p.json}\n`).join(''));
    expect(joined.trimEnd().split('\n').map((line) => JSON.parse(line) as { Tag: string }).map((p) => p.Tag)).toEqual(['t0', 't1', 't2']);
  });

  test('calls carry at most 500 records and 4 MiB', async () => {
    firehose.on(PutRecordBatchCommand).resolves({ FailedPutCount: 0, RequestResponses: [] });
    await new FirehoseDestination({ Name: 'f', Type: 'firehose', Arn: ARN }, client(), 'us-east-1').deliver(packets(1_001));
    await new FirehoseDestination({ Name: 'f', Type: 'firehose', Arn: ARN }, client(), 'us-east-1').deliver(packets(10, 900 * 1024));
    expect(firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!.length)).toEqual([500, 500, 1, 4, 4, 2]);
    for (const call of firehose.commandCalls(PutRecordBatchCommand)) {
      expect(call.args[0].input.Records!.reduce((n, r) => n + r.Data!.length, 0)).toBeLessThanOrEqual(4 * 1024 * 1024);
    }
  });

  test('puts again only the records Firehose failed with ServiceUnavailable or InternalFailure', async () => {
    firehose.on(PutRecordBatchCommand)
      .resolvesOnce({
        FailedPutCount: 2,
        RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'slow down' }, { ErrorCode: 'InvalidArgumentException', ErrorMessage: 'bad' }],
      })
      .resolvesOnce({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'b' }] });
    const batch = packets(3);
    const result = await new FirehoseDestination({ Name: 'f', Type: 'firehose', Arn: ARN }, client(), 'us-east-1', { retryDelayMs: 1 }).deliver(batch);
    expect(result).toEqual({ failed: [{ index: 2, reason: 'Firehose rejected the record (InvalidArgumentException): bad' }] });
    const calls = firehose.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!.length);
    expect(calls).toEqual([3, 1]);
    expect(Buffer.from(firehose.commandCalls(PutRecordBatchCommand)[1].args[0].input.Records![0].Data!).toString()).toBe(`${batch[1].json}\n`);
  });

  test('a failed call fails its packets with the error', async () => {
    firehose.on(PutRecordBatchCommand).rejects(Object.assign(new Error('Stream packets not found'), { name: 'ResourceNotFoundException' }));
    const result = await new FirehoseDestination({ Name: 'f', Type: 'firehose', Arn: ARN }, client(), 'us-east-1').deliver(packets(2));
    expect(result).toEqual({
      failed: [0, 1].map((index) => ({ index, reason: 'Firehose PutRecordBatch failed (ResourceNotFoundException): Stream packets not found' })),
    });
  });

  test('a delivery stream of another region is refused when the destination is created', () => {
    expect(() => new FirehoseDestination({ Name: 'f', Type: 'firehose', Arn: ARN.replace('us-east-1', 'eu-west-1') }, client(), 'us-east-1'))
      .toThrow('is in region eu-west-1 (allowed: a Firehose delivery stream ARN in the gateway\'s region us-east-1)');
  });
});
