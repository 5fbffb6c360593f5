/**
 * Turns an exception nothing caught (`uncaughtException`) and a rejection nothing handled
 * (`unhandledRejection`) into a log record with context and one graceful stop with the stop
 * deadline, instead of the process dying mid-batch. Every packet path catches its own errors;
 * this is the last line for a defect, so the task drains (queued batches delivered, in-progress
 * messages finished or left for redelivery) and exits non-zero for its scheduler to replace it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { StopRequest } from './stop-signals';

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
export function processErrorLogMessage(kind: 'uncaughtException' | 'unhandledRejection'): string {
  return `${kind}: draining and stopping`;
}

/** Longest error text logged (a message may carry whatever a peer sent). */
const MAX_ERROR_CHARS = 2_000;

/** Logs uncaught exceptions and unhandled rejections, and stops the service gracefully once. */
export function handleProcessErrors(options: ProcessErrorOptions): void {
  const proc = options.process ?? process;
  const fail = (kind: 'uncaughtException' | 'unhandledRejection', err: unknown, origin?: string): void => {
    try {
      options.logger.error(processErrorLogMessage(kind), { kind, ...(origin ? { origin } : {}), ...describeError(err) });
    } catch {
      // the logger itself failed; stopping still matters more
    }
    options.stop.request(kind, 1);
  };
  proc.on('uncaughtException', (err, origin) => fail('uncaughtException', err, origin));
  proc.on('unhandledRejection', (reason) => fail('unhandledRejection', reason));
}

function describeError(err: unknown): Record<string, string> {
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
