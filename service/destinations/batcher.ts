/**
 * Batches packets for one destination: a batch closes when it holds `count` packets, when adding
 * a packet would pass `sizeBytes`, or `timeoutMs` after its first packet, whichever comes first.
 * Closed batches are delivered with at most `maxInFlight` deliveries at a time. Packets waiting
 * (in the open batch and in closed batches not yet delivered) are capped at `maxQueued`; beyond
 * that new packets are dropped and handed to `onDrop`. No timer per packet, nor per batch: a
 * batch closed by count or size leaves its timer armed, and when it fires for a later batch it
 * is armed again for the rest of that batch's wait.
 */
/** A batch whose wait has less than this left when its timer fires is closed then (timers count whole milliseconds). */
const TIMER_SLACK_MS = 1;

/** Anything with a size can be batched. */
export interface Sized {
  readonly bytes: number;
}

export interface BatcherOptions<T extends Sized> {
  /** Packets per batch, at least 1. */
  readonly count: number;
  /** Longest wait of the first packet of a batch, in ms; 0 closes the batch in the event loop's next check phase (`setImmediate`), after the packets read with it. */
  readonly timeoutMs: number;
  /** Largest batch in bytes; a single larger packet travels alone. */
  readonly sizeBytes: number;
  /** Packets that may wait before new ones are dropped. */
  readonly maxQueued: number;
  /** Deliveries in progress at once. */
  readonly maxInFlight: number;
  /** Bytes a batch adds around its packets (envelope, separators). @default - none */
  readonly overheadBytes?: (count: number) => number;
  /** Delivers one batch. A rejection is the caller's to report; the batcher only frees the slot. */
  readonly deliver: (batch: T[]) => Promise<void>;
  /** Called for each packet dropped because the queue is full. */
  readonly onDrop: (item: T) => void;
}

export class Batcher<T extends Sized> {
  private current: T[] = [];
  private currentBytes = 0;
  private readonly ready: T[][] = [];
  private queuedCount = 0;
  private inFlightCount = 0;
  private timer?: NodeJS.Timeout;
  /** When the open batch got its first packet (`performance.now()`, the global one that fake timers replace too), for its timeout. */
  private openedAt = 0;
  private readonly onTimer: () => void;
  private immediate?: NodeJS.Immediate;
  private idleWaiters: Array<() => void> = [];
  private readonly closeOpenBatch: () => void;
  /** Batches handed to `deliver` and not settled yet. */
  private readonly delivering = new Set<T[]>();

  public constructor(private readonly options: BatcherOptions<T>) {
    if (!(options.count >= 1) || !(options.maxQueued >= 1) || !(options.maxInFlight >= 1) || !(options.timeoutMs >= 0)) {
      throw new Error('batcher limits must be positive (count, maxQueued, maxInFlight ≥ 1; timeoutMs ≥ 0)');
    }
    this.closeOpenBatch = () => this.closeCurrent();
    this.onTimer = () => this.timerFired();
  }

  /** Packets waiting for delivery (open batch plus closed batches not yet handed over). */
  public get queued(): number {
    return this.queuedCount;
  }

  /** Deliveries in progress. */
  public get inFlight(): number {
    return this.inFlightCount;
  }

  /** Adds a packet; returns false when it was dropped because the queue is full. */
  public enqueue(item: T): boolean {
    if (this.queuedCount >= this.options.maxQueued) {
      this.options.onDrop(item);
      return false;
    }
    const overhead = this.options.overheadBytes;
    if (this.current.length > 0) {
      const next = this.current.length + 1;
      const size = this.currentBytes + item.bytes + (overhead ? overhead(next) : 0);
      if (size > this.options.sizeBytes) this.closeCurrent();
    }
    this.current.push(item);
    this.currentBytes += item.bytes;
    this.queuedCount++;
    const n = this.current.length;
    if (n >= this.options.count || this.currentBytes + (overhead ? overhead(n) : 0) >= this.options.sizeBytes) {
      this.closeCurrent();
    } else if (n === 1) {
      if (this.options.timeoutMs > 0) {
        this.openedAt = performance.now();
        // a timer still armed for an earlier batch fires first and is armed again for this one
        this.timer ??= setTimeout(this.onTimer, this.options.timeoutMs);
      } else {
        this.immediate = setImmediate(this.closeOpenBatch);
      }
    }
    return true;
  }

  /** Closes the open batch now (it is delivered as soon as a slot is free). */
  public flush(): void {
    this.closeCurrent();
  }

  /** Flushes, then resolves once nothing is queued or in flight. */
  public drain(): Promise<void> {
    this.closeCurrent();
    this.disarm();
    if (this.queuedCount === 0 && this.inFlightCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Gives up on everything not yet delivered (stop deadline): returns the packets still waiting,
   * which are removed, and those of deliveries in progress, whose outcome is no longer awaited.
   * Resolves every {@link drain} waiter.
   */
  public abandon(): { waiting: T[]; delivering: T[] } {
    this.closeCurrent();
    this.disarm();
    const waiting = this.ready.splice(0).flat();
    const delivering = [...this.delivering].flat();
    this.delivering.clear();
    this.queuedCount = 0;
    this.inFlightCount = 0;
    this.notifyIdle();
    return { waiting, delivering };
  }

  /** The open batch's timeout: closes it when its wait is over, else waits for the rest. */
  private timerFired(): void {
    this.timer = undefined;
    if (this.current.length === 0) return;
    const left = this.openedAt + this.options.timeoutMs - performance.now();
    if (left >= TIMER_SLACK_MS) this.timer = setTimeout(this.onTimer, left);
    else this.closeCurrent();
  }

  /** No timer left armed (nothing waits after a drain, so none keeps the process alive). */
  private disarm(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Closes the open batch; its timer, if any, stays armed for the next batch (see the module comment). */
  private closeCurrent(): void {
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    if (this.current.length === 0) return;
    this.ready.push(this.current);
    this.current = [];
    this.currentBytes = 0;
    this.pump();
  }

  private pump(): void {
    while (this.inFlightCount < this.options.maxInFlight && this.ready.length > 0) {
      const batch = this.ready.shift()!;
      this.queuedCount -= batch.length;
      this.inFlightCount++;
      let delivery: Promise<void>;
      try {
        delivery = this.options.deliver(batch);
      } catch (err) {
        delivery = Promise.reject(err);
      }
      this.delivering.add(batch);
      const settled = (): void => {
        // a batch given up by abandon() no longer holds a slot
        if (!this.delivering.delete(batch)) return;
        this.inFlightCount--;
        this.pump();
      };
      delivery.then(settled, settled);
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.queuedCount !== 0 || this.inFlightCount !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
