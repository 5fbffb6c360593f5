/**
 * Turns SIGTERM and SIGINT into one graceful stop with a deadline.
 *
 * Launchers deliver the same Ctrl-C more than once: the terminal signals the whole process group
 * (npm, projen, tsx and the gateway) and a launcher may relay it again. Signals within
 * {@link StopSignalOptions.repeatWindowMs} of the first are the same stop request; a signal after
 * that window means "stop now" and exits at once. A graceful stop that does not finish within
 * {@link StopSignalOptions.deadlineMs} exits anyway, so the ports are freed.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

/** The part of `process` the stop path uses (replaceable in tests). */
export interface StopProcess {
  on(event: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): void;
}

/** Where the stop path logs. */
export type StopLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface StopSignalOptions {
  /** Graceful stop: resolves once everything is flushed and closed. */
  readonly stop: () => Promise<void>;
  readonly logger: StopLogger;
  /** Longest wait for the graceful stop before exiting anyway, ms. @default 20000 */
  readonly deadlineMs?: number;
  /** Further signals within this many ms of the first are the same stop request. @default 2000 */
  readonly repeatWindowMs?: number;
  /** @default process */
  readonly process?: StopProcess;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Default longest wait for a graceful stop, ms (below the 30 s ECS gives a task before SIGKILL). */
export const STOP_DEADLINE_MS = 20_000;
/** Default window in which repeated signals are one stop request, ms. */
export const SIGNAL_REPEAT_WINDOW_MS = 2_000;

/** Log message (INFO) once the graceful stop has finished, just before the process exits. */
export const STOPPED_LOG_MESSAGE = 'stopped';

/** The stop request of a running service: the first call starts the graceful stop, later ones join it. */
export interface StopRequest {
  /**
   * Starts (or joins) the graceful stop; `reason` is logged (a signal name, `parent-exit`).
   * `exitCode` is the status after a graceful stop that completes (1 for a stop caused by a
   * defect). @default 0
   */
  request(reason: string, exitCode?: number): void;
}

/** Wires SIGTERM and SIGINT to one graceful stop with a deadline; returns the stop request for other triggers. */
export function handleStopSignals(options: StopSignalOptions): StopRequest {
  const proc = options.process ?? process;
  const now = options.now ?? Date.now;
  const deadlineMs = options.deadlineMs ?? STOP_DEADLINE_MS;
  const repeatWindowMs = options.repeatWindowMs ?? SIGNAL_REPEAT_WINDOW_MS;
  const { logger } = options;
  let firstAt: number | undefined;
  let successCode = 0;

  const request = (reason: string, exitCode = 0): void => {
    successCode = Math.max(successCode, exitCode);
    if (firstAt !== undefined) {
      const since = now() - firstAt;
      if (since <= repeatWindowMs || !isSignal(reason)) {
        logger.info('already stopping', { reason, sinceMs: since });
        return;
      }
      logger.warn('stop requested again: exiting without waiting', { reason, sinceMs: since });
      proc.exit(1);
      return;
    }
    firstAt = now();
    logger.info('shutting down', { reason, deadlineMs });
    const deadline = setTimeout(() => {
      logger.error('graceful stop did not finish in time: exiting', { deadlineMs });
      proc.exit(1);
    }, deadlineMs);
    deadline.unref();
    options.stop().then(
      () => {
        clearTimeout(deadline);
        logger.info(STOPPED_LOG_MESSAGE);
        proc.exit(successCode);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        logger.error('shutdown failed', { error: (err as Error)?.message ?? String(err) });
        proc.exit(1);
      },
    );
  };
  proc.on('SIGTERM', () => request('SIGTERM'));
  proc.on('SIGINT', () => request('SIGINT'));
  return { request };
}

function isSignal(reason: string): boolean {
  return reason.startsWith('SIG');
}
