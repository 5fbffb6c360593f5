import type { Logger } from '@aws-lambda-powertools/logger';
import type { Failure } from '../../../service/contracts';
import { FailureLogLimiter } from '../../../service/listeners/failure-log-limiter';

describe('FailureLogLimiter', () => {
  afterEach(() => jest.useRealTimers());

  test('passes the first records of each second, counts the rest, and logs their summary when the second ends', () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    const reported: Failure[] = [];
    const warnings: Array<Record<string, unknown>> = [];
    const counted: Array<Readonly<Record<string, string>> | undefined> = [];
    const limiter = new FailureLogLimiter('wg', {
      failures: { report: (f) => reported.push(f) },
      logger: { warn: (_m: string, extra: Record<string, unknown>) => warnings.push(extra) } as unknown as Logger,
      metrics: { increment: (_n, _v, dims) => counted.push(dims), observe: () => undefined },
    }, 2);
    for (let i = 0; i < 5; i++) limiter.report({ code: 'DecryptFailed', reason: 'x' }, '203.0.113.5', 51820, undefined);
    limiter.report({ code: 'Replay', reason: 'y' }, '203.0.113.5', 51820, undefined);
    expect(reported).toHaveLength(2);
    expect(counted).toHaveLength(4);
    expect(counted[0]).toEqual({ Code: 'DecryptFailed' });
    expect(counted[1]).toBe(counted[0]); // one dimensions object per code
    expect(warnings).toEqual([]);
    // no further failure arrives: the summary still comes at the end of the second
    jest.advanceTimersByTime(1_000);
    expect(warnings).toEqual([{ listener: 'wg', suppressed: 4, byCode: { DecryptFailed: 3, Replay: 1 } }]);
    jest.advanceTimersByTime(5_000);
    expect(warnings).toHaveLength(1);
  });
});
