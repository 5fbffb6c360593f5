import { EntryFailure, splitIntoCalls, writeBatch } from '../../../service/destinations/batch-write';

describe('splitIntoCalls', () => {
  test('starts a new call at the entry limit or when the next entry would pass the byte limit', () => {
    expect(splitIntoCalls([0, 1, 2, 3, 4], () => 1, { maxEntries: 2, maxBytes: 100 })).toEqual([[0, 1], [2, 3], [4]]);
    expect(splitIntoCalls([0, 1, 2, 3], (i) => [60, 40, 1, 100][i], { maxEntries: 10, maxBytes: 100 })).toEqual([[0, 1], [2], [3]]);
  });

  test('an entry larger than the byte limit is a call of its own', () => {
    expect(splitIntoCalls([0, 1, 2], (i) => (i === 1 ? 500 : 10), { maxEntries: 10, maxBytes: 100 })).toEqual([[0], [1], [2]]);
  });
});

describe('writeBatch', () => {
  const limits = { maxEntries: 3, maxBytes: 1_000 };
  const options = { limits, sizeOf: () => 1, callFailureReason: (err: unknown) => `failed: ${(err as Error).message}`, retryDelayMs: 0 };

  test('resends only the retriable failures, in new calls, up to the attempt limit', async () => {
    const calls: number[][] = [];
    const failed = await writeBatch(7, async (indices) => {
      calls.push([...indices]);
      const out: EntryFailure[] = [];
      for (const i of indices) {
        if (i === 1) out.push({ index: i, reason: 'rejected', retriable: false });
        if (i === 4 || (i === 5 && calls.length <= 3)) out.push({ index: i, reason: 'busy', retriable: true });
      }
      return out;
    }, { ...options, attempts: 3 });
    expect(calls).toEqual([[0, 1, 2], [3, 4, 5], [6], [4, 5], [4]]);
    expect(failed).toEqual([{ index: 1, reason: 'rejected' }, { index: 4, reason: 'busy (after 3 attempts)' }]);
  });

  test('a call that fails as a whole fails its entries without resending them', async () => {
    let n = 0;
    const failed = await writeBatch(5, async () => {
      if (n++ === 1) throw new Error('denied');
      return [];
    }, { ...options, maxConcurrentCalls: 1 });
    expect(n).toBe(2);
    expect(failed).toEqual([{ index: 3, reason: 'failed: denied' }, { index: 4, reason: 'failed: denied' }]);
  });

  test('no more than maxConcurrentCalls calls are in flight', async () => {
    let inFlight = 0;
    let most = 0;
    await writeBatch(30, async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return [];
    }, { ...options, maxConcurrentCalls: 4 });
    expect(most).toBe(4);
  });

  test('an empty batch makes no call', async () => {
    const call = jest.fn();
    expect(await writeBatch(0, call, options)).toEqual([]);
    expect(call).not.toHaveBeenCalled();
  });
});
