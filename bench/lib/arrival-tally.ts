/**
 * What a counting receiver (bench/agents/udp-counter.ts, port-spread-counter.ts) answers to
 * `stats`: datagrams and bytes since the last reset, and the times of the first and last arrival
 * (bench/lib/throughput.ts turns them into a rate).
 */
import { performance } from 'node:perf_hooks';

/** The counts, a `message` listener that adds to them, and their reset. */
export interface ArrivalTally {
  /** A socket's `message` listener. */
  readonly onMessage: (msg: Buffer) => void;
  /** Datagrams since the last reset. */
  count(): number;
  reset(): Record<string, never>;
  stats(): { count: number; bytes: number; spanMs: number; firstAt: number; lastAt: number; now: number };
}

export function arrivalTally(): ArrivalTally {
  let count = 0;
  let bytes = 0;
  let firstAt = 0;
  let lastAt = 0;
  return {
    onMessage: (msg) => {
      const now = performance.now();
      if (count === 0) firstAt = now;
      lastAt = now;
      count++;
      bytes += msg.length;
    },
    count: () => count,
    reset: () => {
      count = 0;
      bytes = 0;
      firstAt = 0;
      lastAt = 0;
      return {};
    },
    stats: () => ({ count, bytes, spanMs: lastAt - firstAt, firstAt, lastAt, now: performance.now() }),
  };
}
