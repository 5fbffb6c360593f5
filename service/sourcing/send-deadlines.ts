/**
 * The send timeouts of the deliveries in progress (sourced-delivery.ts), under one timer: each
 * delivery still waiting for its sends gets a deadline one timeout after it started waiting, in
 * a list ordered by deadline (service/due-list.ts); the timer is armed for the earliest and calls
 * each waiter whose deadline has passed. Every deadline is the same timeout after its start, so a
 * new one joins at the tail in O(1) and nothing is armed per delivery while the timer is set; a
 * delivery that completes cancels its deadline, which unlinks it at once, so a finished delivery
 * (and its datagrams) is never kept until the deadline it no longer needs. Time is monotonic
 * (`performance.now`, read once per job: the deliveries handled together start together),
 * unaffected by changes of the wall clock.
 */
import { DueEntry, DueList } from '../due-list';
import { monotonicClockOfJob } from '../job-clock';

/** What waits for a deadline: told once when it passes, unless cancelled first. */
export interface DeadlineWaiter {
  /** The deadline passed with the sends still pending. */
  deadlinePassed(): void;
}

/** A waiter's place in the list, as {@link SendDeadlines.start} returns it. */
export interface SendDeadline {
  readonly waiter: DeadlineWaiter;
}

/** One listed deadline; its `dueAt` is the monotonic ms at which it passes. */
interface Listed extends SendDeadline, DueEntry {}

/** Deadlines of `timeoutMs` after their start, under one timer. */
export class SendDeadlines {
  private readonly now: () => number;
  private readonly deadlines: DueList<Listed>;

  /** Throws when `timeoutMs` is not a positive number of milliseconds. */
  constructor(public readonly timeoutMs: number, now?: () => number) {
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new Error(`send timeout ${timeoutMs} ms is not a timeout (allowed: a positive number of milliseconds)`);
    this.now = now ?? (() => monotonicClockOfJob.now());
    this.deadlines = new DueList((at) => this.passed(at), this.now);
  }

  /** Deadlines waiting now. */
  get waiting(): number {
    return this.deadlines.length;
  }

  /** Tells `waiter` when {@link timeoutMs} from now has passed, unless {@link cancel} is called first. */
  start(waiter: DeadlineWaiter): SendDeadline {
    // deadlines start in time order: each joins at the tail unless the clock answered out of order
    const deadline: Listed = { dueAt: this.now() + this.timeoutMs, listed: false, previousDue: undefined, nextDue: undefined, waiter };
    this.deadlines.insert(deadline);
    return deadline;
  }

  /** The waiter no longer waits (its sends completed); cancelling again, or after the deadline passed, does nothing. */
  cancel(handle: SendDeadline): void {
    this.deadlines.remove(handle as Listed);
  }

  /** The timer, at `now`: every deadline that has passed is told (the list arms the timer for the next one). */
  private passed(now: number): void {
    for (let deadline = this.deadlines.takeDue(now); deadline; deadline = this.deadlines.takeDue(now)) {
      try {
        deadline.waiter.deadlinePassed();
      } catch {
        // one waiter's failure must not keep the others waiting
      }
    }
  }
}
