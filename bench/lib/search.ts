/**
 * Finds the highest paced rate a path delivers with loss under a bound: ramp up geometrically
 * until loss exceeds the bound (or the sender cannot keep up), then bisect between the last good
 * and the first bad rate. Bounded in trials.
 */
import { Trial } from './throughput';

/** Settings of one search. */
export interface SearchOptions {
  /** First rate tried, datagrams/s. */
  readonly start: number;
  /** Ramp factor (> 1). */
  readonly factor: number;
  /** Largest acceptable loss fraction. @default 0.01 */
  readonly maxLoss?: number;
  /** Most ramp trials. @default 7 */
  readonly maxRamp?: number;
  /** Bisection trials after the ramp. @default 2 */
  readonly bisect?: number;
  /** Highest rate ever tried. @default 2_000_000 */
  readonly ceiling?: number;
}

/** Result of a search: the best delivered rate with acceptable loss, and every trial. */
export interface SearchResult {
  /** Delivered datagrams/s of the best acceptable trial (NaN when none was acceptable). */
  readonly rate: number;
  /** Target rate of that trial. */
  readonly pacedAt: number;
  /** Loss of that trial. */
  readonly loss: number;
  readonly trials: ReadonlyArray<{ readonly target: number } & Trial>;
}

/** Runs the search with `runTrial(rate)`. */
export async function searchMaxRate(runTrial: (rate: number) => Promise<Trial>, options: SearchOptions): Promise<SearchResult> {
  const maxLoss = options.maxLoss ?? 0.01;
  const trials: Array<{ target: number } & Trial> = [];
  const ceiling = options.ceiling ?? 2_000_000;
  let best: ({ target: number } & Trial) | undefined;
  const attempt = async (rate: number): Promise<{ ok: boolean; senderLimited: boolean }> => {
    const t = { target: Math.round(rate), ...(await runTrial(Math.round(rate))) };
    trials.push(t);
    const ok = Number.isFinite(t.loss) && t.loss <= maxLoss && t.received > 0;
    if (ok && (!best || t.rate > best.rate)) best = t;
    // the paced sender fell short of its target: going higher measures the sender, not the path
    const senderLimited = t.offeredRate < 0.9 * rate;
    return { ok, senderLimited };
  };
  let good = 0;
  let bad = Infinity;
  let rate = options.start;
  for (let i = 0; i < (options.maxRamp ?? 7); i++) {
    const r = await attempt(rate);
    if (r.ok) {
      good = Math.max(good, rate);
      if (r.senderLimited || rate >= ceiling || bad < Infinity) break;
      rate = Math.min(ceiling, rate * options.factor);
    } else {
      bad = Math.min(bad, rate);
      if (good > 0) break;
      rate = rate / (options.factor * options.factor);
    }
  }
  // nothing acceptable yet (a noisy moment, or a start far too high): halve, a few times at most
  for (let i = 0; i < 3 && good === 0; i++) {
    rate = Math.min(rate, bad) / 2;
    const r = await attempt(rate);
    if (r.ok) good = rate;
    else bad = Math.min(bad, rate);
  }
  if (good > 0 && bad < Infinity) {
    for (let i = 0; i < (options.bisect ?? 2); i++) {
      const mid = Math.sqrt(good * bad);
      const r = await attempt(mid);
      if (r.ok) good = mid;
      else bad = mid;
    }
  }
  const b = best as ({ target: number } & Trial) | undefined;
  return { rate: b ? b.rate : NaN, pacedAt: b ? b.target : NaN, loss: b ? b.loss : NaN, trials };
}
