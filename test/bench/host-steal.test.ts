/**
 * CPU steal of the benchmark's virtual machine, from /proc/stat's `cpu` line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSteal, parseProcStat, readCpuTimes, stealBetween } from '../../bench/lib/host-steal';

/** /proc/stat of a 2-CPU virtual machine (Linux 6.x), shortened after the CPU lines. */
const PROC_STAT = [
  'cpu  5581310 14867 759011 3556750 32622 0 78570 52526 1200 30',
  'cpu0 2662369 7887 362033 1934445 4234 0 41411 25426 600 15',
  'cpu1 2918940 6980 396977 1622304 28387 0 37158 27100 600 15',
  'intr 55681747 0 0 0 0',
  'ctxt 987654321',
  'btime 1796551200',
  '',
].join('\n');

describe('parseProcStat', () => {
  test('reads the whole-machine cpu line: steal is the 8th column, the total sums user through steal without guest time', () => {
    expect(parseProcStat(PROC_STAT)).toEqual({
      steal: 52526,
      total: 5581310 + 14867 + 759011 + 3556750 + 32622 + 0 + 78570 + 52526,
    });
  });

  test('finds the cpu line wherever it is and ignores the per-CPU lines', () => {
    const reordered = ['cpu0 1 1 1 1 1 1 1 99', 'intr 5', 'cpu  10 0 10 70 0 0 0 10', 'cpu1 1 1 1 1 1 1 1 99'].join('\n');
    expect(parseProcStat(reordered)).toEqual({ steal: 10, total: 100 });
  });

  test('a kernel without the steal column, a missing cpu line or a malformed one give undefined', () => {
    expect(parseProcStat('cpu  10 0 10 70 0 0 0\n')).toBeUndefined();
    expect(parseProcStat('cpu0 10 0 10 70 0 0 0 10\nintr 5\n')).toBeUndefined();
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('cpu  10 0 x 70 0 0 0 10\n')).toBeUndefined();
    expect(parseProcStat('cpu  10 0 -1 70 0 0 0 10\n')).toBeUndefined();
  });
});

describe('readCpuTimes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgb-proc-stat-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('reads the given file, and gives undefined where it does not exist', () => {
    const file = join(dir, 'stat');
    writeFileSync(file, PROC_STAT);
    expect(readCpuTimes(file)).toEqual(parseProcStat(PROC_STAT));
    expect(readCpuTimes(join(dir, 'missing'))).toBeUndefined();
  });
});

describe('stealBetween', () => {
  test('steal seconds in USER_HZ ticks, and its share of every CPU tick of the interval', () => {
    const before = { steal: 1000, total: 100_000 };
    const after = { steal: 1150, total: 110_000 };
    const steal = stealBetween(before, after, 100);
    expect(steal!.seconds).toBeCloseTo(1.5, 10);
    expect(steal!.share).toBeCloseTo(0.015, 10);
    expect(stealBetween(before, after, 250)!.seconds).toBeCloseTo(0.6, 10);
  });

  test('no steal is zero, not unavailable', () => {
    expect(stealBetween({ steal: 5, total: 100 }, { steal: 5, total: 300 }, 100)).toEqual({ seconds: 0, share: 0 });
  });

  test('a missing reading, or counters that went backwards or did not move, give undefined', () => {
    const reading = { steal: 10, total: 1000 };
    expect(stealBetween(undefined, reading, 100)).toBeUndefined();
    expect(stealBetween(reading, undefined, 100)).toBeUndefined();
    expect(stealBetween(reading, { steal: 9, total: 2000 }, 100)).toBeUndefined();
    expect(stealBetween(reading, reading, 100)).toBeUndefined();
  });
});

describe('formatSteal', () => {
  test('seconds and percent of the CPU time; not available without a reading', () => {
    expect(formatSteal({ seconds: 1.234, share: 0.00912 })).toBe('1.23 s, 0.9 %');
    expect(formatSteal({ seconds: 0, share: 0 })).toBe('0.00 s, 0.0 %');
    expect(formatSteal(undefined)).toBe('not available');
    expect(formatSteal(null)).toBe('not available');
  });
});
