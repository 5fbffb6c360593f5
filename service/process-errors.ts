/**
 * Turns an exception nothing caught (`uncaughtException`) and a rejection nothing handled
 * (`unhandledRejection`) into a log record with context and one graceful stop with the stop
 * deadline, instead of the process dying mid-batch. Every packet path catches its own errors;
 * this is the last line for a defect, so the task drains (queued batches delivered, in-progress
 * messages finished or left for redelivery) and exits non-zero for its scheduler to replace it.
 * A data-plane worker thread's failure (an escape in the thread, or the thread's end) does the
 * same for the whole task.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { StopRequest } from './stop-signals';
import type { WorkerFailureSource } from './workers/worker-failures';

/** The part of `process` this module uses (replaceable in tests). */
export interface ErrorProcess {
  on(event: 'uncaughtException', listener: (err: unknown, origin?: string) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

export interface ProcessErrorOptions {
  readonly logger: Pick<Logger, 'error'>;
  /** The service's stop request (stop-signals.ts): one graceful stop with a deadline. */
  readonly stop: StopRequest;
  /** @default process */
  readonly process?: ErrorProcess;
}

/** Log message (ERROR) of an uncaught exception or unhandled rejection (`kind`), which stops the service. */
export function processErrorLogMessage(kind: ProcessErrorKind): string {
  return `${kind}: draining and stopping`;
}

/** Longest error text logged (a message may carry whatever a peer sent). */
const MAX_ERROR_CHARS = 2_000;

/** Where an exception or rejection escaped. */
export type ProcessErrorKind = 'uncaughtException' | 'unhandledRejection';

/** Logs uncaught exceptions and unhandled rejections, and stops the service gracefully once. */
export function handleProcessErrors(options: ProcessErrorOptions): void {
  logProcessErrors(options.logger, options.process ?? process, (kind) => options.stop.request(kind, 1));
}

/** Log message (ERROR) of a data-plane worker thread's failure, which stops the service. */
export const WORKER_FAILED_LOG_MESSAGE = 'data-plane worker failed: draining and stopping';

export interface WorkerFailureOptions {
  readonly logger: Pick<Logger, 'error'>;
  /** The service's stop request (stop-signals.ts). */
  readonly stop: StopRequest;
  /** The running service's worker failures (runtime.ts). */
  readonly workers: WorkerFailureSource;
}

/**
 * A data-plane worker thread that fails stops the service as an escape on the main thread does:
 * ERROR {@link WORKER_FAILED_LOG_MESSAGE} naming the worker and why, one graceful stop (which
 * drains every worker, the failed one too while it runs), exit 1.
 */
export function handleWorkerFailures(options: WorkerFailureOptions): void {
  options.workers.onWorkerFailed((worker, reason) => {
    try {
      options.logger.error(WORKER_FAILED_LOG_MESSAGE, { worker, reason });
    } catch {
      // the logger itself failed; stopping still matters more
    }
    options.stop.request(`data-plane worker ${worker} failed`, 1);
  });
}

/**
 * Logs each uncaught exception and unhandled rejection of `proc` with context (ERROR,
 * {@link processErrorLogMessage}), then calls `escaped` with its kind and bounded description:
 * the last line of the main thread (above) and of each data-plane worker thread.
 */
export function logProcessErrors(
  logger: Pick<Logger, 'error'>, proc: ErrorProcess, escaped: (kind: ProcessErrorKind, error: DescribedError) => void,
): void {
  const fail = (kind: ProcessErrorKind, err: unknown, origin?: string): void => {
    const described = describeError(err);
    try {
      logger.error(processErrorLogMessage(kind), { kind, ...(origin ? { origin } : {}), ...described });
    } catch {
      // the logger itself failed; stopping still matters more
    }
    escaped(kind, described);
  };
  proc.on('uncaughtException', (err, origin) => fail('uncaughtException', err, origin));
  proc.on('unhandledRejection', (reason) => fail('unhandledRejection', reason));
}

/** An error as logged: `Name: message` and the stack, each at most {@link MAX_ERROR_CHARS} characters. */
export interface DescribedError {
  readonly error: string;
  readonly stack?: string;
}

/** Describes a thrown value for a log record, bounded (a message may carry whatever a peer sent); never throws. */
export function describeError(err: unknown): DescribedError {
  try {
    if (err instanceof Error) {
      return { error: truncate(`${err.name}: ${err.message}`), stack: truncate(err.stack ?? '') };
    }
    return { error: truncate(typeof err === 'string' ? err : `a thrown ${err === null ? 'null' : typeof err}`) };
  } catch {
    return { error: 'an error that could not be described' };
  }
}

function truncate(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}
