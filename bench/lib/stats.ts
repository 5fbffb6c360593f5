/** Small statistics helpers for benchmark figures. */

/** Median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The p-th percentile (0–100) of sorted values, nearest-rank. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** a / b, or NaN when either is not a positive finite number. */
export function ratio(a: number, b: number): number {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN;
}

/** Rounds to `digits` significant digits (keeps JSON and tables readable). */
export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const p = Math.pow(10, digits - Math.ceil(Math.log10(Math.abs(x))));
  return Math.round(x * p) / p;
}

/** Formats a rate in datagrams per second as e.g. `212.4k/s`. */
export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k/s` : `${x.toFixed(0)}/s`;
}

/** Formats a ratio as e.g. `0.87×`. */
export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a';
}

/** Formats a time in microseconds, e.g. `7.83 µs` (— when there is none). */
export function fmtUs(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)} µs` : '—';
}

/** Formats a loss fraction as a percentage. */
export function fmtPct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(2)} %` : 'n/a';
}
