/**
 * Entries ordered by the time they fall due, under one timer: the list behind the sourced path's
 * timeouts (the visibility extensions of held delivery-queue messages, the send deadlines of
 * deliveries). Entries are intrusive (each carries its due time and its links), so listing one
 * allocates nothing beyond the entry its owner already made, and removing one is O(1).
 *
 * Entries are mostly listed in due order (each due one fixed period after it was listed), so one
 * joins at the tail in O(1); an earlier one is inserted in order, walking from the nearer end.
 * Entries due at the same time keep the order they were listed in.
 *
 * One timer, `unref`'d, is armed for the earliest entry, and armed again when an earlier one is
 * listed. It is never early: the Node timer may run up to a millisecond behind the clock, so it is
 * armed for `max(1, ceil(due - now))` ms, and a wake-up that still finds the first entry not due
 * arms it again. On waking it hands the owner the clock's reading, and the owner takes every entry
 * due by then ({@link DueList.takeDue}); the timer is then armed for the next entry, or stays off
 * while the list is empty. Removing the last entry leaves the timer as it is: it wakes once, finds
 * nothing, and stays off, so entries listed and removed one at a time do not arm and clear a timer
 * each.
 */

/**
 * What an entry of a {@link DueList} carries; the owner's entries add their own fields after these,
 * in this order, so the list's code finds them at the same place in the entries of every owner.
 */
export interface DueEntry {
  /** When the entry falls due, on the list's clock; set before {@link DueList.insert}, not changed while listed. */
  dueAt: number;
  /** True while in a list. */
  listed: boolean;
  /** The entry due before this one, and the one due after it, while listed. */
  previousDue: DueEntry | undefined;
  nextDue: DueEntry | undefined;
}

/** Entries by due time under one timer; `E` is the owner's entry type. */
export class DueList<E extends DueEntry> {
  private head: E | undefined;
  private tail: E | undefined;
  private count = 0;
  /** The one timer, and the time (on the list's clock) it is armed for. */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  /**
   * @param onDue called on each wake-up that finds an entry due, with the clock's reading: the
   *   owner takes the due entries with {@link takeDue}.
   * @param now the clock the due times are on.
   */
  constructor(private readonly onDue: (now: number) => void, private readonly now: () => number) {}

  /** Entries listed now. */
  get length(): number {
    return this.count;
  }

  /** The entry due first, if any. */
  get first(): E | undefined {
    return this.head;
  }

  /** Lists `entry` (not listed) by its `dueAt`, after the entries due no later, and makes sure the timer wakes for it. */
  insert(entry: E): void {
    const dueAt = entry.dueAt;
    const head = this.head;
    const tail = this.tail;
    entry.listed = true;
    this.count++;
    if (!tail || tail.dueAt <= dueAt) {
      // the common case: due no sooner than every listed entry
      entry.previousDue = tail;
      entry.nextDue = undefined;
      if (tail) tail.nextDue = entry;
      else this.head = entry;
      this.tail = entry;
    } else if (dueAt < head!.dueAt) {
      entry.previousDue = undefined;
      entry.nextDue = head;
      head!.previousDue = entry;
      this.head = entry;
    } else if (dueAt - head!.dueAt < tail.dueAt - dueAt) {
      // nearer the head: after the last entry due no later
      let before: DueEntry = head!;
      while (before.nextDue!.dueAt <= dueAt) before = before.nextDue!;
      this.linkAfter(before, entry);
    } else {
      let before: DueEntry = tail.previousDue!;
      while (before.dueAt > dueAt) before = before.previousDue!;
      this.linkAfter(before, entry);
    }
    if (!this.timer || dueAt < this.timerAt) this.arm(dueAt);
  }

  /** Unlists `entry`; removing one not listed does nothing. */
  remove(entry: E): void {
    if (!entry.listed) return;
    const previous = entry.previousDue;
    const next = entry.nextDue;
    if (previous) previous.nextDue = next;
    else this.head = next as E | undefined;
    if (next) next.previousDue = previous;
    else this.tail = previous as E | undefined;
    entry.previousDue = undefined;
    entry.nextDue = undefined;
    entry.listed = false;
    this.count--;
  }

  /** Unlists and returns the first entry when it is due at `now`; undefined when none is. */
  takeDue(now: number): E | undefined {
    const head = this.head;
    if (!head || head.dueAt > now) return undefined;
    this.remove(head);
    return head;
  }

  /** Turns the timer off until the next {@link insert} (entries still listed stay listed). */
  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Links `entry` between `before` and its successor (both listed). */
  private linkAfter(before: DueEntry, entry: E): void {
    const after = before.nextDue!;
    entry.previousDue = before;
    entry.nextDue = after;
    before.nextDue = entry;
    after.previousDue = entry;
  }

  /** Arms the one timer for `at`, replacing one armed for later. */
  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.wake, Math.max(1, Math.ceil(at - this.now())));
    this.timer.unref();
  }

  /** The timer: hands the owner the time when an entry is due, then arms the timer for the next entry, if any. */
  private readonly wake = (): void => {
    this.timer = undefined;
    const head = this.head;
    if (!head) return;
    try {
      const now = this.now();
      if (head.dueAt <= now) this.onDue(now);
    } finally {
      // an owner that throws still finds its later entries timed; one that listed an entry while
      // taking its due ones may have armed the timer for that entry, later than the first
      if (this.head && (!this.timer || this.head.dueAt < this.timerAt)) this.arm(this.head.dueAt);
    }
  };
}
