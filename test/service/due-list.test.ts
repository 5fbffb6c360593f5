/**
 * Entries by due time under one timer (service/due-list.ts).
 */
import { DueEntry, DueList } from '../../service/due-list';

interface Item extends DueEntry {
  readonly name: string;
}

function item(name: string, dueAt: number): Item {
  return { name, dueAt, listed: false, previousDue: undefined, nextDue: undefined };
}

/** The names of the listed entries, first to last, checked against the links the other way. */
function names(list: DueList<Item>): string[] {
  const forward: string[] = [];
  let last: Item | undefined;
  for (let e = list.first; e; e = e.nextDue as Item | undefined) {
    expect(e.previousDue).toBe(last);
    expect(e.listed).toBe(true);
    forward.push(e.name);
    last = e;
  }
  expect(forward).toHaveLength(list.length);
  return forward;
}

/** A list whose owner records each wake-up (the time it was handed and the entries it took). */
function recordingList(now: () => number = () => Date.now()): { list: DueList<Item>; woken: Array<[number, string[]]> } {
  const woken: Array<[number, string[]]> = [];
  const list: DueList<Item> = new DueList((at) => {
    const taken: string[] = [];
    for (let e = list.takeDue(at); e; e = list.takeDue(at)) {
      expect(e.listed).toBe(false);
      taken.push(e.name);
    }
    woken.push([at, taken]);
  }, now);
  return { list, woken };
}

describe('DueList', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  test('entries are listed by due time; entries due together keep the order they were listed in', () => {
    const { list } = recordingList();
    for (const [name, dueAt] of [['a', 50], ['b', 30], ['c', 90], ['d', 30], ['e', 70], ['f', 50], ['g', 90], ['h', 10]] as const) list.insert(item(name, dueAt));
    expect(names(list)).toEqual(['h', 'b', 'd', 'a', 'f', 'e', 'c', 'g']);
    expect(list.length).toBe(8);
  });

  test('entries join at the tail, at the head, and in order walking from the head or from the tail', () => {
    const { list } = recordingList();
    for (let i = 0; i <= 10; i++) list.insert(item(`t${i * 10}`, 1_000 + i * 100));
    // nearer the head: walked from the head, after the entries due no later
    list.insert(item('h150', 1_150));
    list.insert(item('h100', 1_100));
    // nearer the tail: walked from the tail
    list.insert(item('t850', 1_850));
    list.insert(item('t900', 1_900));
    // before the first, with the first, with the last
    list.insert(item('first', 900));
    list.insert(item('with-first', 900));
    list.insert(item('last', 2_000));
    expect(names(list)).toEqual([
      'first', 'with-first', 't0', 't10', 'h100', 'h150', 't20', 't30', 't40', 't50', 't60', 't70', 't80', 't850', 't90', 't900', 't100', 'last',
    ]);
  });

  test('removing the first, the last and a middle entry relinks the others; removing one not listed does nothing', () => {
    const { list } = recordingList();
    const entries = ['a', 'b', 'c', 'd', 'e'].map((name, i) => item(name, 100 + i));
    for (const e of entries) list.insert(e);
    list.remove(entries[0]);
    expect(names(list)).toEqual(['b', 'c', 'd', 'e']);
    list.remove(entries[4]);
    expect(names(list)).toEqual(['b', 'c', 'd']);
    list.remove(entries[2]);
    expect(names(list)).toEqual(['b', 'd']);
    for (const removed of [entries[0], entries[2], entries[4]]) {
      expect(removed).toMatchObject({ listed: false, previousDue: undefined, nextDue: undefined });
    }
    list.remove(entries[2]);
    expect(list.length).toBe(2);
    list.remove(entries[1]);
    list.remove(entries[3]);
    expect(list.length).toBe(0);
    expect(list.first).toBeUndefined();
    // an entry removed may be listed again
    list.insert(entries[2]);
    expect(names(list)).toEqual(['c']);
  });

  test('one timer wakes the owner with the time when the first entry is due; the owner takes every entry due by then, and the timer is armed for the next', async () => {
    const { list, woken } = recordingList();
    list.insert(item('a', 100));
    list.insert(item('b', 100));
    list.insert(item('c', 250));
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(99);
    expect(woken).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(woken).toEqual([[100, ['a', 'b']]]);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(150);
    expect(woken).toEqual([[100, ['a', 'b']], [250, ['c']]]);
    // nothing listed: the timer stays off
    expect(jest.getTimerCount()).toBe(0);
    expect(list.length).toBe(0);
  });

  test('an entry due before the one the timer is armed for arms it earlier, and the timer stays one', async () => {
    const { list, woken } = recordingList();
    list.insert(item('late', 1_000));
    await jest.advanceTimersByTimeAsync(100);
    list.insert(item('early', 300));
    expect(jest.getTimerCount()).toBe(1);
    // a later entry leaves the timer as it is
    list.insert(item('later', 2_000));
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(199);
    expect(woken).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(woken).toEqual([[300, ['early']]]);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(woken).toEqual([[300, ['early']], [1_000, ['late']], [2_000, ['later']]]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a timer that finds every entry removed wakes no owner and stays off until the next entry', async () => {
    const { list, woken } = recordingList();
    const a = item('a', 100);
    list.insert(a);
    list.remove(a);
    await jest.advanceTimersByTimeAsync(100);
    expect(woken).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    list.insert(item('b', 150));
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(50);
    expect(woken).toEqual([[150, ['b']]]);
  });

  test('the timer is never early: armed for whole milliseconds at least one ahead, and armed again when it wakes before the clock reaches the first entry', async () => {
    let lag = 0;
    const { list, woken } = recordingList(() => Date.now() - lag);
    list.insert(item('fraction', 10.5));
    await jest.advanceTimersByTimeAsync(10);
    expect(woken).toEqual([]);
    // the list's clock runs 2 ms behind the timer's: the timer at 11 finds 9, before 10.5
    lag = 2;
    await jest.advanceTimersByTimeAsync(1);
    expect(woken).toEqual([]);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(woken).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(woken).toEqual([[11, ['fraction']]]);
    // an entry already due is handed over on a timer one millisecond ahead, never within this job
    lag = 0;
    list.insert(item('past', 0));
    expect(woken).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(0);
    expect(woken).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(woken).toEqual([[11, ['fraction']], [14, ['past']]]);
  });

  test('an owner that throws still has its later entries timed', async () => {
    let calls = 0;
    const list: DueList<Item> = new DueList((now) => {
      calls++;
      list.takeDue(now);
      throw new Error('owner failed');
    }, () => Date.now());
    list.insert(item('a', 10));
    list.insert(item('b', 20));
    await jest.advanceTimersByTimeAsync(10).catch(() => undefined);
    expect(calls).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(10).catch(() => undefined);
    expect(calls).toBe(2);
    expect(list.length).toBe(0);
  });

  test('an owner that lists a later entry while it takes its due ones leaves the timer armed for the first entry', async () => {
    const woken: Array<[number, string[]]> = [];
    const list: DueList<Item> = new DueList((at) => {
      const taken: string[] = [];
      for (let e = list.takeDue(at); e; e = list.takeDue(at)) taken.push(e.name);
      if (taken.includes('a')) list.insert(item('late', 100));
      woken.push([at, taken]);
    }, () => Date.now());
    list.insert(item('a', 10));
    list.insert(item('b', 20));
    await jest.advanceTimersByTimeAsync(10);
    expect(woken).toEqual([[10, ['a']]]);
    await jest.advanceTimersByTimeAsync(10);
    expect(woken).toEqual([[10, ['a']], [20, ['b']]]);
    await jest.advanceTimersByTimeAsync(80);
    expect(woken).toEqual([[10, ['a']], [20, ['b']], [100, ['late']]]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('stopTimer turns the timer off and keeps the entries; the next entry arms it again', async () => {
    const { list, woken } = recordingList();
    list.insert(item('a', 100));
    list.stopTimer();
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(200);
    expect(woken).toEqual([]);
    expect(names(list)).toEqual(['a']);
    list.insert(item('b', 300));
    await jest.advanceTimersByTimeAsync(100);
    expect(woken).toEqual([[300, ['a', 'b']]]);
  });
});
