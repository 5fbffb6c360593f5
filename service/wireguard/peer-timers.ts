/**
 * The protocol timers of every peer (whitepaper §6), driven by named events as in wireguard-go's
 * `timers.go`: the device reports what happened (`dataSent`, `handshakeInitiated`, …) and this
 * module sets or clears the peer's deadlines; when a deadline comes, it calls the matching
 * {@link PeerTimerActions} handler.
 *
 * One clock timer serves all peers: every peer's earliest deadline sits in a min-heap and the
 * clock timer is set for the top of the heap. The heap holds one entry per peer with a pending
 * deadline: a deadline moved earlier moves its entry in place, and a peer that leaves takes its
 * entry out at once, so the heap (and the peers it refers to) never outgrows the live peers, however
 * many peers come and go. Timer events come with handshakes, idle gaps and timer wakes, not with
 * every data packet; none allocates unless it gives a peer without a pending deadline one (one
 * heap entry).
 */
import type { Clock, TimerHandle } from './clock';
import type { Peer, PeerDeadline } from './peer';
import type { WireGuardTimers } from './timers';

/** What the device does when a peer's deadline comes. Each handler gets the peer and the wake time. */
export interface PeerTimerActions {
  /** True while the peer belongs to the device; deadlines of other peers are ignored. */
  isActive(peer: Peer): boolean;
  /** Sends a handshake initiation again (Rekey-Timeout passed unanswered); false when none went out. */
  retryHandshake(peer: Peer): boolean;
  /** Rekey-Attempt-Time passed without an answer: ends the attempt and fails what waits for it. */
  handshakeAttemptsExhausted(peer: Peer): void;
  /** Keepalive-Timeout passed after data arrived with nothing sent back. */
  sendKeepalive(peer: Peer, now: number): void;
  /** Data went out but nothing came back for Keepalive-Timeout + Rekey-Timeout: starts a new handshake. */
  startHandshake(peer: Peer): void;
  /** Fails the queued packets whose time ran out. */
  expireQueued(peer: Peer, now: number): void;
  /** 3 × Reject-After-Time passed since the last session was derived: erases every key. */
  zeroKeys(peer: Peer): void;
}

/** The timers of all peers of one device. */
export class PeerTimers {
  /** Every peer's next deadline (one entry per peer with one), earliest first. */
  private readonly deadlines = new DeadlineHeap();
  /** The one clock timer, set for the earliest deadline. */
  private wakeTimer: TimerHandle | undefined;
  private wakeAt = Infinity;
  private closed = false;

  constructor(
    private readonly limits: WireGuardTimers,
    private readonly clock: Clock,
    /** Uniform random in [0, 1) for the Rekey-Timeout jitter. */
    private readonly random: () => number,
    private readonly actions: PeerTimerActions,
  ) {}

  // ---------------------------------------------------------------- events

  /** A transport message with data went out: expect an answer within Keepalive-Timeout + Rekey-Timeout. */
  dataSent(peer: Peer, now: number): void {
    if (peer.newHandshakeAt === 0) {
      this.schedule(peer, 'newHandshakeAt', now + this.limits.keepaliveTimeoutMs + this.limits.rekeyTimeoutMs + this.jitter());
    }
  }

  /** A transport message with data arrived: a keepalive goes out unless something is sent back in time. */
  dataReceived(peer: Peer, now: number): void {
    if (peer.keepaliveAt === 0) this.schedule(peer, 'keepaliveAt', now + this.limits.keepaliveTimeoutMs);
    else peer.needAnotherKeepalive = true;
  }

  /** Any authenticated message (transport, keepalive, handshake) went out: no keepalive is owed. */
  anyAuthenticatedPacketSent(peer: Peer): void {
    peer.keepaliveAt = 0;
  }

  /** Any authenticated message arrived: the peer answers, no new handshake is needed for silence. */
  anyAuthenticatedPacketReceived(peer: Peer): void {
    peer.newHandshakeAt = 0;
  }

  /**
   * An initiation went out at `now`: retry after Rekey-Timeout plus jitter. A first initiation
   * (not a retry) of a round also starts the Rekey-Attempt-Time the retries stop after.
   */
  handshakeInitiated(peer: Peer, now: number, isRetry: boolean): void {
    if (!isRetry && peer.retransmitAt === 0) peer.attemptsStartedAt = now;
    this.schedule(peer, 'retransmitAt', now + this.limits.rekeyTimeoutMs + this.jitter());
  }

  /** A handshake completed: no more retries, the attempt round is over. */
  handshakeComplete(peer: Peer): void {
    peer.retransmitAt = 0;
    peer.attemptsStartedAt = -Infinity;
  }

  /** New session keys were derived at `now`: every key is erased 3 × Reject-After-Time later unless renewed. */
  sessionDerived(peer: Peer, now: number): void {
    this.schedule(peer, 'zeroKeysAt', now + this.limits.rejectAfterTimeMs * 3);
  }

  /** A packet waits for a session until `expiresAt`. */
  packetQueued(peer: Peer, expiresAt: number): void {
    this.arm(peer, expiresAt);
  }

  /** The peer leaves the device: its pending deadline never fires, and the heap lets go of it. */
  stop(peer: Peer): void {
    const entry = peer.timer;
    if (entry !== undefined && entry.heapIndex >= 0) this.deadlines.remove(entry);
    peer.timer = undefined;
    peer.timerAt = Infinity;
  }

  /** Peers with a pending deadline: the entries of the deadline heap. */
  get pending(): number {
    return this.deadlines.size;
  }

  /** Stops the clock timer and forgets every deadline. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
    this.deadlines.clear();
  }

  // ---------------------------------------------------------------- scheduling

  private jitter(): number {
    return this.random() * this.limits.rekeyTimeoutJitterMs;
  }

  /** Sets a deadline (replacing a pending one) and makes sure the peer's timer fires for it. */
  private schedule(peer: Peer, which: 'retransmitAt' | 'keepaliveAt' | 'newHandshakeAt' | 'zeroKeysAt', at: number): void {
    peer[which] = at;
    this.arm(peer, at);
  }

  /** Makes sure the peer's timer fires no later than `at`. */
  private arm(peer: Peer, at: number): void {
    if (this.closed || at >= peer.timerAt) return;
    const entry = peer.timer;
    if (entry !== undefined && entry.heapIndex >= 0) {
      this.deadlines.moveEarlier(entry, at);
    } else {
      // A first deadline, or one set while the peer's entry waits among the due ones of a wake
      // (that entry is then stale: only `peer.timer` counts).
      const armed: PeerDeadline = { at, peer, heapIndex: -1 };
      peer.timer = armed;
      this.deadlines.push(armed);
    }
    peer.timerAt = at;
    if (at < this.wakeAt) this.scheduleWake(at);
  }

  /** Sets the one clock timer to fire at `at`. */
  private scheduleWake(at: number): void {
    if (this.wakeTimer !== undefined) this.clock.clearTimer(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimer(() => this.onWake(), Math.max(0, at - this.clock.now()));
  }

  /** Runs the timers of every peer whose deadline has come, then waits for the next deadline. */
  private onWake(): void {
    this.wakeTimer = undefined;
    this.wakeAt = Infinity;
    if (this.closed) return;
    const now = this.clock.now();
    // Deadlines set while these run (at `now` or later) wait for the next wake.
    const due: PeerDeadline[] = [];
    while (this.deadlines.size > 0 && this.deadlines.peek()!.at <= now) due.push(this.deadlines.pop()!);
    let i = 0;
    try {
      for (; i < due.length; i++) this.onDeadline(due[i], now);
    } finally {
      // Should one peer's timers throw, the peers after it keep their deadlines.
      for (i++; i < due.length; i++) if (due[i].peer.timer === due[i]) this.deadlines.push(due[i]);
      if (!this.closed && this.deadlines.size > 0) this.scheduleWake(this.deadlines.peek()!.at);
    }
  }

  private onDeadline(entry: PeerDeadline, now: number): void {
    const peer = entry.peer;
    if (peer.timer !== entry) return;
    peer.timer = undefined;
    peer.timerAt = Infinity;
    if (this.closed || !this.actions.isActive(peer)) return;
    try {
      this.expire(peer, now);
    } finally {
      this.rearm(peer);
    }
  }

  /** Runs each of the peer's deadlines that has come, in a fixed order. */
  private expire(peer: Peer, now: number): void {
    const t = this.limits;
    if (peer.retransmitAt !== 0 && now >= peer.retransmitAt) {
      peer.retransmitAt = 0;
      if (now - peer.attemptsStartedAt >= t.rekeyAttemptTimeMs) {
        // Give up: the peer did not answer for Rekey-Attempt-Time.
        peer.attemptsStartedAt = -Infinity;
        peer.keepaliveAt = 0;
        this.actions.handshakeAttemptsExhausted(peer);
        if (peer.zeroKeysAt === 0) peer.zeroKeysAt = now + t.rejectAfterTimeMs * 3;
      } else if (!this.actions.retryHandshake(peer)) {
        // Still inside the per-peer initiation interval: try again once it has passed.
        const retryAt = peer.lastInitiationSentAt + t.rekeyTimeoutMs;
        if (retryAt > now) peer.retransmitAt = retryAt;
      }
    }
    if (peer.keepaliveAt !== 0 && now >= peer.keepaliveAt) {
      peer.keepaliveAt = 0;
      this.actions.sendKeepalive(peer, now);
      if (peer.needAnotherKeepalive) {
        peer.needAnotherKeepalive = false;
        peer.keepaliveAt = now + t.keepaliveTimeoutMs;
      }
    }
    if (peer.newHandshakeAt !== 0 && now >= peer.newHandshakeAt) {
      peer.newHandshakeAt = 0;
      this.actions.startHandshake(peer);
    }
    if (peer.queue.length > 0 && peer.queue[0].expiresAt <= now) this.actions.expireQueued(peer, now);
    if (peer.zeroKeysAt !== 0 && now >= peer.zeroKeysAt) {
      peer.zeroKeysAt = 0;
      this.actions.zeroKeys(peer);
    }
  }

  /** Arms the peer's timer for its earliest remaining deadline. */
  private rearm(peer: Peer): void {
    if (this.closed || !this.actions.isActive(peer)) return;
    let next = Infinity;
    if (peer.retransmitAt !== 0 && peer.retransmitAt < next) next = peer.retransmitAt;
    if (peer.keepaliveAt !== 0 && peer.keepaliveAt < next) next = peer.keepaliveAt;
    if (peer.newHandshakeAt !== 0 && peer.newHandshakeAt < next) next = peer.newHandshakeAt;
    if (peer.zeroKeysAt !== 0 && peer.zeroKeysAt < next) next = peer.zeroKeysAt;
    if (peer.queue.length > 0 && peer.queue[0].expiresAt < next) next = peer.queue[0].expiresAt;
    if (next !== Infinity) this.arm(peer, next);
  }
}

/**
 * Binary min-heap of deadlines by time. Each entry knows its position, so an entry moves earlier
 * or leaves the heap in O(log n) without a search.
 */
class DeadlineHeap {
  private readonly items: PeerDeadline[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): PeerDeadline | undefined {
    return this.items[0];
  }

  push(entry: PeerDeadline): void {
    this.items.push(entry);
    this.siftUp(entry, this.items.length - 1);
  }

  pop(): PeerDeadline | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    top.heapIndex = -1;
    const last = items.pop()!;
    if (last !== top) this.siftDown(last, 0);
    return top;
  }

  /** Moves `entry` (in the heap) to the earlier time `at`. */
  moveEarlier(entry: PeerDeadline, at: number): void {
    entry.at = at;
    this.siftUp(entry, entry.heapIndex);
  }

  /** Takes `entry` (in the heap) out. */
  remove(entry: PeerDeadline): void {
    const items = this.items;
    const i = entry.heapIndex;
    entry.heapIndex = -1;
    const last = items.pop()!;
    if (last === entry) return;
    // The last entry fills the hole, then moves whichever way restores the order.
    if (i > 0 && items[Math.floor((i - 1) / 2)].at > last.at) this.siftUp(last, i);
    else this.siftDown(last, i);
  }

  clear(): void {
    for (const entry of this.items) entry.heapIndex = -1;
    this.items.length = 0;
  }

  /** Places `entry` at position `i` or above, moving later parents down. */
  private siftUp(entry: PeerDeadline, i: number): void {
    const items = this.items;
    while (i > 0) {
      const parent = Math.floor((i - 1) / 2);
      const above = items[parent];
      if (above.at <= entry.at) break;
      items[i] = above;
      above.heapIndex = i;
      i = parent;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  /** Places `entry` at position `i` or below, moving earlier children up. */
  private siftDown(entry: PeerDeadline, i: number): void {
    const items = this.items;
    const length = items.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && items[right].at < items[left].at ? right : left;
      const below = items[child];
      if (below.at >= entry.at) break;
      items[i] = below;
      below.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
