/**
 * The send timeouts of the deliveries in progress (sourced-delivery.ts), under one timer: each
 * delivery still waiting for its sends gets a deadline one timeout after it started waiting, in
 * a list ordered by deadline; the timer is armed for the earliest and calls each waiter whose
 * deadline has passed. Every deadline is the same timeout after its start, so a new one joins
 * at the tail in O(1) and nothing is armed per delivery while the timer is set; a delivery that
 * completes cancels its deadline, which unlinks it at once, so a finished delivery (and its
 * datagrams) is never kept until the deadline it no longer needs. Time is monotonic
 * (`performance.now`, read once per job: the deliveries handled together start together),
 * unaffected by changes of the wall clock.
 */
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

/** One listed deadline. */
interface Listed extends SendDeadline {
  /** Monotonic ms at which it passes. */
  readonly at: number;
  listed: boolean;
  prev?: Listed;
  next?: Listed;
}

/** Deadlines of `timeoutMs` after their start, under one timer. */
export class SendDeadlines {
  private head?: Listed;
  private tail?: Listed;
  private timer?: NodeJS.Timeout;
  private timerAt = 0;
  private count = 0;
  private readonly now: () => number;

  /** Throws when `timeoutMs` is not a positive number of milliseconds. */
  constructor(public readonly timeoutMs: number, now?: () => number) {
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new Error(`send timeout ${timeoutMs} ms is not a timeout (allowed: a positive number of milliseconds)`);
    this.now = now ?? (() => monotonicClockOfJob.now());
  }

  /** Deadlines waiting now. */
  get waiting(): number {
    return this.count;
  }

  /** Tells `waiter` when {@link timeoutMs} from now has passed, unless {@link cancel} is called first. */
  start(waiter: DeadlineWaiter): SendDeadline {
    const at = this.now() + this.timeoutMs;
    const deadline: Listed = { waiter, at, listed: true, prev: undefined, next: undefined };
    this.count++;
    let before = this.tail;
    // deadlines start in time order: the walk ends at once unless the clock answered out of order
    while (before && before.at > at) before = before.prev;
    const after = before ? before.next : this.head;
    deadline.prev = before;
    deadline.next = after;
    if (before) before.next = deadline;
    else this.head = deadline;
    if (after) after.prev = deadline;
    else this.tail = deadline;
    if (!this.timer || at < this.timerAt) this.arm(at);
    return deadline;
  }

  /** The waiter no longer waits (its sends completed); cancelling again, or after the deadline passed, does nothing. */
  cancel(handle: SendDeadline): void {
    const deadline = handle as Listed;
    if (!deadline.listed) return;
    this.unlink(deadline);
  }

  private unlink(deadline: Listed): void {
    const { prev, next } = deadline;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    deadline.prev = undefined;
    deadline.next = undefined;
    deadline.listed = false;
    this.count--;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    // the timer's clock may run up to a millisecond behind this one: never early
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(at - this.now())));
    this.timer.unref();
  }

  /** The timer: every deadline that has passed is told, and the timer armed for the next one (none while the list is empty). */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = this.now();
    while (this.head && this.head.at <= now) {
      const deadline = this.head;
      this.unlink(deadline);
      try {
        deadline.waiter.deadlinePassed();
      } catch {
        // one waiter's failure must not keep the others waiting
      }
    }
    if (this.head && !this.timer) this.arm(this.head.at);
  };
}
