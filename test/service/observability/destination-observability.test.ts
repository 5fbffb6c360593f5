/**
 * Per-destination observability as Proxylity offers it: `MetricsEnabled` (packets and bytes in and
 * out, dimensions Listener and Destination) over a real UDP Listener, and `LogGroupName` (delivery
 * errors written to a log group through the CloudWatch Logs sink, rate-limited).
 */
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { MetricName } from '../../../lib/private/metrics';
import type { DestinationRecord, ListenerRecord } from '../../../lib/private/records';
import type { DeliveryLogSink, DeliveryLogTarget, MetricsRecorder } from '../../../service/contracts';
import type { DeliveryResult, Destination } from '../../../service/destinations/destination';
import { DestinationLane } from '../../../service/destinations/destination-lane';
import type { InboundPacket, QueuedPacket } from '../../../service/destinations/packet';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { IngressPipeline } from '../../../service/ingress/ingress-pipeline';
import { UdpListener } from '../../../service/listeners/udp-listener';
import { ACCOUNT_UNKNOWN_LOG_MESSAGE, DestinationErrorLogs } from '../../../service/observability/destination-error-log';
import { ReplyRouter } from '../../../service/replies/reply-router';
import { ReplyTagCodec } from '../../../service/replies/reply-tags';
import { CloudWatchDeliveryLogSink } from '../../../service/sourcing/delivery-log-sink';
import { CapturingFailureReporter, eventually, silentLogger, UdpClient } from '../helpers';

/** Every increment with its dimensions. */
class DimensionMetrics implements MetricsRecorder {
  public readonly increments: Array<{ name: string; value: number; dimensions: Readonly<Record<string, string>> }> = [];
  public increment(name: string, value = 1, dimensions: Readonly<Record<string, string>> = {}): void {
    this.increments.push({ name, value, dimensions });
  }
  public observe(): void {
    // not needed here
  }
  public sum(name: string, destination?: string): number {
    return this.increments.filter((i) => i.name === name && (destination === undefined || i.dimensions.Destination === destination))
      .reduce((total, i) => total + i.value, 0);
  }
}

/** Answers every packet with `reply` (base64 Data). */
class EchoDestination implements Destination {
  public readonly type = 'log' as const;
  public constructor(public readonly name: string, private readonly reply: string) {}
  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const packets = batch.map((p) => JSON.parse(p.json) as InboundPacket);
    return { response: { Replies: packets.map((p) => ({ Tag: p.Tag, Data: Buffer.from(this.reply).toString('base64') })) } };
  }
}

const fast = { Count: 10, TimeoutInSeconds: 0.01 };

describe('MetricsEnabled', () => {
  test('counts packets and payload bytes in and out per destination, only for the destination that enables it', async () => {
    const metrics = new DimensionMetrics();
    const failures = new CapturingFailureReporter();
    const tags = new ReplyTagCodec();
    const record: ListenerRecord = {
      Name: 'telemetry',
      Protocol: 'udp',
      Port: 0,
      Destinations: [
        { Name: 'counted', Type: 'log', Batching: fast, MetricsEnabled: true },
        { Name: 'quiet', Type: 'log', Batching: fast },
      ],
    };
    let listener!: UdpListener;
    const replies = new ReplyRouter({ listeners: { get: () => listener, list: () => [listener] }, tags, failures, metrics });
    const destinations = [new EchoDestination('counted', 'pong!'), new EchoDestination('quiet', 'ok')];
    const lanes = destinations.map((destination, i) => new DestinationLane({
      listener: 'telemetry', record: record.Destinations[i], formatter: 'base64', destination, replies, failures, metrics, logger: silentLogger,
    }));
    const pipeline = new IngressPipeline({ record, region: 'eu-west-1', tags, lanes, failures, metrics });
    listener = new UdpListener({ record, sink: pipeline, logger: silentLogger, defaultBindAddress: '127.0.0.1', egress: new EgressPolicy({ allowLoopback: true }) });
    await listener.start();
    const client = await UdpClient.open();
    try {
      await client.send(Buffer.from('abc'), listener.port);
      await client.send(Buffer.from('defgh'), listener.port);
      await eventually(() => client.received.length === 4, 5000, 'four replies');
      await eventually(() => metrics.sum(MetricName.PacketsOut) === 2, 5000, 'the send callbacks');

      const dims = { Listener: 'telemetry', Destination: 'counted' };
      expect(metrics.increments.filter((i) => i.name === MetricName.PacketsIn || i.name === MetricName.BytesIn).every((i) => i.dimensions.Destination === 'counted')).toBe(true);
      expect(metrics.sum(MetricName.PacketsIn, 'counted')).toBe(2);
      expect(metrics.sum(MetricName.BytesIn, 'counted')).toBe(3 + 5);
      expect(metrics.sum(MetricName.PacketsOut, 'counted')).toBe(2);
      expect(metrics.sum(MetricName.BytesOut, 'counted')).toBe(2 * 'pong!'.length);
      expect(metrics.increments.find((i) => i.name === MetricName.PacketsOut)?.dimensions).toEqual(dims);
      // the destination without MetricsEnabled costs no series
      for (const name of [MetricName.PacketsIn, MetricName.BytesIn, MetricName.PacketsOut, MetricName.BytesOut]) expect(metrics.sum(name, 'quiet')).toBe(0);
      expect(failures.records).toEqual([]);
    } finally {
      await client.close();
      await pipeline.close();
      await listener.close();
    }
  });
});

/** A sink that keeps what it is given. */
class CapturingSink implements DeliveryLogSink {
  public readonly writes: Array<{ target: DeliveryLogTarget; record: Record<string, unknown> }> = [];
  public write(target: DeliveryLogTarget, record: Record<string, unknown>): void {
    this.writes.push({ target, record });
  }
  public async flush(): Promise<void> {
    // nothing buffered
  }
}

const ARN_OF = (name: string): string => `arn:aws:logs:eu-west-1:123456789012:log-group:${name}`;
const withLog: DestinationRecord = { Name: 'fn', Type: 'lambda', Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:f', LogGroupName: '/udp/fn-errors' };
const failure = { code: 'DestinationFailed' as const, reason: 'lambda destination fn: AccessDenied' };

describe('LogGroupName', () => {
  test('a destination without LogGroupName keeps the gateway reporter as it is', () => {
    const inner = new CapturingFailureReporter();
    const logs = new DestinationErrorLogs({ sink: new CapturingSink(), logGroupArn: ARN_OF });
    expect(logs.reporterFor('l', { Name: 'q', Type: 'log' }, inner)).toBe(inner);
  });

  test('delivery errors go to the gateway log and, rate-limited with a summary, to the destination\'s log group', () => {
    let now = 1_795_000_000_000;
    const sink = new CapturingSink();
    const inner = new CapturingFailureReporter();
    const reporter = new DestinationErrorLogs({ sink, logGroupArn: ARN_OF, maxRecordsPerSecond: 2, now: () => now }).reporterFor('telemetry', withLog, inner);
    for (let i = 0; i < 5; i++) reporter.report(failure, { listener: 'telemetry', destination: 'fn', remote: `198.51.100.1:${1000 + i}` });
    expect(inner.records).toHaveLength(5);
    expect(sink.writes).toHaveLength(2);
    expect(sink.writes[0]).toEqual({
      target: { logGroupArn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/udp/fn-errors' },
      record: { timestamp: new Date(now).toISOString(), code: 'DestinationFailed', reason: failure.reason, listener: 'telemetry', destination: 'fn', remote: '198.51.100.1:1000' },
    });
    now += 1000;
    reporter.report(failure, { listener: 'telemetry', destination: 'fn', remote: '198.51.100.1:2000' });
    expect(sink.writes.map((w) => w.record.code)).toEqual(['DestinationFailed', 'DestinationFailed', 'RateLimited', 'DestinationFailed']);
    expect(sink.writes[2].record).toMatchObject({ listener: 'telemetry', destination: 'fn', leftOut: 3 });
    expect(sink.writes[3].record.remote).toBe('198.51.100.1:2000');
  });

  test('without the gateway account the log group is not written, and that is said once', () => {
    const sink = new CapturingSink();
    const warnings: unknown[] = [];
    const warn = (message: string, attributes: Record<string, unknown>): void => {
      warnings.push({ message, ...attributes });
    };
    const logs = new DestinationErrorLogs({ sink, logGroupArn: () => undefined, warn });
    const inner = new CapturingFailureReporter();
    expect(logs.reporterFor('telemetry', withLog, inner)).toBe(inner);
    logs.reporterFor('telemetry', withLog, inner);
    expect(warnings).toEqual([{ message: ACCOUNT_UNKNOWN_LOG_MESSAGE, listener: 'telemetry', destination: 'fn', logGroupName: '/udp/fn-errors' }]);
  });

  test('the records reach CloudWatch Logs as PutLogEvents to the named group, in a stream of the task', async () => {
    const logsMock = mockClient(CloudWatchLogsClient);
    logsMock.on(CreateLogStreamCommand).resolves({});
    logsMock.on(PutLogEventsCommand).resolves({});
    try {
      const sink = new CloudWatchDeliveryLogSink({
        streamName: 'packet-gateway/task-1/start',
        logsClient: (region) => new CloudWatchLogsClient({ region, credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' } }),
        flushIntervalMs: 10,
      });
      const reporter = new DestinationErrorLogs({ sink, logGroupArn: ARN_OF }).reporterFor('telemetry', withLog, new CapturingFailureReporter());
      reporter.report(failure, { listener: 'telemetry', destination: 'fn', tag: 'T1' });
      await sink.flush();
      expect(logsMock.commandCalls(CreateLogStreamCommand).map((c) => c.args[0].input)).toEqual([{ logGroupName: '/udp/fn-errors', logStreamName: 'packet-gateway/task-1/start' }]);
      const [put] = logsMock.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input);
      expect(put.logGroupName).toBe('/udp/fn-errors');
      expect(JSON.parse(put.logEvents![0].message!)).toMatchObject({ code: 'DestinationFailed', listener: 'telemetry', destination: 'fn', tag: 'T1' });
    } finally {
      logsMock.restore();
    }
  });
});
