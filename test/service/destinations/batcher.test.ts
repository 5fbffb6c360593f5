import { Batcher } from '../../../service/destinations/batcher';

interface Item { readonly bytes: number; readonly id: number }

function item(id: number, bytes = 10): Item {
  return { id, bytes };
}

function setup(overrides: Partial<ConstructorParameters<typeof Batcher<Item>>[0]> = {}) {
  const batches: number[][] = [];
  const dropped: number[] = [];
  const releases: Array<() => void> = [];
  const batcher = new Batcher<Item>({
    count: 3,
    timeoutMs: 60_000,
    sizeBytes: 1_000_000,
    maxQueued: 100,
    maxInFlight: 1,
    deliver: async (batch) => {
      batches.push(batch.map((i) => i.id));
    },
    onDrop: (i) => dropped.push(i.id),
    ...overrides,
  });
  return { batcher, batches, dropped, releases };
}

describe('Batcher', () => {
  test('closes a batch at Count', async () => {
    const { batcher, batches } = setup();
    for (let i = 1; i <= 7; i++) batcher.enqueue(item(i));
    await Promise.resolve();
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6]]);
    await batcher.drain();
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  test('closes a batch after TimeoutInSeconds (fractional)', async () => {
    jest.useFakeTimers();
    try {
      const { batcher, batches } = setup({ timeoutMs: 250, maxInFlight: 10 });
      batcher.enqueue(item(1));
      jest.advanceTimersByTime(100);
      batcher.enqueue(item(2));
      jest.advanceTimersByTime(149);
      expect(batches).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(batches).toEqual([[1, 2]]);
      batcher.enqueue(item(3));
      jest.advanceTimersByTime(250);
      expect(batches).toEqual([[1, 2], [3]]);
    } finally {
      jest.useRealTimers();
    }
  });

  test('batches closed by Count arm no timer each; a later batch still waits its own full timeout', async () => {
    jest.useFakeTimers();
    const setTimer = jest.spyOn(global, 'setTimeout');
    try {
      const { batcher, batches } = setup({ count: 2, timeoutMs: 50, maxInFlight: 100 });
      for (let i = 1; i <= 20; i++) batcher.enqueue(item(i));
      expect(batches).toHaveLength(10);
      expect(setTimer).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(20);
      batcher.enqueue(item(21)); // opened at 20 ms: closes at 70 ms, not when the first timer fires at 50 ms
      jest.advanceTimersByTime(49);
      expect(batches).toHaveLength(10);
      jest.advanceTimersByTime(1);
      expect(batches[10]).toEqual([21]);
      await batcher.drain();
      expect(jest.getTimerCount()).toBe(0); // nothing left armed after a drain
    } finally {
      setTimer.mockRestore();
      jest.useRealTimers();
    }
  });

  test('timeout 0 batches what arrives in the same event-loop turn', async () => {
    const { batcher, batches } = setup({ count: 100, timeoutMs: 0 });
    batcher.enqueue(item(1));
    batcher.enqueue(item(2));
    await new Promise((r) => setImmediate(r));
    batcher.enqueue(item(3));
    await batcher.drain();
    expect(batches).toEqual([[1, 2], [3]]);
  });

  test('closes a batch before it would pass SizeInBytes, counting the envelope', async () => {
    const { batcher, batches } = setup({ count: 100, sizeBytes: 100, overheadBytes: (n) => 10 + n });
    // 10 + 3 + 3*25 = 88 fits; a fourth item would make 10 + 4 + 100 = 114.
    for (let i = 1; i <= 5; i++) batcher.enqueue(item(i, 25));
    await batcher.drain();
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  test('a packet larger than SizeInBytes travels alone', async () => {
    const { batcher, batches } = setup({ count: 100, sizeBytes: 100 });
    batcher.enqueue(item(1, 10));
    batcher.enqueue(item(2, 500));
    batcher.enqueue(item(3, 10));
    await batcher.drain();
    expect(batches).toEqual([[1], [2], [3]]);
  });

  test('the queue is bounded: overflow is dropped and reported, memory does not grow', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const delivered: number[][] = [];
    const { batcher, dropped } = setup({
      count: 2,
      maxQueued: 5,
      maxInFlight: 1,
      deliver: async (batch) => {
        delivered.push(batch.map((i) => i.id));
        await blocked;
      },
    });
    for (let i = 1; i <= 20; i++) batcher.enqueue(item(i));
    // 2 in flight, 5 waiting, 13 dropped.
    expect(batcher.inFlight).toBe(1);
    expect(batcher.queued).toBe(5);
    expect(dropped).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    release();
    await batcher.drain();
    expect(delivered.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(batcher.queued).toBe(0);
  });

  test('limits deliveries in flight and keeps order', async () => {
    const releases: Array<() => void> = [];
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const { batcher } = setup({
      count: 1,
      maxInFlight: 2,
      deliver: (batch) => new Promise<void>((resolve) => {
        active++;
        maxActive = Math.max(maxActive, active);
        order.push(batch[0].id);
        releases.push(() => { active--; resolve(); });
      }),
    });
    for (let i = 1; i <= 6; i++) batcher.enqueue(item(i));
    expect(active).toBe(2);
    const drained = batcher.drain();
    while (releases.length > 0 || active > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await drained;
    expect(maxActive).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('a failing delivery frees its slot', async () => {
    const seen: number[] = [];
    const { batcher } = setup({ count: 1, deliver: async (b) => { seen.push(b[0].id); throw new Error('boom'); } });
    batcher.enqueue(item(1));
    batcher.enqueue(item(2));
    await batcher.drain();
    expect(seen).toEqual([1, 2]);
    expect(batcher.inFlight).toBe(0);
  });
});
