/**
 * The protocol timers of every peer (whitepaper §6), driven by named events as in wireguard-go's
 * `timers.go`: the device reports what happened (`dataSent`, `handshakeInitiated`, …) and this
 * module sets or clears the peer's deadlines; when a deadline comes, it calls the matching
 * {@link PeerTimerActions} handler.
 *
 * One clock timer serves all peers: every peer's earliest deadline sits in a min-heap and the
 * clock timer is set for the top of the heap. No event allocates unless it moves the peer's
 * earliest deadline earlier (one heap entry).
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
  /** Every peer's next deadline (plus stale ones, skipped when due), earliest first. */
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

  /** The peer leaves the device: its pending deadline never fires. */
  stop(peer: Peer): void {
    peer.timer = undefined;
    peer.timerAt = Infinity;
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
    // The peer's previous deadline entry, if any, becomes stale: only `peer.timer` counts.
    const entry: PeerDeadline = { at, peer };
    peer.timer = entry;
    peer.timerAt = at;
    this.deadlines.push(entry);
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
      for (i++; i < due.length; i++) this.deadlines.push(due[i]);
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

/** Binary min-heap of deadlines by time. */
class DeadlineHeap {
  private readonly items: PeerDeadline[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): PeerDeadline | undefined {
    return this.items[0];
  }

  push(entry: PeerDeadline): void {
    const items = this.items;
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = Math.floor((i - 1) / 2);
      if (items[parent].at <= entry.at) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = entry;
  }

  pop(): PeerDeadline | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right].at < items[left].at ? right : left;
      if (items[child].at >= last.at) break;
      items[i] = items[child];
      i = child;
    }
    items[i] = last;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
