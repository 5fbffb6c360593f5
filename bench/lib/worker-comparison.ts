/**
 * One data-plane worker against two, as scenarios 7 and 9 compare them: flood trials of both in
 * ABBA order, then both paced at {@link WORKER_PACED_FRACTION} × the 1-worker flood rate (ABBA
 * again, without warm-ups: both are warm), so that their CPU time per packet is also compared below
 * saturation; then at an even load per worker ({@link WORKER_EVEN_FRACTION}).
 */
import { ScenarioContext } from './scenario';
import { fmtRate, fmtUs, median } from './stats';
import { medianCpuUs, pairedTrials, Trial } from './throughput';

/** The paced trials run at this fraction of one worker's flood rate. */
export const WORKER_PACED_FRACTION = 0.5;

/**
 * The trials at an even load per worker pace one worker at this fraction of its flood rate, and
 * two workers at twice that rate: each of the two sees as many datagrams per second as the one.
 */
export const WORKER_EVEN_FRACTION = 0.3;

/** The trials of both worker counts, and the rates they were run at and gave. */
export interface WorkerComparison<T extends Trial> {
  readonly flood1: T[];
  readonly flood2: T[];
  readonly paced1: T[];
  readonly paced2: T[];
  /** Median flood rates. */
  readonly rate1: number;
  readonly rate2: number;
  /** The paced trials' rate (packets per second). */
  readonly pacedAt: number;
  /** Trials at an even load per worker: one worker paced at `evenAt`, two at twice that. */
  readonly even1: T[];
  readonly even2: T[];
  /** One worker's rate in the trials at an even load per worker (packets per second). */
  readonly evenAt: number;
}

/** Runs and logs the trials; each function runs one trial of the given length at the given rate (0 floods). */
export async function compareWorkerCounts<T extends Trial>(
  context: ScenarioContext,
  one: (durationMs: number, rate: number) => Promise<T>,
  two: (durationMs: number, rate: number) => Promise<T>,
): Promise<WorkerComparison<T>> {
  const flood = await pairedTrials(context.runs, context.trialMs, (ms) => two(ms, 0), (ms) => one(ms, 0));
  const flood1 = flood.loop as T[];
  const flood2 = flood.gateway as T[];
  const rate1 = median(flood1.map((t) => t.rate));
  const rate2 = median(flood2.map((t) => t.rate));
  context.log(`   flood: 1 worker ${flood1.map((t) => fmtRate(t.rate)).join(', ')}; 2 workers ${flood2.map((t) => fmtRate(t.rate)).join(', ')}`);
  const pacedAt = Math.round(WORKER_PACED_FRACTION * rate1);
  let paced1: T[] = [];
  let paced2: T[] = [];
  if (Number.isFinite(pacedAt) && pacedAt > 0) {
    const paced = await pairedTrials(context.runs, context.trialMs, (ms) => two(ms, pacedAt), (ms) => one(ms, pacedAt), undefined, false);
    paced1 = paced.loop as T[];
    paced2 = paced.gateway as T[];
  }
  context.log(`   paced at ${fmtRate(pacedAt)}: CPU per packet 1 worker ${fmtUs(medianCpuUs(paced1))}, 2 workers ${fmtUs(medianCpuUs(paced2))}`);
  const evenAt = Math.round(WORKER_EVEN_FRACTION * rate1);
  let even1: T[] = [];
  let even2: T[] = [];
  if (Number.isFinite(evenAt) && evenAt > 0) {
    const even = await pairedTrials(context.runs, context.trialMs, (ms) => two(ms, 2 * evenAt), (ms) => one(ms, evenAt), undefined, false);
    even1 = even.loop as T[];
    even2 = even.gateway as T[];
  }
  context.log(
    `   ${fmtRate(evenAt)} per worker: CPU per packet 1 worker ${fmtUs(medianCpuUs(even1))}, 2 workers (at ${fmtRate(2 * evenAt)}) ${fmtUs(medianCpuUs(even2))}`);
  return { flood1, flood2, paced1, paced2, rate1, rate2, pacedAt, even1, even2, evenAt };
}
