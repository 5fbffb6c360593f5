import { KmsThrottled, RequestThrottled, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { captureReports, failureRecord } from './support';
import { SqsDeadLetterSink } from '../../../service/sourcing/sqs-dead-letter-sink';

const sqsMock = mockClient(SQSClient);
const stsMock = mockClient(STSClient);
const DLQ = 'arn:aws:sqs:us-east-1:111122223333:push-dlq';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error('condition not reached');
}

beforeEach(() => {
  stsMock.reset();
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('SqsDeadLetterSink', () => {
  test('writes each record as a JSON message with its failure code as an attribute', async () => {
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }) });
    void sink.enqueue(DLQ, failureRecord(0));
    await sink.flush();
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0].args[0].input;
    expect(input.QueueUrl).toBe('https://sqs.us-east-1.amazonaws.com/111122223333/push-dlq');
    expect(input.Entries).toHaveLength(1);
    expect(JSON.parse(input.Entries![0].MessageBody!)).toEqual(failureRecord(0));
    expect(input.Entries![0].MessageAttributes).toEqual({ FailureCode: { DataType: 'String', StringValue: 'InvalidPort' } });
  });

  test("sends as the PacketSource's role, assumed with its ExternalId, one client per region and role", async () => {
    const role = 'arn:aws:iam::111122223333:role/packet-gateway/push-role';
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAROLE', SecretAccessKey: 'role-secret', SessionToken: 'role-token', Expiration: new Date(Date.now() + 900_000) },
    });
    const created: Array<{ region: string; credentials: unknown }> = [];
    const sink = new SqsDeadLetterSink({
      sqs: new SQSClient({ region: 'us-east-1' }),
      sts: new STSClient({ region: 'us-east-1' }),
      clientAs: (region, credentials) => {
        created.push({ region, credentials: credentials() });
        return new SQSClient({ region, credentials });
      },
    });
    void sink.enqueue(DLQ, failureRecord(0), { roleArn: role, externalId: 'stack-uuid:c8abc' });
    void sink.enqueue(DLQ, failureRecord(1), { roleArn: role, externalId: 'stack-uuid:c8abc' });
    await sink.flush();
    expect(created).toHaveLength(1);
    expect(created[0].region).toBe('us-east-1');
    await expect(created[0].credentials).resolves.toMatchObject({ accessKeyId: 'ASIAROLE', sessionToken: 'role-token' });
    expect(stsMock.commandCalls(AssumeRoleCommand)[0].args[0].input).toMatchObject({ RoleArn: role, ExternalId: 'stack-uuid:c8abc' });
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length)).toEqual([2]);
  });

  test('without a role, sends with the gateway\'s own credentials and assumes nothing', async () => {
    const sink = new SqsDeadLetterSink({
      sqs: new SQSClient({ region: 'us-east-1' }),
      sts: new STSClient({ region: 'us-east-1' }),
      clientAs: () => {
        throw new Error('no role client expected');
      },
    });
    void sink.enqueue(DLQ, failureRecord(0), { roleArn: undefined, externalId: undefined });
    await sink.flush();
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  test('batches by 10 per queue and keeps queues apart', async () => {
    const other = 'arn:aws:sqs:us-east-1:111122223333:other-dlq';
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }) });
    for (let i = 0; i < 25; i++) void sink.enqueue(DLQ, failureRecord(i));
    void sink.enqueue(other, failureRecord(100));
    await sink.flush();
    const calls = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    const toDlq = calls.filter((c) => c.QueueUrl!.endsWith('/push-dlq'));
    expect(toDlq.map((c) => c.Entries!.length).sort()).toEqual([10, 10, 5]);
    const indexes = toDlq.flatMap((c) => c.Entries!.map((e) => JSON.parse(e.MessageBody!).index)).sort((a, b) => a - b);
    expect(indexes).toEqual([...Array(25).keys()]);
    for (const c of calls) expect(new Set(c.Entries!.map((e) => e.Id)).size).toBe(c.Entries!.length);
    expect(calls.filter((c) => c.QueueUrl!.endsWith('/other-dlq'))).toHaveLength(1);
  });

  test('sends on its own after the flush interval', async () => {
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), flushIntervalMs: 5 });
    void sink.enqueue(DLQ, failureRecord(1));
    void sink.enqueue(DLQ, failureRecord(2));
    await until(() => sqsMock.commandCalls(SendMessageBatchCommand).length === 1);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[0].args[0].input.Entries).toHaveLength(2);
    await sink.flush();
  });

  test('uses a client of the queue region for a queue in another region', async () => {
    const regions: string[] = [];
    const sink = new SqsDeadLetterSink({
      sqs: new SQSClient({ region: 'us-east-1' }),
      clientForRegion: (region) => {
        regions.push(region);
        return new SQSClient({ region });
      },
    });
    void sink.enqueue('arn:aws:sqs:eu-central-1:111122223333:far-dlq', failureRecord(0));
    void sink.enqueue('arn:aws:sqs:eu-central-1:111122223333:far-dlq', failureRecord(1));
    void sink.enqueue(DLQ, failureRecord(2));
    await sink.flush();
    expect(regions).toEqual(['eu-central-1']);
    const urls = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.QueueUrl).sort();
    expect(urls).toEqual(['https://sqs.eu-central-1.amazonaws.com/111122223333/far-dlq', 'https://sqs.us-east-1.amazonaws.com/111122223333/push-dlq']);
  });

  test('keeps a batch under 256 KiB and drops the original entry of a record too large for SQS', async () => {
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }) });
    const big = 'A'.repeat(100 * 1024);
    for (let i = 0; i < 3; i++) void sink.enqueue(DLQ, failureRecord(i, { entry: { Data: big } }));
    void sink.enqueue(DLQ, failureRecord(3, { message: 'B'.repeat(300 * 1024) }));
    await sink.flush();
    const calls = sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    for (const c of calls) {
      const total = c.Entries!.reduce((n, e) => n + Buffer.byteLength(e.MessageBody!), 0);
      expect(total).toBeLessThanOrEqual(256 * 1024);
    }
    const bodies = calls.flatMap((c) => c.Entries!.map((e) => JSON.parse(e.MessageBody!)));
    expect(bodies).toHaveLength(4);
    const slim = bodies.find((b) => b.index === 3);
    expect(slim.message).toBeUndefined();
    expect(slim.omitted).toMatch(/left out/);
    expect(slim.code).toBe('InvalidPort');
    expect(bodies.filter((b) => b.entry?.Data === big)).toHaveLength(3);
  });

  test('reports records SQS rejects or cannot take, naming the queue', async () => {
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Successful: [{ Id: '0', MessageId: 'x', MD5OfMessageBody: 'y' }], Failed: [{ Id: '1', Code: 'InvalidMessageContents', Message: 'bad', SenderFault: true }] }).rejectsOnce(Object.assign(new Error('Access to the resource is denied'), { name: 'AccessDenied' }));
    const failures = captureReports();
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), failures });
    void sink.enqueue(DLQ, failureRecord(0));
    void sink.enqueue(DLQ, failureRecord(1));
    await sink.flush();
    void sink.enqueue(DLQ, failureRecord(2));
    await sink.flush();
    expect(failures.failures.map((f) => [f.failure.code, f.context.index, f.context.destination])).toEqual([
      ['DestinationFailed', 1, DLQ],
      ['DestinationFailed', 2, DLQ],
    ]);
    expect(failures.failures[0].failure.reason).toContain('InvalidMessageContents');
    expect(failures.failures[1].failure.reason).toContain('AccessDenied');
    expect(failures.failures[1].context.messageId).toBe('m-2');
  });

  test('reports a record for a malformed queue ARN instead of throwing', async () => {
    const failures = captureReports();
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), failures });
    expect(() => sink.enqueue('arn:aws:sns:us-east-1:111122223333:topic', failureRecord(0))).not.toThrow();
    await sink.flush();
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(failures.failures[0].failure.reason).toMatch(/not an SQS queue ARN/);
  });

  test('bounds its buffer and reports what it drops', async () => {
    const failures = captureReports();
    let release!: () => void;
    sqsMock.on(SendMessageBatchCommand).callsFake(() => new Promise((r) => (release = () => r({ Successful: [], Failed: [] }))));
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), failures, maxBufferedRecords: 5, flushIntervalMs: 60_000 });
    for (let i = 0; i < 8; i++) void sink.enqueue(DLQ, failureRecord(i));
    expect(failures.failures.map((f) => f.context.index)).toEqual([5, 6, 7]);
    expect(failures.failures[0].failure.reason).toMatch(/buffer is full/);
    const flushed = sink.flush();
    await until(() => release !== undefined);
    release();
    await flushed;
    expect(sqsMock.commandCalls(SendMessageBatchCommand)[0].args[0].input.Entries).toHaveLength(5);
  });

  test('each record tells whether the queue accepted it', async () => {
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Successful: [], Failed: [{ Id: '1', Code: 'InvalidMessageContents', Message: 'bad', SenderFault: true }] });
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }) });
    const outcomes = [sink.enqueue(DLQ, failureRecord(0)), sink.enqueue(DLQ, failureRecord(1))];
    await sink.flush();
    expect(await Promise.all(outcomes)).toEqual([true, false]);
  });

  test('a send that fails for a reason that may pass is retried after a pause, then accepted', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'server' });
    sqsMock.on(SendMessageBatchCommand)
      .rejectsOnce(throttled)
      .resolvesOnce({ Successful: [], Failed: [{ Id: '0', Code: 'InternalError', Message: 'try again', SenderFault: false }] })
      .resolves({ Successful: [], Failed: [] });
    const reports = captureReports();
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), failures: reports, retryDelaysMs: [5, 5] });
    const accepted = sink.enqueue(DLQ, failureRecord(0));
    await sink.flush();
    expect(await accepted).toBe(true);
    expect(reports.failures).toEqual([]);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(3);
    expect(JSON.parse(calls[2].args[0].input.Entries![0].MessageBody!)).toEqual(failureRecord(0));
  });

  test.each([
    ['SQS RequestThrottled', () => new RequestThrottled({ message: 'Rate exceeded', $metadata: {} })],
    ['SQS KmsThrottled', () => new KmsThrottled({ message: 'KMS rate exceeded', $metadata: {} })],
    ['a 429 answer', () => Object.assign(new Error('slow down'), { name: 'Unknown', $fault: 'client', $metadata: { httpStatusCode: 429 } })],
    ['STS Throttling (assuming the role)', () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $fault: 'client' })],
  ])('throttling (%s), a client fault in the SDK\'s model, is retried, not lost', async (_what, error) => {
    sqsMock.on(SendMessageBatchCommand).rejectsOnce(error()).resolves({ Successful: [], Failed: [] });
    const reports = captureReports();
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), failures: reports, retryDelaysMs: [5, 5] });
    const accepted = sink.enqueue(DLQ, failureRecord(0));
    await sink.flush();
    expect(await accepted).toBe(true);
    expect(reports.failures).toEqual([]);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
  });

  test('any other client fault is not retried: the record is reported once and not accepted', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('bad parameter'), { name: 'InvalidParameterValue', $fault: 'client' }));
    const reports = captureReports();
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), failures: reports, retryDelaysMs: [5, 5] });
    const accepted = sink.enqueue(DLQ, failureRecord(0));
    await sink.flush();
    expect(await accepted).toBe(false);
    expect(reports.failures).toHaveLength(1);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  test('retries are bounded: after the last one the record is reported once and not accepted', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' }));
    const reports = captureReports();
    const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1' }), failures: reports, retryDelaysMs: [5, 5] });
    const accepted = sink.enqueue(DLQ, failureRecord(4));
    await sink.flush();
    expect(await accepted).toBe(false);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
    expect(reports.failures).toHaveLength(1);
    expect(reports.failures[0].failure.reason).toMatch(/TimeoutError.*gave up after 3 attempts/);
    expect(reports.failures[0].context.index).toBe(4);
  });
});
