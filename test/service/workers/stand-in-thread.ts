/**
 * A data-plane worker thread stand-in for the worker pool's tests (no Node.js 22 needed): records
 * what the main thread posts, says what the test makes it say, and ends like a real Worker (after
 * `exit` it answers nothing and emits `exit` no more).
 */
import { EventEmitter } from 'node:events';
import type { EgressDatagram } from '../../../service/contracts';
import { forEachSend } from '../../../service/workers/send-batch';
import type { DataPlaneWorkerData, MainToWorker, WorkerToMain } from '../../../service/workers/worker-messages';

/** A send the main thread posted, as the worker reads it. */
export interface PostedSend extends EgressDatagram {
  readonly id: number;
  readonly listener: string;
}

export class StandInThread extends EventEmitter {
  readonly received: MainToWorker[] = [];
  private exited = false;

  /** `ready`: says `ready` on the next turn (false: the test says it). */
  constructor(readonly data: DataPlaneWorkerData, ready = true) {
    super();
    if (ready) setImmediate(() => this.say({ kind: 'ready' }));
  }

  postMessage(message: MainToWorker): void {
    this.received.push(message);
    if (message.kind === 'stop' && !this.exited) setImmediate(() => this.say({ kind: 'stopped' }));
  }

  say(message: WorkerToMain): void {
    this.emit('message', message);
  }

  /** Whether the thread has ended. */
  get hasExited(): boolean {
    return this.exited;
  }

  /** The thread ends with `code` (once). */
  exit(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.emit('exit', code);
  }

  terminate(): Promise<number> {
    if (!this.exited) setImmediate(() => this.exit(1));
    return Promise.resolve(1);
  }

  /**
   * The send requests posted to this thread so far, in order, once the pool has posted the batches
   * of the current turn (it posts them at the turn's end).
   */
  async sends(): Promise<PostedSend[]> {
    await new Promise((resolve) => setImmediate(resolve));
    const sends: PostedSend[] = [];
    for (const m of this.received) {
      if (m.kind === 'send') forEachSend(m, (id, listener, datagram) => sends.push({ id, listener, ...datagram }));
    }
    return sends;
  }

  /** Says that the send `id` was sent, or failed with `code` and `reason`. */
  sent(id: number, code?: string, reason?: string): void {
    if (code === undefined) this.outcomes([id]);
    else this.outcomes([], [{ id, code, reason }]);
  }

  /** Says, in one message, that the sends `sent` were sent and those of `failures` failed. */
  outcomes(sent: readonly number[], failures: ReadonlyArray<{ id: number; code: string; reason?: string }> = []): void {
    this.say({ kind: 'sent', sent: Float64Array.from(sent), failures });
  }
}
