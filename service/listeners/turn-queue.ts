/**
 * Items received during one event-loop turn, handed to their consumer together once the turn's
 * socket reads are done.
 *
 * A busy socket is read up to 32 datagrams per wake-up, each one a separate call into JavaScript
 * with a system call between them. Running the whole ingress path (WireGuard's decryption; tag,
 * flow, packet text, lane, batcher) inside each of those calls runs it with cold caches every
 * time; queueing the datagram there and running the path for all of the turn's datagrams in one
 * pass (the check phase, right after the poll phase that read them) keeps it warm. Order is kept,
 * nothing is dropped, and an item waits only until the end of the turn it arrived in.
 * docs/BENCHMARKS.md ("Ingress: one pass per event-loop turn") has the measurements.
 */
export class TurnQueue<T> {
  private items: T[] = [];
  private scheduled?: NodeJS.Immediate;
  private readonly onTurnEnd: () => void;

  /** `consume` receives every item once, in the order added (a throw: see {@link flush}). */
  public constructor(private readonly consume: (item: T) => void) {
    this.onTurnEnd = () => {
      this.scheduled = undefined;
      this.flush();
    };
  }

  /** Items waiting for the end of the turn. */
  public get size(): number {
    return this.items.length;
  }

  /** Queues an item for the end of this turn. */
  public add(item: T): void {
    this.items.push(item);
    this.scheduled ??= setImmediate(this.onTurnEnd);
  }

  /**
   * Hands every waiting item to the consumer now (before the consumer changes or goes away).
   * Items added while the consumer runs (it may flush again) are handed over in the same call.
   * When the consumer throws, the items after the one it threw on stay queued for the end of the
   * turn, and the error propagates.
   */
  public flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    while (this.items.length > 0) {
      const batch = this.items;
      this.items = [];
      let next = 0;
      try {
        while (next < batch.length) this.consume(batch[next++]);
      } finally {
        if (next < batch.length) {
          this.items = batch.slice(next).concat(this.items);
          this.scheduled ??= setImmediate(this.onTurnEnd);
        }
      }
    }
  }
}
