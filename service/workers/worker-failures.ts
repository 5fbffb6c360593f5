/**
 * The failures of data-plane worker threads, on the main thread: the worker pool reports each
 * failed worker once, and whoever stops the task (main.ts) registers for them once it can. A
 * failure reported before the registration (the stop request exists only after the service has
 * started) is held and handed over at registration, so none is lost.
 */

/** What a worker thread's failure does: `worker` is its index (1..N-1), `reason` what happened. */
export type WorkerFailureHandler = (worker: number, reason: string) => void;

/** What a running service offers for its workers' failures. */
export interface WorkerFailureSource {
  /** Registers what a worker's failure does; failures reported before are handed to it at once. */
  onWorkerFailed(handler: WorkerFailureHandler): void;
}

export class WorkerFailures implements WorkerFailureSource {
  /** Failures reported before a handler was registered (at most one per worker). */
  private readonly earlier: Array<{ readonly worker: number; readonly reason: string }> = [];
  private handler: WorkerFailureHandler | undefined;

  /** A worker thread failed: the handler hears of it now, or at its registration. */
  public report(worker: number, reason: string): void {
    if (this.handler) this.handler(worker, reason);
    else this.earlier.push({ worker, reason });
  }

  public onWorkerFailed(handler: WorkerFailureHandler): void {
    this.handler = handler;
    for (const failure of this.earlier.splice(0)) handler(failure.worker, failure.reason);
  }
}
