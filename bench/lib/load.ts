/**
 * Bounded send loops: flood (as fast as the event loop allows, in bursts) or paced (a target rate
 * in datagrams per second, in 1 ms ticks). Every loop stops at `durationMs` or `maxCount`,
 * whichever comes first.
 */
import { performance } from 'node:perf_hooks';
import { num, str } from './agent-runtime';

/** Limits and pacing of one send loop. */
export interface SendLoopOptions {
  /** Datagrams per second; 0 means flood. */
  readonly rate: number;
  /** Longest run, ms. */
  readonly durationMs: number;
  /** Most datagrams to send. */
  readonly maxCount: number;
  /** Datagrams per event-loop turn when flooding. @default 64 */
  readonly burst?: number;
}

/** What a send loop did. */
export interface SendLoopResult {
  readonly sent: number;
  readonly elapsedMs: number;
}

/**
 * Calls `sendOne(i)` for i = 0, 1, … under the given limits, yielding to the event loop between
 * bursts so that completions, IPC and timers keep running.
 */
export function runSendLoop(sendOne: (i: number) => void, options: SendLoopOptions): Promise<SendLoopResult> {
  const burst = options.burst ?? 64;
  const start = performance.now();
  const deadline = start + options.durationMs;
  let sent = 0;
  return new Promise((resolve) => {
    const finish = (): void => resolve({ sent, elapsedMs: performance.now() - start });
    if (options.rate <= 0) {
      const turn = (): void => {
        const end = Math.min(options.maxCount, sent + burst);
        while (sent < end) sendOne(sent++);
        if (sent >= options.maxCount || performance.now() >= deadline) finish();
        else setImmediate(turn);
      };
      setImmediate(turn);
      return;
    }
    // Paced: at each tick send what the schedule allows, at most 5 ms worth at once.
    const perMs = options.rate / 1000;
    const maxCatchUp = Math.max(1, Math.ceil(perMs * 5));
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(options.maxCount, Math.floor((now - start) * perMs));
      const end = Math.min(due, sent + maxCatchUp);
      while (sent < end) sendOne(sent++);
      if (sent >= options.maxCount || now >= deadline) finish();
      else setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  });
}

/**
 * A sender agent's `run`: one payload of `args.size` bytes sent to `args.host`:`args.port` by
 * `send` (the i-th datagram), flooding or paced at `args.rate`, for `args.durationMs` or
 * `args.maxCount` datagrams; resolves once queued sends have had 20 ms to complete.
 */
export async function runPayloadSends(
  args: Record<string, unknown>,
  send: (payload: Buffer, port: number, host: string, i: number) => void,
): Promise<SendLoopResult> {
  const host = str(args, 'host');
  const port = num(args, 'port');
  const payload = Buffer.alloc(num(args, 'size'), 0x5a);
  const result = await runSendLoop((i) => send(payload, port, host, i), {
    rate: num(args, 'rate', 0),
    durationMs: num(args, 'durationMs'),
    maxCount: num(args, 'maxCount', 10_000_000),
  });
  // let queued sends complete before reporting
  await new Promise((r) => setTimeout(r, 20));
  return result;
}
