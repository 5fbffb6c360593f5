import { LoggingFailureReporter } from '../../../service/observability/failure-reporter';
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
      message: 'packet not delivered',
      attributes: { code: 'InvalidData', reason: 'Messages[0].Data: not valid base64', topicArn: 'arn:aws:sns:us-east-1:1:t', messageId: 'm-1', index: 0, remote: '203.0.113.5:4000' },
    });
    expect(records).toHaveLength(3);
    expect(reporter.countsByCode()).toEqual({ InvalidData: 2, NoActiveFlow: 1 });
    expect(reporter.total).toBe(3);
    expect(metrics.count('Failures')).toBe(3);
  });
});
