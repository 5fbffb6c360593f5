/**
 * The last line for a defect in a data-plane worker thread: an exception nothing caught or a
 * rejection nothing handled there is logged with context (as on the main thread:
 * process-errors.ts; the thread's logger adds its `worker` key) and reported to the main thread
 * once (`failed`), which stops the whole task through its graceful stop, exit 1. The thread does
 * not die meanwhile: it runs until that stop drains it, so what it has queued is delivered.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { WorkerFailed } from './worker-messages';
import { ErrorProcess, logProcessErrors } from '../process-errors';

export interface WorkerThreadErrorOptions {
  /** The thread's logger. */
  readonly logger: Pick<Logger, 'error'>;
  /** Tells the main thread (posts on the thread's port). */
  readonly report: (failure: WorkerFailed) => void;
  /** The thread's `process` (a worker thread's own event target for these events). @default process */
  readonly process?: ErrorProcess;
}

/** Logs every escaped exception and rejection of this thread, and reports the first to the main thread. */
export function reportWorkerThreadErrors(options: WorkerThreadErrorOptions): void {
  let reported = false;
  logProcessErrors(options.logger, options.process ?? process, (origin, described) => {
    if (reported) return;
    reported = true;
    try {
      options.report({ kind: 'failed', origin, error: described.error });
    } catch {
      // the port is closed: the main thread is stopping this worker already
    }
  });
}
