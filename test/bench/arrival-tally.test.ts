import { arrivalTally } from '../../bench/lib/arrival-tally';

describe('the counting receivers\' tally', () => {
  it('counts datagrams and bytes, and spans the first to the last arrival, until reset', async () => {
    const tally = arrivalTally();
    tally.onMessage(Buffer.alloc(64));
    await new Promise((r) => setTimeout(r, 20));
    tally.onMessage(Buffer.alloc(1200));
    const stats = tally.stats();
    expect(stats).toMatchObject({ count: 2, bytes: 1264 });
    expect(stats.spanMs).toBeGreaterThanOrEqual(15);
    expect(stats.lastAt - stats.firstAt).toBe(stats.spanMs);
    expect(tally.count()).toBe(2);
    tally.reset();
    expect(tally.stats()).toMatchObject({ count: 0, bytes: 0, spanMs: 0 });
    tally.onMessage(Buffer.alloc(10));
    expect(tally.stats()).toMatchObject({ count: 1, bytes: 10, spanMs: 0 });
  });
});
