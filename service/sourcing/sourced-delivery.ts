/**
 * The sends of one published message: hands each valid entry's datagram to the Listener, counts
 * completions, and calls back once (or resolves a single promise) when every entry has been sent
 * or reported. Entries still unsent after the send timeout fail with SendFailed. Every failure
 * goes, once per entry, to the callback the delivery was given.
 *
 * Per entry it keeps one slot: the datagram handed to the Listener until the entry is settled (sent
 * or reported), then a marker; each send gets one small completion closure, honoured once. The
 * send timeout is a deadline in a {@link SendDeadlines} list, shared by the deliveries of one
 * processor (one timer for all).
 */
import { formatEndpoint } from '../../lib/private/network';
import type { EgressDatagram, Failure, ListenerHandle, SendCallback } from '../contracts';
import { DeadlineWaiter, SendDeadline, SendDeadlines } from './send-deadlines';

/** Outcome of one notification: datagrams sent, and entries that failed (each reported once). */
export interface SourcedResult {
  sent: number;
  failed: number;
  /**
   * Failed entries whose dead-letter record was not accepted by the queue (after retries): the
   * message must stay in the delivery queue for redelivery. Absent when every record was accepted.
   */
  unrecorded?: number;
}

/** Receives the failure of entry `index`, with the remote it concerns when known. */
export type EntryFailureCallback = (index: number, remote: string | undefined, failure: Failure) => void;

/** Which entry of which message a routed datagram is. */
export interface RoutedEntry {
  readonly messageId: string;
  readonly index: number;
  /** Epoch ms at which the entry's TtlSeconds elapses; 0 without TtlSeconds. */
  readonly deadline: number;
  /**
   * The SNS notification the entry came in, when it may be forwarded to the region that owns the
   * client's flow (no `EgressRegion`, not forwarded before).
   */
  readonly notification?: object;
}

/**
 * Decides where an entry's datagram leaves from: in a fleet, the member that owns the client's
 * flow (service/fleet/fleet.ts). `done` is called once, like {@link ListenerHandle.send}'s.
 */
export interface EntryRouter {
  send(listener: ListenerHandle, datagram: EgressDatagram, entry: RoutedEntry, done: SendCallback): void;
}

/** What a {@link SourcedDelivery} reports to. */
export interface SourcedDeliveryOptions {
  /** Entries of the message. */
  readonly entryCount: number;
  /**
   * The deadline list the send timeout waits in (shared by the deliveries of one processor): sends
   * not completed within its `timeoutMs` fail with SendFailed.
   */
  readonly deadlines: SendDeadlines;
  /** One call per entry that is not sent. */
  readonly entryFailed: EntryFailureCallback;
  /** Called once, with the outcome, when every entry has been sent or reported. */
  readonly finished?: (result: SourcedResult) => void;
  /** Sends each entry from its flow's owner. @default - every entry leaves from this member's Listener */
  readonly router?: EntryRouter;
  /** The message's id, for the router. @default '' */
  readonly messageId?: string;
  /** The notification, for a router that may forward entries to another region. @default - entries are not forwarded */
  readonly notification?: object;
}

/** An entry sent or reported. */
const SETTLED = 1;

export class SourcedDelivery implements DeadlineWaiter {
  private sent = 0;
  private failed = 0;
  private pending = 0;
  private looping = true;
  private resolve?: (r: SourcedResult) => void;
  private deadline?: SendDeadline;
  /** Per entry: undefined before anything happened to it, its datagram while its send is pending, then {@link SETTLED}. */
  private readonly entries: Array<EgressDatagram | typeof SETTLED | undefined>;

  constructor(private readonly options: SourcedDeliveryOptions) {
    this.entries = new Array<EgressDatagram | typeof SETTLED | undefined>(options.entryCount);
  }

  /** Entry `index` is not sent: reported once. */
  fail(index: number, remote: string | undefined, failure: Failure): void {
    this.entries[index] = SETTLED;
    this.failed++;
    try {
      this.options.entryFailed(index, remote, { code: failure.code, reason: failure.reason });
    } catch {
      // Reporting one entry must not stop the others, nor escape a socket or timer callback.
    }
  }

  /**
   * Hands entry `index` to `listener` (through the router, when there is one; `deadline` is the
   * entry's TtlSeconds end in epoch ms, 0 for none); a Listener that throws fails the entry with
   * SendFailed.
   */
  send(listener: ListenerHandle, index: number, datagram: EgressDatagram, deadline = 0): void {
    this.pending++;
    this.entries[index] = datagram;
    const done = (failure: Failure | undefined): void => this.completed(index, failure);
    try {
      const router = this.options.router;
      if (router) router.send(listener, datagram, { messageId: this.options.messageId ?? '', index, deadline, notification: this.options.notification }, done);
      else listener.send(datagram, done);
    } catch (err) {
      done({ code: 'SendFailed', reason: `Listener '${listener.name}' could not send: ${(err as Error)?.message ?? typeof err}` });
    }
  }

  /** Called after the last entry was handed over; resolves when every send has completed. */
  finish(): Promise<SourcedResult> {
    return new Promise((resolve) => this.finishThen(resolve));
  }

  /**
   * Called after the last entry was handed over, like {@link finish}, without a promise: `done`
   * is called once, when every send has completed (at once when none is pending).
   */
  finishThen(done: (result: SourcedResult) => void): void {
    this.looping = false;
    if (this.pending === 0) {
      const result = { sent: this.sent, failed: this.failed };
      this.notifyFinished(result);
      deliverResult(done, result);
      return;
    }
    this.resolve = done;
    this.deadline = this.options.deadlines.start(this);
  }

  /** The send timeout passed: every send still pending fails with SendFailed (called by the deadline list). */
  deadlinePassed(): void {
    this.deadline = undefined;
    const reason = `send did not complete within ${this.options.deadlines.timeoutMs} ms`;
    for (let i = 0; i < this.options.entryCount && this.pending > 0; i++) {
      const entry = this.entries[i];
      if (entry !== undefined && entry !== SETTLED) this.completed(i, { code: 'SendFailed', reason });
    }
  }

  /** The Listener's completion of entry `index`; later calls for the same entry are ignored. */
  private completed(index: number, failure: Failure | undefined): void {
    const datagram = this.entries[index];
    if (datagram === SETTLED || datagram === undefined) return;
    this.pending--;
    if (failure) {
      this.fail(index, failure.target ?? formatEndpoint(datagram.address, datagram.port), failure);
    } else {
      this.entries[index] = SETTLED;
      this.sent++;
    }
    if (this.pending === 0 && !this.looping) this.settle();
  }

  private notifyFinished(result: SourcedResult): void {
    try {
      this.options.finished?.(result);
    } catch {
      // a counting callback must not keep the outcome from its caller
    }
  }

  private settle(): void {
    if (this.deadline) this.options.deadlines.cancel(this.deadline);
    this.deadline = undefined;
    const result = { sent: this.sent, failed: this.failed };
    this.notifyFinished(result);
    if (this.resolve) deliverResult(this.resolve, result);
  }
}

/** Hands the outcome to its receiver; a receiver that throws must not escape a socket or timer callback. */
export function deliverResult(done: (result: SourcedResult) => void, result: SourcedResult): void {
  try {
    done(result);
  } catch {
    // the receiver's own problem
  }
}
