/**
 * CPU steal time of the virtual machine a benchmark runs on: time its virtual CPUs had work but the
 * hypervisor ran something else (the `steal` column of the `cpu` line of /proc/stat, in USER_HZ
 * ticks). Read before and after an interval, it says how much of the interval's CPU time the host's
 * other load took.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Cumulative CPU time of all CPUs together since boot, in USER_HZ ticks. */
export interface CpuTimes {
  /** The `steal` column. */
  readonly steal: number;
  /**
   * user + nice + system + idle + iowait + irq + softirq + steal: every tick of every CPU
   * (`guest` and `guest_nice` are already counted in user and nice, so they are left out).
   */
  readonly total: number;
}

/** CPU steal over an interval. */
export interface StealInterval {
  readonly seconds: number;
  /** Steal ÷ the interval's CPU time (every CPU's ticks, busy or idle), 0–1. */
  readonly share: number;
}

/** Columns of the `cpu` line up to and including `steal` (Linux 2.6.11 and later). */
const COLUMNS_THROUGH_STEAL = 8;
const STEAL_COLUMN = 7;

/** The whole-machine `cpu` line of /proc/stat's text, or undefined when it is missing or has no steal column. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const columns = line.trim().split(/\s+/).slice(1, 1 + COLUMNS_THROUGH_STEAL).map(Number);
  if (columns.length < COLUMNS_THROUGH_STEAL || columns.some((c) => !Number.isSafeInteger(c) || c < 0)) return undefined;
  return { steal: columns[STEAL_COLUMN], total: columns.reduce((sum, c) => sum + c, 0) };
}

/** The machine's CPU times now, or undefined where `file` is missing or unreadable (not Linux). */
export function readCpuTimes(file = '/proc/stat'): CpuTimes | undefined {
  try {
    return parseProcStat(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** USER_HZ, the unit of /proc/stat: `getconf CLK_TCK`, else 100 (its value on every common Linux architecture). */
export function ticksPerSecond(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
  const hz = Number(out.stdout?.trim());
  return Number.isInteger(hz) && hz > 0 ? hz : 100;
}

/** Steal between two readings, or undefined when either is missing or the counters went backwards. */
export function stealBetween(before: CpuTimes | undefined, after: CpuTimes | undefined, hz: number): StealInterval | undefined {
  if (!before || !after) return undefined;
  const steal = after.steal - before.steal;
  const total = after.total - before.total;
  if (steal < 0 || total <= 0) return undefined;
  return { seconds: steal / hz, share: steal / total };
}

/** Seconds and share of the CPU time, `1.23 s, 0.9 %`; `not available` without /proc/stat. */
export function formatSteal(steal: StealInterval | null | undefined): string {
  if (!steal) return 'not available';
  return `${steal.seconds.toFixed(2)} s, ${(steal.share * 100).toFixed(1)} %`;
}
