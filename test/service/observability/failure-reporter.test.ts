import { FAILURE_LOG_MESSAGE, LoggingFailureReporter } from '../../../service/observability/failure-reporter';
import { capturingLogger, CapturingMetrics } from '../helpers';

describe('LoggingFailureReporter', () => {
  test('one structured record per failure with code, reason and identifiers; counts by code', () => {
    const { logger, records } = capturingLogger();
    const metrics = new CapturingMetrics();
    const reporter = new LoggingFailureReporter(logger, metrics);
    reporter.report({ code: 'InvalidData', reason: 'Messages[0].Data: not valid base64' }, { topicArn: 'arn:aws:sns:us-east-1:1:t', messageId: 'm-1', index: 0, remote: '203.0.113.5:4000' });
    reporter.report({ code: 'InvalidData', reason: 'again' }, { listener: 'demo' });
    reporter.report({ code: 'NoActiveFlow', reason: 'no flow' }, { listener: 'demo' });
    expect(records[0]).toEqual({
      level: 'WARN',
      message: FAILURE_LOG_MESSAGE,
      attributes: { code: 'InvalidData', reason: 'Messages[0].Data: not valid base64', topicArn: 'arn:aws:sns:us-east-1:1:t', messageId: 'm-1', index: 0, remote: '203.0.113.5:4000' },
    });
    expect(records).toHaveLength(3);
    expect(reporter.countsByCode()).toEqual({ InvalidData: 2, NoActiveFlow: 1 });
    expect(reporter.total).toBe(3);
    expect(metrics.count('Failures')).toBe(3);
  });
});

describe('Failures dimensions', () => {
  function recording(): { reporter: LoggingFailureReporter; seen: Array<Readonly<Record<string, string>> | undefined> } {
    const seen: Array<Readonly<Record<string, string>> | undefined> = [];
    const metrics = { increment: (_m: string, _v?: number, d?: Readonly<Record<string, string>>) => { seen.push(d); }, observe: () => undefined };
    return { reporter: new LoggingFailureReporter(capturingLogger().logger, metrics), seen };
  }

  test('carry the Listener and, for sourced packets, the PacketSource the failure names', () => {
    const { reporter, seen } = recording();
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:t';
    reporter.report({ code: 'ClientRestricted', reason: 'x' }, { listener: 'demo' });
    reporter.report({ code: 'NoActiveFlow', reason: 'x' }, { listener: 'demo', topicArn });
    reporter.report({ code: 'UnknownTopic', reason: 'x' }, { topicArn });
    reporter.report({ code: 'InvalidJson', reason: 'x' }, {});
    expect(seen).toEqual([
      { Code: 'ClientRestricted', Listener: 'demo' },
      { Code: 'NoActiveFlow', Listener: 'demo', PacketSource: topicArn },
      { Code: 'UnknownTopic', PacketSource: topicArn },
      { Code: 'InvalidJson' },
    ]);
  });

  test('are created once per set (the recorder finds its series by object), and bounded', () => {
    const { reporter, seen } = recording();
    reporter.report({ code: 'ClientRestricted', reason: 'x' }, { listener: 'demo' });
    reporter.report({ code: 'ClientRestricted', reason: 'x' }, { listener: 'demo' });
    expect(seen[1]).toBe(seen[0]);
    for (let i = 0; i < 1100; i++) reporter.report({ code: 'UnknownTopic', reason: 'x' }, { topicArn: `arn:aws:sns:us-east-1:123456789012:t${i}` });
    expect(seen[seen.length - 1]).toEqual({ Code: 'UnknownTopic' });
  });
});
