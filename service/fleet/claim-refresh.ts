/**
 * Keeps the directory items of long-lived flows alive (docs/FLEET.md "Ownership and the
 * directory"): a flow item expires 7 days after it was written (DynamoDB TTL) and refreshing a live
 * flow writes nothing, so an item this member wrote more than `refreshAfterMs` (3.5 days) ago is
 * written once more while the flow is still this member's; the flow's item then lives another 7
 * days. Writes: one per flow and 3.5 days of life, none for a flow that ends or moves sooner.
 *
 * Memory: one Map entry (the item key and a number) per flow this member claimed and still holds,
 * and for a WireGuard peer's flow one more entry with its PeerKey (the rewritten item keeps it).
 * The entries are in claim order, so each check reads only the entries due; a bounded slice of the
 * rest is checked per tick and the entries of flows that ended or moved are dropped.
 */
import { FLOW_KEY_PREFIX, flowItemKey } from '../../lib/private/fleet';

/** Half the directory items' 7-day lifetime. */
export const CLAIM_REFRESH_AFTER_MS = 3.5 * 24 * 3600 * 1000;

export interface ClaimRefreshOptions {
  /** Whether the flow is still this member's (alive in its flow table, and the member not draining). */
  readonly holds: (listener: string, address: string, port: number) => boolean;
  /** Writes the flow's item again (a claim), with the WireGuard peer it was claimed for. */
  readonly reclaim: (listener: string, address: string, port: number, peerKey?: string) => void;
  /** @default CLAIM_REFRESH_AFTER_MS */
  readonly refreshAfterMs?: number;
  /** Milliseconds between checks. @default 60000 */
  readonly tickMs?: number;
  /** Entries checked for flows that ended per tick. @default 10000 */
  readonly pruneBatch?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

export class ClaimRefresh {
  private readonly claimed = new Map<string, number>();
  /** PeerKeys of the claimed flows that are WireGuard peers' (few next to all flows). */
  private readonly peerKeys = new Map<string, string>();
  private readonly refreshAfterMs: number;
  private readonly tickMs: number;
  private readonly pruneBatch: number;
  private readonly now: () => number;
  private cursor?: Iterator<string>;
  private timer?: NodeJS.Timeout;
  private refreshedCount = 0;

  constructor(private readonly options: ClaimRefreshOptions) {
    this.refreshAfterMs = options.refreshAfterMs ?? CLAIM_REFRESH_AFTER_MS;
    this.tickMs = options.tickMs ?? 60_000;
    this.pruneBatch = Math.max(1, options.pruneBatch ?? 10_000);
    this.now = options.now ?? Date.now;
  }

  /** Flows followed now. */
  get size(): number {
    return this.claimed.size;
  }

  /** Items written again since start. */
  get refreshed(): number {
    return this.refreshedCount;
  }

  /** This member just wrote the flow's item (`peerKey`: the WireGuard peer named in it). */
  claim(listener: string, address: string, port: number, peerKey?: string): void {
    const key = flowItemKey(listener, address, port);
    this.claimed.delete(key);
    this.claimed.set(key, this.now());
    if (peerKey !== undefined) this.peerKeys.set(key, peerKey);
    else this.peerKeys.delete(key);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Writes the items that are due again and drops flows that ended; returns how many were written. */
  check(at: number = this.now()): number {
    let written = 0;
    for (const [key, since] of this.claimed) {
      if (at - since < this.refreshAfterMs) break;
      this.claimed.delete(key);
      const flow = parseFlowKey(key);
      if (!flow || !this.options.holds(flow.listener, flow.address, flow.port)) {
        this.peerKeys.delete(key);
        continue;
      }
      this.claimed.set(key, at);
      this.options.reclaim(flow.listener, flow.address, flow.port, this.peerKeys.get(key));
      written++;
    }
    this.refreshedCount += written;
    this.prune();
    return written;
  }

  /** Drops up to `pruneBatch` entries of flows this member no longer holds, resuming where the last call stopped. */
  private prune(): void {
    for (let i = 0; i < this.pruneBatch; i++) {
      this.cursor ??= this.claimed.keys();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        return;
      }
      const flow = parseFlowKey(next.value);
      if (!flow || !this.options.holds(flow.listener, flow.address, flow.port)) {
        this.claimed.delete(next.value);
        this.peerKeys.delete(next.value);
      }
    }
  }
}

/** Listener, address and port of a `flow#<listener>#<address>#<port>` key. */
function parseFlowKey(key: string): { listener: string; address: string; port: number } | undefined {
  if (!key.startsWith(FLOW_KEY_PREFIX)) return undefined;
  const parts = key.slice(FLOW_KEY_PREFIX.length).split('#');
  if (parts.length !== 3) return undefined;
  const port = Number(parts[2]);
  return Number.isInteger(port) ? { listener: parts[0], address: parts[1], port } : undefined;
}
