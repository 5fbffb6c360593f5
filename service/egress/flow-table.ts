/**
 * Last-seen time per (Listener, client address, client port): the flows the load balancer keeps
 * pinned to this task. A datagram may leave towards a client only while its flow is alive
 * (`NoActiveFlow` otherwise), because only this task's path carries the Listener's public
 * address:port to that client.
 *
 * Flooding: a flow is *new* until a datagram arrives {@link CONFIRM_AFTER_MS} or more after its
 * first one, then *confirmed* (a client that keeps talking, e.g. with keepalives; a spoofed
 * source that sends once never gets there). At capacity the oldest new flow is evicted first, a
 * confirmed one only when no new flow is left; and each source prefix (IPv4 /24, IPv6 /56) holds
 * at most `maxNewFlowsPerPrefix` new flows, evicting its own oldest beyond that. So a flood of
 * fresh sources churns the new flows among themselves and never pushes out a live client.
 *
 * Memory: one Map entry per flow, plus one counter per source prefix with new flows. A flow from
 * a dotted-quad IPv4 address on one of the first {@link NUMBERED_LISTENERS} Listeners has a
 * numeric key (Listener number, address and port packed into one safe integer: no string per
 * flow); other flows (IPv6, IPv4-mapped) keep a string key. A Listener's number is freed when
 * the Listener is forgotten and reused by the next one, so Listeners replaced over a process's
 * life keep numeric keys. Times are stored relative to an origin (the first datagram's time), so
 * they stay small integers held in the entry rather than a boxed number each; once they would
 * outgrow V8's small-integer range (after {@link REBASE_AFTER_MS}), the origin moves to the
 * present and every stored time with it. Entries are kept in refresh order, so expiry sweeps only
 * touch expired entries. A datagram of a confirmed flow costs one Map lookup.
 */
import { ipv4Number } from '../../lib/private/network';
import { JobClock } from '../job-clock';


/** Flow idle timeout of the AWS Network Load Balancer for UDP. */
export const DEFAULT_FLOW_IDLE_SECONDS = 120;
export const DEFAULT_MAX_FLOWS = 1_000_000;
/** New flows one source prefix may hold by default (a CGNAT address block stays well below). */
export const DEFAULT_MAX_NEW_FLOWS_PER_PREFIX = 1024;
/** A datagram this long after a flow's first one confirms the flow. */
export const CONFIRM_AFTER_MS = 1000;

export interface FlowTableOptions {
  /** @default 120 */
  readonly idleSeconds?: number;
  /** @default 1000000 */
  readonly maxFlows?: number;
  /** New (unconfirmed) flows per source prefix (IPv4 /24, IPv6 /56). @default 1024 */
  readonly maxNewFlowsPerPrefix?: number;
  /** Seconds between expiry sweeps once started. @default 10 */
  readonly sweepIntervalSeconds?: number;
  readonly now?: () => number;
  /**
   * Called when a datagram starts a flow this table did not hold alive: ownership of the flow
   * moved to this member (the fleet directory records it). Never called for refreshes. `peerKey`
   * is the WireGuard peer that sent the datagram, when the Listener knows it.
   */
  readonly onNewFlow?: (listener: string, address: string, port: number, peerKey?: string) => void;
}

/**
 * A refresh moves its entry to the end of the map only when it falls in a later slot of this
 * length than the entry's stored time, to keep per-packet work small: refreshes within one slot
 * update the time in place. An entry's stored time is then never this much later than the time it
 * was last moved, however often its client sends, so the map stays in refresh order give or take
 * this much.
 */
const REORDER_AFTER_MS = 1000;

/** Listeners (in order of their first flow) whose IPv4 flows get numeric keys: 2^5 × 2^32 addresses × 2^16 ports = 2^53. */
export const NUMBERED_LISTENERS = 32;
const PORTS = 2 ** 16;
const PORTS_AND_ADDRESSES = 2 ** 48;

/**
 * Stored times (ms from the origin) at most this far from the origin on either side (≈ 6.2 days):
 * half of V8's 31-bit small-integer range, so they are never boxed. A datagram this far from the
 * origin moves the origin to its own time; stored times further than this from the new origin are
 * held at this distance (a flow that old is expired under any idle timeout the table is given).
 */
export const REBASE_AFTER_MS = 2 ** 29;

/** A flow's key: a packed number (IPv4 flows) or `listener|address|port`. */
type FlowKey = number | string;
/** A source prefix: the /24 as a number (packed IPv4 keys) or its text form (see {@link sourcePrefix}). */
type PrefixKey = number | string;

export class FlowTable {
  private readonly idleMs: number;
  private readonly maxFlows: number;
  private readonly maxNewPerPrefix: number;
  private readonly sweepMs: number;
  private readonly now: () => number;
  /**
   * This table's clock read at most once per synchronous job (see service/job-clock.ts): for
   * callers that check many flows in one job, such as the sends of one sourced message.
   */
  public readonly clockOfJob: JobClock;
  private readonly onNewFlow?: (listener: string, address: string, port: number, peerKey?: string) => void;
  /** Confirmed flows: key → last seen (relative to `origin`), in refresh order. */
  private readonly confirmed = new Map<FlowKey, number>();
  /** New flows: key → first seen (relative to `origin`; they are confirmed by a datagram CONFIRM_AFTER_MS later), in arrival order. */
  private readonly fresh = new Map<FlowKey, number>();
  /** New flows per source prefix. */
  private readonly freshPerPrefix = new Map<PrefixKey, PrefixFlows>();
  /** Number of each Listener with numeric flow keys. */
  private readonly listenerNumbers = new Map<string, number>();
  /** Numbers of forgotten Listeners, reused before new ones. */
  private readonly freeNumbers: number[] = [];
  /** Numbers handed out so far (at most NUMBERED_LISTENERS). */
  private numbersUsed = 0;
  /** Listeners that found no number free: their flows keep string keys until they are forgotten. */
  private readonly unnumbered = new Set<string>();
  /** Epoch ms that stored times count from: the first datagram's time, moved by {@link rebase}. */
  private origin: number | undefined;
  /** Where eviction continues in each map (see {@link OldestFirst}). */
  private readonly freshCursor = new OldestFirst();
  private readonly confirmedCursor = new OldestFirst();
  private timer?: NodeJS.Timeout;
  private evictedCount = 0;
  private evictedConfirmedCount = 0;
  /** The last key built, and what it was built from: runs of datagrams to or from one client reuse it. */
  private lastListener = '';
  private lastAddress = '';
  private lastPort = -1;
  private lastKey: FlowKey = '';

  public constructor(options: FlowTableOptions = {}) {
    this.idleMs = (options.idleSeconds ?? DEFAULT_FLOW_IDLE_SECONDS) * 1000;
    if (!(this.idleMs > 0 && this.idleMs < REBASE_AFTER_MS)) {
      throw new Error(`flow idleSeconds ${options.idleSeconds} is not valid (allowed: above 0 and below ${REBASE_AFTER_MS / 1000})`);
    }
    this.maxFlows = Math.max(1, options.maxFlows ?? DEFAULT_MAX_FLOWS);
    this.maxNewPerPrefix = Math.max(1, options.maxNewFlowsPerPrefix ?? DEFAULT_MAX_NEW_FLOWS_PER_PREFIX);
    this.sweepMs = (options.sweepIntervalSeconds ?? 10) * 1000;
    this.now = options.now ?? Date.now;
    this.clockOfJob = new JobClock(this.now);
    this.onNewFlow = options.onNewFlow;
  }

  /** Number of flows held (some may have expired since the last sweep). */
  public get size(): number {
    return this.confirmed.size + this.fresh.size;
  }

  /** Flows evicted because the table or their source prefix was full. */
  public get evicted(): number {
    return this.evictedCount;
  }

  /** Confirmed flows evicted because the table was full of confirmed flows. */
  public get evictedConfirmed(): number {
    return this.evictedConfirmedCount;
  }

  /**
   * Records a datagram from `address:port` on `listener` at `time` (epoch ms, default now);
   * `peerKey` (WireGuard: the authenticated sender) goes to `onNewFlow` when the flow is new.
   */
  public touch(listener: string, address: string, port: number, time: number = this.now(), peerKey?: string): void {
    let at = time - (this.origin ??= time);
    if (at >= REBASE_AFTER_MS || at <= -REBASE_AFTER_MS) at = this.rebase(time);
    const key = this.keyOf(listener, address, port);
    const seen = this.confirmed.get(key);
    if (seen !== undefined) {
      if (at - seen < REORDER_AFTER_MS) {
        if (at <= seen) return;
        // a later slot: moved to the end, so that a client that never pauses still moves on
        if (Math.floor(at / REORDER_AFTER_MS) !== Math.floor(seen / REORDER_AFTER_MS)) this.confirmed.delete(key);
        this.confirmed.set(key, at);
        return;
      }
      if (at - seen >= this.idleMs) this.onNewFlow?.(listener, address, port, peerKey);
      this.confirmed.delete(key);
      this.confirmed.set(key, at);
      return;
    }
    const first = this.fresh.get(key);
    if (first !== undefined) {
      if (at - first < CONFIRM_AFTER_MS) return;
      if (at - first >= this.idleMs) this.onNewFlow?.(listener, address, port, peerKey);
      this.forgetFresh(key);
      this.confirmed.set(key, at);
      return;
    }
    this.onNewFlow?.(listener, address, port, peerKey);
    const prefix = prefixOfKey(key, address);
    let flows = this.freshPerPrefix.get(prefix);
    if (flows !== undefined && flows.count >= this.maxNewPerPrefix) {
      this.evictOldestOf(flows);
    } else if (this.size >= this.maxFlows) {
      this.evictOne();
      flows = this.freshPerPrefix.get(prefix);
    }
    if (flows === undefined) {
      flows = new PrefixFlows();
      this.freshPerPrefix.set(prefix, flows);
    }
    this.fresh.set(key, at);
    flows.add(key, this.fresh);
  }

  /** True when `address:port` sent to `listener` within the idle timeout. */
  public isActive(listener: string, address: string, port: number, time: number = this.now()): boolean {
    if (this.origin === undefined) return false;
    const key = this.keyOf(listener, address, port);
    const seen = this.confirmed.get(key) ?? this.fresh.get(key);
    return seen !== undefined && time - this.origin - seen < this.idleMs;
  }

  /**
   * Moves the origin to `time` and every stored time with it (kept within
   * ±{@link REBASE_AFTER_MS}, which keeps their order); returns `time` relative to the new origin.
   */
  private rebase(time: number): number {
    const shift = time - this.origin!;
    this.origin = time;
    for (const times of [this.confirmed, this.fresh]) {
      for (const [key, at] of times) times.set(key, Math.min(REBASE_AFTER_MS, Math.max(-REBASE_AFTER_MS, at - shift)));
    }
    return 0;
  }

  /** Makes room for one flow: the oldest new flow, else the least recently refreshed confirmed one. */
  private evictOne(): void {
    const oldestFresh = this.freshCursor.next(this.fresh);
    if (oldestFresh !== undefined) {
      this.forgetFresh(oldestFresh);
      this.evictedCount++;
      return;
    }
    const oldest = this.confirmedCursor.next(this.confirmed);
    if (oldest !== undefined) {
      this.confirmed.delete(oldest);
      this.evictedCount++;
      this.evictedConfirmedCount++;
    }
  }

  /** Evicts the oldest new flow of a source prefix that reached its cap. */
  private evictOldestOf(flows: PrefixFlows): void {
    const key = flows.oldest(this.fresh);
    if (key === undefined) return;
    this.fresh.delete(key);
    flows.count--;
    this.evictedCount++;
  }

  private forgetFresh(key: FlowKey): void {
    this.fresh.delete(key);
    const prefix = prefixOfKey(key);
    const flows = this.freshPerPrefix.get(prefix);
    if (flows === undefined) return;
    flows.count--;
    if (flows.count <= 0) this.freshPerPrefix.delete(prefix);
  }

  private keyOf(listener: string, address: string, port: number): FlowKey {
    if (port !== this.lastPort || address !== this.lastAddress || listener !== this.lastListener) {
      this.lastKey = this.flowKey(listener, address, port);
      this.lastListener = listener;
      this.lastAddress = address;
      this.lastPort = port;
    }
    return this.lastKey;
  }

  /** A packed number for an IPv4 flow of a numbered Listener, else `listener|address|port`. */
  private flowKey(listener: string, address: string, port: number): FlowKey {
    const ipv4 = Number.isInteger(port) && port >= 0 && port < PORTS ? ipv4Number(address) : -1;
    if (ipv4 >= 0) {
      const n = this.listenerNumbers.get(listener) ?? this.numberListener(listener);
      if (n !== undefined) return n * PORTS_AND_ADDRESSES + ipv4 * PORTS + port;
    }
    return listener + '|' + address + '|' + port;
  }

  /**
   * A number for a Listener that has none: a forgotten Listener's, else the next unused one;
   * undefined when all are taken, and from then on for this Listener (its flows have string keys,
   * which a number given later would not find) until it is forgotten.
   */
  private numberListener(listener: string): number | undefined {
    if (this.unnumbered.has(listener)) return undefined;
    let n = this.freeNumbers.pop();
    if (n === undefined && this.numbersUsed < NUMBERED_LISTENERS) n = this.numbersUsed++;
    if (n === undefined) this.unnumbered.add(listener);
    else this.listenerNumbers.set(listener, n);
    return n;
  }

  /** Removes expired flows; returns how many. */
  public sweep(time: number = this.now()): number {
    if (this.origin === undefined) return 0;
    const at = time - this.origin;
    let removed = 0;
    for (const [key, seen] of this.confirmed) {
      // Entries are in refresh order, give or take REORDER_AFTER_MS.
      if (at - seen < this.idleMs - REORDER_AFTER_MS) break;
      if (at - seen >= this.idleMs) {
        this.confirmed.delete(key);
        removed++;
      }
    }
    for (const [key, first] of this.fresh) {
      // New flows are in arrival order.
      if (at - first < this.idleMs) break;
      this.forgetFresh(key);
      removed++;
    }
    return removed;
  }

  /** Forgets every flow of a Listener (it was removed from the configuration). */
  public forgetListener(listener: string): void {
    const prefix = listener + '|';
    const n = this.listenerNumbers.get(listener);
    const ofListener = (key: FlowKey): boolean => (typeof key === 'number' ? Math.floor(key / PORTS_AND_ADDRESSES) === n : key.startsWith(prefix));
    for (const key of this.confirmed.keys()) if (ofListener(key)) this.confirmed.delete(key);
    for (const key of this.fresh.keys()) if (ofListener(key)) this.forgetFresh(key);
    this.unnumbered.delete(listener);
    if (n !== undefined) {
      this.listenerNumbers.delete(listener);
      this.freeNumbers.push(n);
    }
    // the last key built may carry the freed number
    this.lastListener = '';
    this.lastAddress = '';
    this.lastPort = -1;
    this.lastKey = '';
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

/**
 * The oldest key of a Map, found in amortized O(1). A Map keeps deleted entries as holes until it
 * rehashes, so `map.keys().next()` after many deletions at the head scans every hole (quadratic
 * under a flood). A kept iterator resumes after the last key it returned, which the caller always
 * deletes; it is renewed once exhausted.
 */
class OldestFirst {
  private iterator: Iterator<FlowKey> | undefined;

  public next(map: Map<FlowKey, number>): FlowKey | undefined {
    if (this.iterator) {
      const step = this.iterator.next();
      if (!step.done) return step.value;
    }
    this.iterator = map.keys();
    const step = this.iterator.next();
    return step.done ? undefined : step.value;
  }
}

/**
 * The new flows of one source prefix, oldest first. Keys that left the new flows (confirmed,
 * expired, evicted) are skipped lazily and compacted away, so every operation is amortized O(1).
 */
class PrefixFlows {
  public count = 0;
  private keys: FlowKey[] = [];
  private head = 0;

  public add(key: FlowKey, fresh: Map<FlowKey, number>): void {
    this.count++;
    this.keys.push(key);
    if (this.keys.length - this.head > 2 * this.count + 16) this.compact(fresh);
  }

  /** Removes and returns the oldest key still among `fresh`. */
  public oldest(fresh: Map<FlowKey, number>): FlowKey | undefined {
    while (this.head < this.keys.length) {
      const key = this.keys[this.head++];
      if (fresh.has(key)) {
        if (this.head > 1024 && this.head * 2 > this.keys.length) this.compact(fresh);
        return key;
      }
    }
    return undefined;
  }

  /** Drops the keys before the head and those no longer among `fresh`. */
  private compact(fresh: Map<FlowKey, number>): void {
    const kept: FlowKey[] = [];
    for (let i = this.head; i < this.keys.length; i++) if (fresh.has(this.keys[i])) kept.push(this.keys[i]);
    this.keys = kept;
    this.head = 0;
  }
}

/**
 * The source prefix of a flow key: the /24 of a packed IPv4 key as a number, else
 * {@link sourcePrefix} of the key's address (`address` when the caller has it at hand; Listener
 * names contain no '|').
 */
function prefixOfKey(key: FlowKey, address?: string): PrefixKey {
  if (typeof key === 'number') return Math.floor((key % PORTS_AND_ADDRESSES) / (PORTS * 256));
  return sourcePrefix(address ?? key.slice(key.indexOf('|') + 1, key.lastIndexOf('|')));
}

/**
 * The source prefix a flow counts against: IPv4 (also IPv4-mapped) /24, IPv6 /56. Text
 * operations on the canonical address, so no parse per new flow.
 */
export function sourcePrefix(address: string): string {
  const dot = address.lastIndexOf('.');
  if (dot >= 0) return address.slice(0, dot);
  return ipv6Slash56(address);
}

function ipv6Slash56(address: string): string {
  const gap = address.indexOf('::');
  let groups: string[];
  if (gap < 0) {
    groups = address.split(':');
  } else {
    const head = gap === 0 ? [] : address.slice(0, gap).split(':');
    const tail = gap + 2 >= address.length ? [] : address.slice(gap + 2).split(':');
    groups = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  }
  const fourth = parseInt(groups[3] ?? '0', 16) || 0;
  // eslint-disable-next-line no-bitwise -- /56 keeps the high byte of the fourth group
  return `${groups[0] ?? '0'}:${groups[1] ?? '0'}:${groups[2] ?? '0'}:${(fourth & 0xff00).toString(16)}::/56`;
}
