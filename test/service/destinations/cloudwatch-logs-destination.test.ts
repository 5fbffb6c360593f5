import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CloudWatchLogsDestination, createCloudWatchLogsDestination, LOGS_MAX_BATCH_BYTES, LOGS_MAX_SPAN_MS,
} from '../../../service/destinations/cloudwatch-logs-destination';
import { packetTemplate, queueDatagram, QueuedPacket } from '../../../service/destinations/packet';

const logs = mockClient(CloudWatchLogsClient);
const ARN = 'arn:aws:logs:eu-west-1:123456789012:log-group:/udp/telemetry:*';
const T0 = 1_780_000_000_000;

function packet(text: string, receivedAt: number, formatter: 'utf8' | 'base64' = 'utf8', tag = `t${receivedAt}`): QueuedPacket {
  const template = packetTemplate({ Domain: 'telemetry', Port: 5555, IpAddress: '192.0.2.1', Protocol: 'udp' }, 'eu-west-1', formatter);
  const q = queueDatagram({ data: Buffer.from(text), remoteAddress: '203.0.113.5', remotePort: 4000, receivedAt }, tag, template);
  if (!('json' in q)) throw new Error('not queued');
  return q;
}

function destination(): CloudWatchLogsDestination {
  return new CloudWatchLogsDestination({ Name: 'audit', Type: 'logs', Arn: ARN }, 'telemetry', new CloudWatchLogsClient({ region: 'eu-west-1' }), 'packet-gateway/telemetry/audit/task-1');
}

describe('CloudWatchLogsDestination', () => {
  beforeEach(() => {
    logs.reset();
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
  });

  test('writes one event per packet: the Data as the message, the receive time as the timestamp, in a stream created once', async () => {
    const dest = destination();
    expect(await dest.deliver([packet('temp=21.5', T0), packet('temp=21.7', T0 + 5)])).toEqual({});
    expect(await dest.deliver([packet('temp=21.9', T0 + 9)])).toEqual({});
    expect(logs.commandCalls(CreateLogStreamCommand).map((c) => c.args[0].input)).toEqual([
      { logGroupName: '/udp/telemetry', logStreamName: 'packet-gateway/telemetry/audit/task-1' },
    ]);
    expect(logs.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input)).toEqual([
      { logGroupName: '/udp/telemetry', logStreamName: 'packet-gateway/telemetry/audit/task-1', logEvents: [{ timestamp: T0, message: 'temp=21.5' }, { timestamp: T0 + 5, message: 'temp=21.7' }] },
      { logGroupName: '/udp/telemetry', logStreamName: 'packet-gateway/telemetry/audit/task-1', logEvents: [{ timestamp: T0 + 9, message: 'temp=21.9' }] },
    ]);
  });

  test('the message is Data in the destination Formatter', async () => {
    await destination().deliver([packet('hi', T0, 'base64')]);
    expect(logs.commandCalls(PutLogEventsCommand)[0].args[0].input.logEvents).toEqual([{ timestamp: T0, message: 'aGk=' }]);
  });

  test('events are sent in chronological order, and failures name the packets by their place in the batch', async () => {
    logs.on(PutLogEventsCommand).resolves({ rejectedLogEventsInfo: { tooOldLogEventEndIndex: 1 } });
    const result = await destination().deliver([packet('late', T0 + 10), packet('early', T0), packet('middle', T0 + 5)]);
    expect(logs.commandCalls(PutLogEventsCommand)[0].args[0].input.logEvents!.map((e) => e.message)).toEqual(['early', 'middle', 'late']);
    // the event CloudWatch Logs rejected ('early', first in the call) is the second packet of the batch
    expect(result).toEqual({ failed: [{ index: 1, reason: 'CloudWatch Logs rejected the log event: older than the log group accepts (14 days)' }] });
  });

  test('too-new and expired events are failed packets too', async () => {
    logs.on(PutLogEventsCommand).resolves({ rejectedLogEventsInfo: { expiredLogEventEndIndex: 1, tooNewLogEventStartIndex: 2 } });
    const result = await destination().deliver([packet('a', T0), packet('b', T0 + 1), packet('c', T0 + 2)]);
    expect(result.failed).toEqual([
      { index: 0, reason: 'CloudWatch Logs rejected the log event: older than the log group\'s retention' },
      { index: 2, reason: 'CloudWatch Logs rejected the log event: more than 2 hours in the future' },
    ]);
  });

  test('splits calls at 10,000 events, 1 MiB (26 bytes per event included) and a 24-hour span', async () => {
    const dest = destination();
    await dest.deliver(Array.from({ length: 10_001 }, (_, i) => packet('x', T0 + i)));
    expect(logs.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input.logEvents!.length)).toEqual([10_000, 1]);

    logs.resetHistory();
    const message = 'y'.repeat(100 * 1024 - 26); // 100 KiB per event with its overhead
    await dest.deliver(Array.from({ length: 11 }, (_, i) => packet(message, T0 + i)));
    const sizes = logs.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input.logEvents!.length);
    expect(sizes).toEqual([10, 1]);
    expect(10 * 100 * 1024).toBeLessThanOrEqual(LOGS_MAX_BATCH_BYTES);

    logs.resetHistory();
    await dest.deliver([packet('a', T0), packet('b', T0 + LOGS_MAX_SPAN_MS), packet('c', T0 + LOGS_MAX_SPAN_MS + 1)]);
    expect(logs.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input.logEvents!.map((e) => e.message))).toEqual([['a', 'b'], ['c']]);
  });

  test('an empty payload fails its packet; the others are written', async () => {
    const result = await destination().deliver([packet('', T0), packet('ok', T0 + 1)]);
    expect(result).toEqual({ failed: [{ index: 0, reason: 'the payload is empty and CloudWatch Logs does not accept empty log events' }] });
    expect(logs.commandCalls(PutLogEventsCommand)[0].args[0].input.logEvents).toEqual([{ timestamp: T0 + 1, message: 'ok' }]);
  });

  test('a deleted stream is created again once; a failed call fails the packets of that call', async () => {
    logs.on(PutLogEventsCommand)
      .rejectsOnce(Object.assign(new Error('The specified log stream does not exist.'), { name: 'ResourceNotFoundException' }))
      .resolves({});
    const dest = destination();
    expect(await dest.deliver([packet('a', T0)])).toEqual({});
    expect(logs.commandCalls(CreateLogStreamCommand)).toHaveLength(2);

    logs.on(PutLogEventsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    expect(await dest.deliver([packet('b', T0 + 1), packet('c', T0 + 2)])).toEqual({
      failed: [0, 1].map((index) => ({ index, reason: 'CloudWatch Logs PutLogEvents failed (ThrottlingException): Rate exceeded' })),
    });
  });

  test('a stream that already exists is used; creating it is retried after a failure', async () => {
    logs.on(CreateLogStreamCommand)
      .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))
      .rejects(Object.assign(new Error('exists'), { name: 'ResourceAlreadyExistsException' }));
    const dest = destination();
    expect((await dest.deliver([packet('a', T0)])).failed?.[0].reason).toBe('CloudWatch Logs PutLogEvents failed (AccessDeniedException): denied');
    expect(await dest.deliver([packet('b', T0 + 1)])).toEqual({});
    expect(logs.commandCalls(PutLogEventsCommand)).toHaveLength(1);
  });

  test('the factory writes with the client of the log group\'s region, to a stream named after the Listener, destination and task', () => {
    const regions: string[] = [];
    const dest = createCloudWatchLogsDestination({ Name: 'audit', Type: 'logs', Arn: ARN }, { Name: 'telemetry', Protocol: 'udp', Port: 5555, Destinations: [] }, {
      cloudWatchLogsClient: (region: string) => {
        regions.push(region);
        return new CloudWatchLogsClient({ region });
      },
    } as never) as CloudWatchLogsDestination;
    expect(regions).toEqual(['eu-west-1']);
    expect(dest.logGroupName).toBe('/udp/telemetry');
    expect(dest.logStreamName).toMatch(/^packet-gateway\/telemetry\/audit\/[A-Za-z0-9._-]+-\d{8}T\d{6}Z$/);
  });
});
