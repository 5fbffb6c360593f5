/**
 * The send timeouts of sourced deliveries under one timer (service/sourcing/send-deadlines.ts).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeadlineWaiter, SendDeadline, SendDeadlines } from '../../../service/sourcing/send-deadlines';

/** A waiter that records when (fake clock, ms) it was told its deadline passed. */
function waiter(told: Array<[string, number]>, name: string): DeadlineWaiter {
  return { deadlinePassed: () => void told.push([name, Date.now()]) };
}

describe('SendDeadlines', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  test('deadlines started at different times each pass one timeout after their start, under one timer', async () => {
    const told: Array<[string, number]> = [];
    const deadlines = new SendDeadlines(1_000, () => Date.now());
    deadlines.start(waiter(told, 'a'));
    await jest.advanceTimersByTimeAsync(300);
    deadlines.start(waiter(told, 'b'));
    await jest.advanceTimersByTimeAsync(200);
    deadlines.start(waiter(told, 'c'));
    deadlines.start(waiter(told, 'd'));
    expect(jest.getTimerCount()).toBe(1);
    expect(deadlines.waiting).toBe(4);
    await jest.advanceTimersByTimeAsync(999 - 500);
    expect(told).toEqual([]);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(told).toEqual([['a', 1_000], ['b', 1_300], ['c', 1_500], ['d', 1_500]]);
    expect(deadlines.waiting).toBe(0);
    // nothing waits: the timer is not armed again
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a cancelled deadline is not told, cancelling twice or after it passed does nothing, and the others keep their time', async () => {
    const told: Array<[string, number]> = [];
    const deadlines = new SendDeadlines(1_000, () => Date.now());
    const a = deadlines.start(waiter(told, 'a'));
    await jest.advanceTimersByTimeAsync(100);
    const b = deadlines.start(waiter(told, 'b'));
    const c = deadlines.start(waiter(told, 'c'));
    deadlines.cancel(a);
    deadlines.cancel(a);
    deadlines.cancel(c);
    expect(deadlines.waiting).toBe(1);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(told).toEqual([['b', 1_100]]);
    deadlines.cancel(b);
    expect(deadlines.waiting).toBe(0);
  });

  test('a waiter that throws does not keep the others waiting', async () => {
    const told: Array<[string, number]> = [];
    const deadlines = new SendDeadlines(50, () => Date.now());
    deadlines.start({ deadlinePassed: () => { throw new Error('waiter failed'); } });
    deadlines.start(waiter(told, 'b'));
    await jest.advanceTimersByTimeAsync(50);
    expect(told).toEqual([['b', 50]]);
  });

  test('deadlines started out of order (a clock that answered an earlier time) are told in the order of their deadlines, never early', async () => {
    const told: Array<[string, number]> = [];
    let skew = 0;
    const deadlines = new SendDeadlines(1_000, () => Date.now() + skew);
    deadlines.start(waiter(told, 'late'));
    skew = -400;
    deadlines.start(waiter(told, 'early'));
    skew = -200;
    deadlines.start(waiter(told, 'middle'));
    // the timer was armed when the clock said -400 for a deadline at 600: it fires at 1000, when all three have passed
    skew = 0;
    await jest.advanceTimersByTimeAsync(999);
    expect(told).toEqual([]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(told).toEqual([['early', 1_000], ['middle', 1_000], ['late', 1_000]]);
  });

  test('a timeout that is not a positive number of milliseconds is refused, naming the value', () => {
    expect(() => new SendDeadlines(0)).toThrow('send timeout 0 ms is not a timeout (allowed: a positive number of milliseconds)');
    expect(() => new SendDeadlines(Number.NaN)).toThrow('send timeout NaN ms');
  });
});

test('a cancelled deadline keeps nothing of its waiter', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const deadlines = new SendDeadlines(60_000);
  const kept = deadlines.start({ deadlinePassed: () => undefined });
  const refs: Array<WeakRef<object>> = [];
  (() => {
    const started: SendDeadline[] = [];
    for (let i = 0; i < 1_000; i++) {
      const w = { deadlinePassed: () => undefined, payload: Buffer.alloc(1024) };
      refs.push(new WeakRef(w));
      started.push(deadlines.start(w));
    }
    // cancelled from the middle, the tail and the head
    for (let i = 500; i < 1_000; i++) deadlines.cancel(started[i]);
    for (let i = 0; i < 500; i++) deadlines.cancel(started[i]);
  })();
  expect(deadlines.waiting).toBe(1);
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  deadlines.cancel(kept);
});
