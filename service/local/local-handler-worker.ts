/**
 * A worker thread that runs one local handler with the Lambda contract over messages: the
 * gateway posts `{id, event, requestId, deadline}` with the event as its JSON text (a string
 * crosses threads far cheaper than an object graph, and the worker parses it, off the Listeners'
 * thread), the worker answers `{id, text | error | serializeError}`. The context fields that do
 * not change between invocations cross once, when the worker starts.
 * A handler that blocks its event loop blocks only its worker: every Listener, the health server
 * and the other handlers keep running, and an invocation past its timeout ends the worker (a new
 * one starts for the next batch).
 *
 * The worker's code is a self-contained script (evaluated, not a file), so it works the same
 * from the TypeScript sources and from the bundled service.
 */
import { Worker } from 'node:worker_threads';

/** The Lambda context fields that cross to the worker (functions are rebuilt there). */
export interface WorkerContextFields {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
}

/** The context fields that are the same for every invocation of a handler. */
export type FixedContextFields = Omit<WorkerContextFields, 'awsRequestId'>;

/** What one invocation gave: the JSON text of the return value (undefined: none), or why not. */
export type WorkerOutcome =
  | { readonly kind: 'returned'; readonly text: string | undefined }
  | { readonly kind: 'failed'; readonly error: string }
  | { readonly kind: 'notSerializable'; readonly error: string };

interface WorkerReply {
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
  readonly serializeError?: string;
}

interface Pending {
  readonly resolve: (outcome: WorkerOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
const load = async () => {
  let exports;
  if (workerData.esm) exports = await import(pathToFileURL(workerData.file).href);
  else exports = require(workerData.file);
  const fn = exports[workerData.exportName] ?? (exports.default ? exports.default[workerData.exportName] : undefined);
  if (typeof fn !== 'function') throw new Error('no function export ' + JSON.stringify(workerData.exportName));
  return fn;
};
const handlerPromise = load();
handlerPromise.catch(() => undefined);
const describe = (err) => {
  if (err instanceof Error) return err.name + ': ' + err.message;
  if (typeof err === 'string') return err;
  try { const t = JSON.stringify(err); return t === undefined ? String(err) : t; } catch { return String(err); }
};
parentPort.on('message', async ({ id, event: eventText, requestId, deadline }) => {
  let settled = false;
  const finish = (err, value) => {
    if (settled) return;
    settled = true;
    if (err !== undefined && err !== null) return parentPort.postMessage({ id, error: describe(err) });
    let text;
    try { text = JSON.stringify(value); } catch (e) { return parentPort.postMessage({ id, serializeError: describe(e) }); }
    parentPort.postMessage({ id, text });
  };
  try {
    const handler = await handlerPromise;
    const event = JSON.parse(eventText);
    const ctx = Object.assign({}, workerData.context, {
      awsRequestId: requestId,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined, fail: () => undefined, succeed: () => undefined,
    });
    const returned = handler(event, ctx, (err, value) => finish(err, value));
    if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') {
      returned.then((value) => finish(undefined, value), (err) => finish(err ?? new Error('rejected')));
    } else if (handler.length < 3) finish(undefined, returned);
  } catch (err) {
    finish(err ?? new Error('threw'));
  }
});
`;

/** Runs one handler export in its own worker thread, restarted after a timeout or a crash. */
export class LocalHandlerWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  public constructor(
    private readonly file: string,
    private readonly exportName: string,
    private readonly esm: boolean,
    private readonly context: FixedContextFields,
  ) {}

  /**
   * Invokes the handler with the event whose JSON text is `eventJson` (parsed in the worker) and
   * the context's `awsRequestId`; settles by `timeoutMs` at the latest (never rejects).
   */
  public invoke(eventJson: string, requestId: string, timeoutMs: number): Promise<WorkerOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'failed', error: 'Error: the destination is closed' });
    const worker = this.running();
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ kind: 'failed', error: `Error: did not finish within ${timeoutMs / 1000} s` });
        // A handler past its time may be blocking its thread: end it; the next batch gets a new one.
        this.restart(`Error: another invocation of the handler timed out after ${timeoutMs / 1000} s`);
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
      worker.postMessage({ id, event: eventJson, requestId, deadline: Date.now() + timeoutMs });
    });
  }

  public async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll('Error: the destination is closed');
    if (worker) await worker.terminate();
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    const workerData = { file: this.file, exportName: this.exportName, esm: this.esm, context: this.context };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (err) => {
      if (this.worker === worker) this.restart(`${err.name}: ${err.message} (uncaught in the handler's thread)`);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.failAll(`Error: the handler's thread exited with code ${code}`);
      }
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    clearTimeout(pending.timer);
    if (reply.error !== undefined) pending.resolve({ kind: 'failed', error: reply.error });
    else if (reply.serializeError !== undefined) pending.resolve({ kind: 'notSerializable', error: reply.serializeError });
    else pending.resolve({ kind: 'returned', text: reply.text });
  }

  private restart(reason: string): void {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(reason);
    if (worker) void worker.terminate();
  }

  private failAll(reason: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.resolve({ kind: 'failed', error: reason });
    }
  }
}
