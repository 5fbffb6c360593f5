import { TurnQueue } from '../../../service/listeners/turn-queue';

const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TurnQueue', () => {
  test('hands the items of one turn to the consumer together, in order, once the turn ends', async () => {
    const seen: number[] = [];
    const queue = new TurnQueue<number>((n) => seen.push(n));
    queue.add(1);
    queue.add(2);
    queue.add(3);
    expect(seen).toEqual([]);
    expect(queue.size).toBe(3);
    await turnEnd();
    expect(seen).toEqual([1, 2, 3]);
    expect(queue.size).toBe(0);
    queue.add(4);
    await turnEnd();
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  test('flush hands everything over at once and leaves nothing for the end of the turn', async () => {
    const seen: number[] = [];
    const queue = new TurnQueue<number>((n) => seen.push(n));
    queue.add(1);
    queue.add(2);
    queue.flush();
    expect(seen).toEqual([1, 2]);
    await turnEnd();
    expect(seen).toEqual([1, 2]);
    queue.flush();
    expect(seen).toEqual([1, 2]);
  });

  test('items added while the consumer runs are handed over in the same pass, once each', async () => {
    const seen: number[] = [];
    const queue: TurnQueue<number> = new TurnQueue<number>((n) => {
      seen.push(n);
      if (n === 1) {
        queue.add(10);
        queue.flush();
      }
    });
    queue.add(1);
    queue.add(2);
    queue.flush();
    expect(seen).toEqual([1, 10, 2]);
    await turnEnd();
    expect(seen).toEqual([1, 10, 2]);
  });

  test('a consumer that throws loses none of the other items: they are handed over at the end of the turn', async () => {
    const seen: number[] = [];
    const queue = new TurnQueue<number>((n) => {
      if (n === 2) throw new Error('bug');
      seen.push(n);
    });
    queue.add(1);
    queue.add(2);
    queue.add(3);
    expect(() => queue.flush()).toThrow('bug');
    expect(seen).toEqual([1]);
    expect(queue.size).toBe(1);
    queue.add(4);
    await turnEnd();
    expect(seen).toEqual([1, 3, 4]);
  });
});
