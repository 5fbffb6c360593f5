/**
 * A worker thread that runs one local handler with the Lambda contract over messages. The
 * gateway's side queues each invocation and posts every invocation queued in one event-loop turn
 * as one message, a flat array of `id, requestId, deadline, event` per invocation, with the event
 * as its JSON text (a string crosses threads far cheaper than an object graph, and the worker
 * parses it, off the Listeners' thread). The worker answers the same way: every outcome settled in
 * one of its turns crosses back in one message, a flat array of `id, kind, text` per invocation.
 * One message per turn instead of one per invocation saves a wake-up of the other thread per
 * invocation, which dominates the cost of a small batch. The context fields that do not change
 * between invocations cross once, when the worker starts.
 * A handler that blocks its event loop blocks only its worker: every Listener, the health server
 * and the other handlers keep running, and an invocation past its timeout ends the worker (a new
 * one starts for the next batch). One timer per worker, armed for the earliest deadline, watches
 * every invocation in progress.
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

/** Values of an answer's `kind` slot (the worker's script uses the same numbers). */
const enum AnswerKind {
  Returned = 0,
  Failed = 1,
  NotSerializable = 2,
}

/** Slots per invocation in a message to the worker (`id, requestId, deadline, event`). */
const INVOCATION_SLOTS = 4;
/** Slots per outcome in a message from the worker (`id, kind, text`). */
const ANSWER_SLOTS = 3;

interface Pending {
  readonly resolve: (outcome: WorkerOutcome) => void;
  /** `Date.now()` by which the invocation must have settled. */
  readonly deadline: number;
  readonly timeoutMs: number;
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
let loaded;
handlerPromise.then((fn) => { loaded = fn; }, () => undefined);
const describe = (err) => {
  if (err instanceof Error) return err.name + ': ' + err.message;
  if (typeof err === 'string') return err;
  try { const t = JSON.stringify(err); return t === undefined ? String(err) : t; } catch { return String(err); }
};
// Outcomes settled in this turn, posted together when the turn ends: id, kind (0 returned, 1 failed, 2 not serializable), text.
let answers = [];
let flushing = false;
const flush = () => {
  flushing = false;
  const out = answers;
  answers = [];
  parentPort.postMessage(out);
};
const answer = (id, kind, text) => {
  answers.push(id, kind, text);
  if (!flushing) { flushing = true; setImmediate(flush); }
};
const noop = () => undefined;
const fixed = workerData.context;
const invoke = (handler, id, eventText, requestId, deadline) => {
  let settled = false;
  const finish = (err, value) => {
    if (settled) return;
    settled = true;
    if (err !== undefined && err !== null) return answer(id, 1, describe(err));
    let text;
    try { text = JSON.stringify(value); } catch (e) { return answer(id, 2, describe(e)); }
    answer(id, 0, text);
  };
  try {
    const event = JSON.parse(eventText);
    // Object.assign, not an object spread: spreading the fields received from the gateway measured
    // several times slower per invocation.
    const ctx = Object.assign({}, fixed, {
      awsRequestId: requestId,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: noop, fail: noop, succeed: noop,
    });
    const returned = handler(event, ctx, finish);
    if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') {
      returned.then((value) => finish(undefined, value), (err) => finish(err ?? new Error('rejected')));
    } else if (handler.length < 3) finish(undefined, returned);
  } catch (err) {
    finish(err ?? new Error('threw'));
  }
};
const invokeWhenLoaded = async (id, eventText, requestId, deadline) => {
  let handler;
  try { handler = await handlerPromise; } catch (err) { return answer(id, 1, describe(err ?? new Error('threw'))); }
  invoke(handler, id, eventText, requestId, deadline);
};
// Invocations: id, requestId, deadline, event text.
parentPort.on('message', (invocations) => {
  for (let i = 0; i < invocations.length; i += ${INVOCATION_SLOTS}) {
    if (loaded !== undefined) invoke(loaded, invocations[i], invocations[i + 3], invocations[i + 1], invocations[i + 2]);
    else void invokeWhenLoaded(invocations[i], invocations[i + 3], invocations[i + 1], invocations[i + 2]);
  }
});
`;

/** Runs one handler export in its own worker thread, restarted after a timeout or a crash. */
export class LocalHandlerWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  /** Invocations not yet posted to the worker, {@link INVOCATION_SLOTS} slots each. */
  private outbox: unknown[] = [];
  private flushScheduled = false;
  private readonly flushOutbox: () => void;
  /** The deadline timer, armed for the earliest deadline of an invocation in progress. */
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineTimerAt = Infinity;
  private readonly sweepDeadlines: () => void;
  private nextId = 1;
  private closed = false;

  public constructor(
    private readonly file: string,
    private readonly exportName: string,
    private readonly esm: boolean,
    private readonly context: FixedContextFields,
  ) {
    this.flushOutbox = () => this.flush();
    this.sweepDeadlines = () => this.sweep();
  }

  /**
   * Invokes the handler with the event whose JSON text is `eventJson` (parsed in the worker) and
   * the context's `awsRequestId`; settles by `timeoutMs` at the latest (never rejects). The
   * invocation crosses to the worker when this event-loop turn ends, with every other invocation
   * of the turn.
   */
  public invoke(eventJson: string, requestId: string, timeoutMs: number): Promise<WorkerOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'failed', error: 'Error: the destination is closed' });
    this.running();
    const id = this.nextId++;
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      if (this.pending.size === 0) this.deadlineTimer?.ref();
      this.pending.set(id, { resolve, deadline, timeoutMs });
      this.outbox.push(id, requestId, deadline, eventJson);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushOutbox);
      }
      if (deadline < this.deadlineTimerAt) this.armDeadlineTimer(deadline);
    });
  }

  public async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll('Error: the destination is closed');
    this.disarmDeadlineTimer();
    if (worker) await worker.terminate();
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    const workerData = { file: this.file, exportName: this.exportName, esm: this.esm, context: this.context };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    worker.unref();
    worker.on('message', (answers: unknown[]) => this.settle(answers));
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

  /** Posts the invocations queued in this turn as one message. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0 || !this.worker) return;
    const invocations = this.outbox;
    this.outbox = [];
    this.worker.postMessage(invocations);
  }

  private settle(answers: unknown[]): void {
    for (let i = 0; i < answers.length; i += ANSWER_SLOTS) {
      const id = answers[i] as number;
      const pending = this.pending.get(id);
      if (!pending) continue;
      this.pending.delete(id);
      const kind = answers[i + 1] as AnswerKind;
      const text = answers[i + 2] as string | undefined;
      if (kind === AnswerKind.Failed) pending.resolve({ kind: 'failed', error: text ?? '' });
      else if (kind === AnswerKind.NotSerializable) pending.resolve({ kind: 'notSerializable', error: text ?? '' });
      else pending.resolve({ kind: 'returned', text });
    }
    // Nothing in progress: the armed timer no longer keeps the process alive.
    if (this.pending.size === 0) this.deadlineTimer?.unref();
  }

  private armDeadlineTimer(deadline: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimerAt = deadline;
    this.deadlineTimer = setTimeout(this.sweepDeadlines, Math.max(1, deadline - Date.now()));
  }

  private disarmDeadlineTimer(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = Infinity;
  }

  /** Fails every invocation past its deadline (and then ends the worker), re-arms for the next. */
  private sweep(): void {
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = Infinity;
    const now = Date.now();
    let timedOutMs: number | undefined;
    let next = Infinity;
    for (const [id, pending] of this.pending) {
      if (pending.deadline <= now) {
        this.pending.delete(id);
        timedOutMs ??= pending.timeoutMs;
        pending.resolve({ kind: 'failed', error: `Error: did not finish within ${pending.timeoutMs / 1000} s` });
      } else if (pending.deadline < next) {
        next = pending.deadline;
      }
    }
    if (timedOutMs !== undefined) {
      // A handler past its time may be blocking its thread: end it; the next batch gets a new one.
      this.restart(`Error: another invocation of the handler timed out after ${timedOutMs / 1000} s`);
    } else if (next !== Infinity) {
      this.armDeadlineTimer(next);
    }
  }

  private restart(reason: string): void {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(reason);
    if (worker) void worker.terminate();
  }

  /** Fails every invocation in progress or not yet posted (they belong to the worker that ends). */
  private failAll(reason: string): void {
    this.outbox = [];
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.resolve({ kind: 'failed', error: reason });
    if (this.deadlineTimer) this.deadlineTimer.unref();
  }
}
