/**
 * Last-seen time per (Listener, client address, client port): the flows the load balancer keeps
 * pinned to this task. A datagram may leave towards a client only while its flow is alive
 * (`NoActiveFlow` otherwise), because only this task's path carries the Listener's public
 * address:port to that client.
 *
 * Memory: one Map entry per flow (a short string key and a number), well under 1 KiB. The table
 * is bounded; at capacity the least recently refreshed flow is evicted. Entries are kept in
 * refresh order, so expiry sweeps only touch expired entries.
 */

/** Flow idle timeout of the AWS Network Load Balancer for UDP. */
export const DEFAULT_FLOW_IDLE_SECONDS = 120;
export const DEFAULT_MAX_FLOWS = 1_000_000;

export interface FlowTableOptions {
  /** @default 120 */
  readonly idleSeconds?: number;
  /** @default 1000000 */
  readonly maxFlows?: number;
  /** Seconds between expiry sweeps once started. @default 10 */
  readonly sweepIntervalSeconds?: number;
  readonly now?: () => number;
  /**
   * Called when a datagram starts a flow this table did not hold alive: ownership of the flow
   * moved to this member (the fleet directory records it). Never called for refreshes.
   */
  readonly onNewFlow?: (listener: string, address: string, port: number) => void;
}

/** Refreshing an entry moves it to the end of the map only when it is older than this, to keep per-packet work small. */
const REORDER_AFTER_MS = 1000;

export class FlowTable {
  private readonly idleMs: number;
  private readonly maxFlows: number;
  private readonly sweepMs: number;
  private readonly now: () => number;
  private readonly onNewFlow?: (listener: string, address: string, port: number) => void;
  private readonly flows = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private evictedCount = 0;
  /** The last key built, and what it was built from: runs of datagrams to or from one client reuse it. */
  private lastListener = '';
  private lastAddress = '';
  private lastPort = -1;
  private lastKey = '';

  public constructor(options: FlowTableOptions = {}) {
    this.idleMs = (options.idleSeconds ?? DEFAULT_FLOW_IDLE_SECONDS) * 1000;
    this.maxFlows = Math.max(1, options.maxFlows ?? DEFAULT_MAX_FLOWS);
    this.sweepMs = (options.sweepIntervalSeconds ?? 10) * 1000;
    this.now = options.now ?? Date.now;
    this.onNewFlow = options.onNewFlow;
  }

  /** Number of flows held (some may have expired since the last sweep). */
  public get size(): number {
    return this.flows.size;
  }

  /** Flows evicted because the table was full. */
  public get evicted(): number {
    return this.evictedCount;
  }

  /** Records a datagram from `address:port` on `listener` at `at` (epoch ms, default now). */
  public touch(listener: string, address: string, port: number, at: number = this.now()): void {
    const key = this.keyOf(listener, address, port);
    const seen = this.flows.get(key);
    if (seen !== undefined) {
      if (at - seen < REORDER_AFTER_MS) {
        if (at > seen) this.flows.set(key, at);
        return;
      }
      this.flows.delete(key);
      if (at - seen >= this.idleMs) this.onNewFlow?.(listener, address, port);
    } else if (this.flows.size >= this.maxFlows) {
      const oldest = this.flows.keys().next().value;
      if (oldest !== undefined) {
        this.flows.delete(oldest);
        this.evictedCount++;
      }
    }
    if (seen === undefined) this.onNewFlow?.(listener, address, port);
    this.flows.set(key, at);
  }

  /** True when `address:port` sent to `listener` within the idle timeout. */
  public isActive(listener: string, address: string, port: number, at: number = this.now()): boolean {
    const seen = this.flows.get(this.keyOf(listener, address, port));
    return seen !== undefined && at - seen < this.idleMs;
  }

  private keyOf(listener: string, address: string, port: number): string {
    if (port !== this.lastPort || address !== this.lastAddress || listener !== this.lastListener) {
      this.lastKey = flowKey(listener, address, port);
      this.lastListener = listener;
      this.lastAddress = address;
      this.lastPort = port;
    }
    return this.lastKey;
  }

  /** Removes expired flows; returns how many. */
  public sweep(at: number = this.now()): number {
    let removed = 0;
    for (const [key, seen] of this.flows) {
      // Entries are in refresh order, give or take REORDER_AFTER_MS.
      if (at - seen < this.idleMs - REORDER_AFTER_MS) break;
      if (at - seen >= this.idleMs) {
        this.flows.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /** Forgets every flow of a Listener (it was removed from the configuration). */
  public forgetListener(listener: string): void {
    const prefix = listener + '|';
    for (const key of this.flows.keys()) if (key.startsWith(prefix)) this.flows.delete(key);
  }

  /** Starts periodic sweeps (the timer does not keep the process alive). */
  public start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.sweepMs);
    this.timer.unref();
  }

  public stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function flowKey(listener: string, address: string, port: number): string {
  return listener + '|' + address + '|' + port;
}
