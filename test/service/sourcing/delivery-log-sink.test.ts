import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { captureReports, failureRecord } from './support';
import { CloudWatchDeliveryLogSink, RoleCredentialsProvider } from '../../../service/sourcing/delivery-log-sink';

const logsMock = mockClient(CloudWatchLogsClient);
const stsMock = mockClient(STSClient);
const LOG_GROUP = 'arn:aws:logs:eu-west-1:444455556666:log-group:/packet-gateway/push-delivery';
const ROLE = 'arn:aws:iam::444455556666:role/packet-gateway/push-role';
const TARGET = { logGroupArn: LOG_GROUP, roleArn: ROLE, externalId: 'stack-uuid:c8abc' };
const STREAM = 'packet-gateway/ip-10-0-1-23/2026-11-25T01-00-00-000Z';


/** The clients the sink created: region and, when acting as a role, the credentials it resolves. */
function sink(options: Partial<ConstructorParameters<typeof CloudWatchDeliveryLogSink>[0]> = {}) {
  const created: Array<{ region: string; credentials?: RoleCredentialsProvider }> = [];
  const reporter = captureReports();
  const s = new CloudWatchDeliveryLogSink({
    streamName: STREAM,
    failures: reporter,
    sts: new STSClient({ region: 'us-east-1' }),
    logsClient: (region, credentials) => {
      created.push({ region, credentials });
      return new CloudWatchLogsClient({ region, credentials: credentials ?? { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' } });
    },
    flushIntervalMs: 10,
    now: () => 1_795_000_000_000,
    ...options,
  });
  return { sink: s, created, failures: reporter.failures };
}

beforeEach(() => {
  logsMock.reset();
  stsMock.reset();
  logsMock.on(CreateLogStreamCommand).resolves({});
  logsMock.on(PutLogEventsCommand).resolves({});
  stsMock.on(AssumeRoleCommand).resolves({
    Credentials: { AccessKeyId: 'ASIAROLE', SecretAccessKey: 'role-secret', SessionToken: 'role-token', Expiration: new Date(Date.now() + 900_000) },
  });
});

describe('CloudWatchDeliveryLogSink', () => {
  test('writes failure records as JSON events to the log group, in one stream created once, acting as the PacketSource role', async () => {
    const { sink: s, created, failures } = sink();
    s.write(TARGET, failureRecord(0));
    s.write(TARGET, failureRecord(1));
    await s.flush();
    s.write(TARGET, failureRecord(2));
    await s.flush();

    expect(logsMock.commandCalls(CreateLogStreamCommand).map((c) => c.args[0].input)).toEqual([
      { logGroupName: '/packet-gateway/push-delivery', logStreamName: STREAM },
    ]);
    const puts = logsMock.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.logGroupName, p.logStreamName])).toEqual([['/packet-gateway/push-delivery', STREAM], ['/packet-gateway/push-delivery', STREAM]]);
    expect(puts[0].logEvents!.map((e) => JSON.parse(e.message!).messageId)).toEqual(['m-0', 'm-1']);
    expect(puts[0].logEvents![0]).toEqual({ timestamp: 1_795_000_000_000, message: JSON.stringify(failureRecord(0)) });
    expect(failures).toEqual([]);

    // one client, in the log group's region, with the role's credentials
    expect(created.map((c) => c.region)).toEqual(['eu-west-1']);
    const credentials = await created[0].credentials!();
    expect(credentials).toMatchObject({ accessKeyId: 'ASIAROLE', secretAccessKey: 'role-secret', sessionToken: 'role-token' });
    expect(stsMock.commandCalls(AssumeRoleCommand)[0].args[0].input).toMatchObject({ RoleArn: ROLE, ExternalId: 'stack-uuid:c8abc' });
  });

  test('a stream that already exists is written to', async () => {
    logsMock.on(CreateLogStreamCommand).rejects(new ResourceAlreadyExistsException({ message: 'The specified log stream already exists', $metadata: {} }));
    const { sink: s, failures } = sink();
    s.write(TARGET, failureRecord(0));
    await s.flush();
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(1);
    expect(failures).toEqual([]);
  });

  test('without a role the gateway\'s own credentials are used', async () => {
    const { sink: s, created } = sink();
    s.write({ logGroupArn: LOG_GROUP }, failureRecord(0));
    await s.flush();
    expect(created).toEqual([{ region: 'eu-west-1', credentials: undefined }]);
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  test('records are sent within the flush interval without a flush call', async () => {
    const { sink: s } = sink();
    s.write(TARGET, failureRecord(0));
    for (let i = 0; i < 200 && logsMock.commandCalls(PutLogEventsCommand).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(1);
  });

  test('batches respect the PutLogEvents size limit, in order', async () => {
    const { sink: s } = sink();
    const big = 'x'.repeat(200_000);
    for (let i = 0; i < 8; i++) s.write(TARGET, failureRecord(i, { reason: big }));
    await s.flush();
    const puts = logsMock.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input.logEvents!);
    expect(puts.length).toBeGreaterThan(1);
    for (const events of puts) expect(events.reduce((n, e) => n + Buffer.byteLength(e.message!) + 26, 0)).toBeLessThanOrEqual(1_048_576);
    expect(puts.flat().map((e) => JSON.parse(e.message!).messageId)).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4', 'm-5', 'm-6', 'm-7']);
  });

  test('a record too long for one event leaves out the original message and says so', async () => {
    const { sink: s } = sink();
    s.write(TARGET, failureRecord(0, { entry: { Data: 'A'.repeat(300_000) } }));
    await s.flush();
    const written = JSON.parse(logsMock.commandCalls(PutLogEventsCommand)[0].args[0].input.logEvents![0].message!);
    expect(written.entry).toBeUndefined();
    expect(written.omitted).toMatch(/original message was left out/);
    expect(written.code).toBe('InvalidPort');
  });

  test('records that cannot be written are reported once each as DestinationFailed, and later records are still written', async () => {
    logsMock.on(PutLogEventsCommand)
      .rejectsOnce(Object.assign(new Error('User is not authorized to perform: logs:PutLogEvents'), { name: 'AccessDeniedException' }))
      .resolves({});
    const { sink: s, failures } = sink();
    s.write(TARGET, failureRecord(0));
    s.write(TARGET, failureRecord(1));
    await s.flush();
    expect(failures.map((f) => [f.failure.code, f.context.messageId])).toEqual([['DestinationFailed', 'm-0'], ['DestinationFailed', 'm-1']]);
    expect(failures[0].failure.reason).toBe(
      `failure record not written to delivery log group ${LOG_GROUP}: AccessDeniedException: User is not authorized to perform: logs:PutLogEvents`);
    expect(failures[0].context.destination).toBe(LOG_GROUP);
    s.write(TARGET, failureRecord(2));
    await s.flush();
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(2);
    expect(failures).toHaveLength(2);
  });

  test('the role\'s credentials fail with STS\'s error while the role cannot be assumed, and work once it can', async () => {
    stsMock.on(AssumeRoleCommand)
      .rejectsOnce(Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }))
      .resolves({ Credentials: { AccessKeyId: 'ASIAROLE', SecretAccessKey: 'role-secret', SessionToken: 'role-token', Expiration: new Date(Date.now() + 900_000) } });
    const { sink: s, created } = sink();
    s.write(TARGET, failureRecord(0));
    await s.flush();
    await expect(created[0].credentials!()).rejects.toThrow('not authorized to perform sts:AssumeRole');
    await expect(created[0].credentials!()).resolves.toMatchObject({ accessKeyId: 'ASIAROLE' });
  });

  test('a deleted stream or log group is created again and the batch written once more', async () => {
    logsMock.on(PutLogEventsCommand)
      .rejectsOnce(Object.assign(new Error('The specified log stream does not exist.'), { name: 'ResourceNotFoundException' }))
      .resolves({});
    const { sink: s, failures } = sink();
    s.write(TARGET, failureRecord(0));
    await s.flush();
    expect(logsMock.commandCalls(CreateLogStreamCommand)).toHaveLength(2);
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(2);
    expect(failures).toEqual([]);
  });

  test('events CloudWatch Logs rejects are reported, naming why', async () => {
    logsMock.on(PutLogEventsCommand).resolves({ rejectedLogEventsInfo: { tooOldLogEventEndIndex: 1, tooNewLogEventStartIndex: 2 } });
    const { sink: s, failures } = sink();
    for (let i = 0; i < 3; i++) s.write(TARGET, failureRecord(i));
    await s.flush();
    expect(failures.map((f) => [f.context.messageId, f.failure.reason.replace(/^.*: /, '')])).toEqual([
      ['m-0', 'older than the log group accepts'],
      ['m-2', 'too far in the future'],
    ]);
  });

  test('events of a stream stay in time order when the clock steps back', async () => {
    const times = [2_000, 1_000, 3_000];
    const { sink: s } = sink({ now: () => times.shift()! });
    for (let i = 0; i < 3; i++) s.write(TARGET, failureRecord(i));
    await s.flush();
    expect(logsMock.commandCalls(PutLogEventsCommand)[0].args[0].input.logEvents!.map((e) => e.timestamp)).toEqual([2_000, 2_000, 3_000]);
  });

  test('records queued while a write is in flight are written by flush', async () => {
    let release: () => void = () => undefined;
    logsMock.on(PutLogEventsCommand).callsFakeOnce(() => new Promise((resolve) => {
      release = () => resolve({});
    })).resolves({});
    const { sink: s } = sink({ flushIntervalMs: 1 });
    s.write(TARGET, failureRecord(0));
    for (let i = 0; i < 200 && logsMock.commandCalls(PutLogEventsCommand).length === 0; i++) await new Promise((r) => setTimeout(r, 2));
    s.write(TARGET, failureRecord(1));
    const flushed = s.flush();
    release();
    await flushed;
    expect(logsMock.commandCalls(PutLogEventsCommand).flatMap((c) => c.args[0].input.logEvents!.map((e) => JSON.parse(e.message!).messageId))).toEqual(['m-0', 'm-1']);
  });

  test('one log group cannot take the whole buffer; a changed ExternalId is a different writer', async () => {
    const { sink: s, failures, created } = sink({ maxBufferedPerGroup: 2, flushIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) s.write(TARGET, failureRecord(i));
    s.write({ ...TARGET, externalId: 'new-external-id' }, failureRecord(3));
    expect(failures.map((f) => [f.context.messageId, f.failure.reason])).toEqual([['m-2', `failure record not written to delivery log group ${LOG_GROUP}: 2 records already wait for this log group`]]);
    await s.flush();
    expect(created).toHaveLength(2);
    await created[1].credentials!();
    expect(stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.ExternalId)).toEqual(['new-external-id']);
  });

  test('a full buffer drops further records and reports each', async () => {
    const { sink: s, failures } = sink({ maxBufferedRecords: 2, flushIntervalMs: 60_000 });
    for (let i = 0; i < 4; i++) s.write(TARGET, failureRecord(i));
    expect(failures.map((f) => f.context.messageId)).toEqual(['m-2', 'm-3']);
    expect(failures[0].failure.reason).toMatch(/buffer is full \(2 records waiting\)/);
    await s.flush();
    expect(logsMock.commandCalls(PutLogEventsCommand)[0].args[0].input.logEvents).toHaveLength(2);
  });

  test('a value that is not a log group ARN is reported, naming it', async () => {
    const { sink: s, failures } = sink();
    s.write({ logGroupArn: 'arn:aws:sqs:eu-west-1:444455556666:queue' }, failureRecord(0));
    await s.flush();
    expect(failures[0].failure.reason).toMatch(/'arn:aws:sqs:eu-west-1:444455556666:queue' is not a log group ARN/);
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(0);
  });
});
