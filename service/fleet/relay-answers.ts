/**
 * The answers a relay endpoint gave to one sender's requests, by requestId, so a retried request
 * (same requestId: the relay's own tries and the fleet's later tries of the same entry) is
 * answered from here and never served twice (docs/FLEET.md "Relay").
 *
 * Two generations of one Map each: the current one takes new requests, and every `memoryMs` (or
 * when it holds `maxEntries`) it becomes the previous one and the older previous one is dropped.
 * So an answer is kept at least `memoryMs` unless more than `maxEntries` requests of the sender
 * arrive within that time, and at most 2 × `maxEntries` are held: no per-entry timestamp, one
 * Map entry per request. A sender that stops sending has its answers aged by {@link RelayAnswers.expire}.
 */
import type { RelayAnswer } from './relay-codec';

/** An answer given; undefined while the owner is still sending. */
export type GivenAnswer = Omit<RelayAnswer, 'requestId'> | undefined;

export class RelayAnswers {
  private current = new Map<number, GivenAnswer>();
  private previous = new Map<number, GivenAnswer>();
  private currentSince: number;

  constructor(private readonly memoryMs: number, private readonly maxEntries: number, now: number) {
    this.currentSince = now;
  }

  /** Whether `requestId` was received before (answered or still being sent). */
  has(requestId: number): boolean {
    return this.current.has(requestId) || this.previous.has(requestId);
  }

  /** The answer given to `requestId`; undefined when none yet (or never received). */
  get(requestId: number): GivenAnswer {
    return this.current.has(requestId) ? this.current.get(requestId) : this.previous.get(requestId);
  }

  /** Records that `requestId` is being served. */
  begin(requestId: number, now: number): void {
    if (now - this.currentSince >= this.memoryMs || this.current.size >= this.maxEntries) this.rotate(now);
    this.current.set(requestId, undefined);
  }

  /**
   * Ages the answers of a sender that may have stopped sending (a member that left): the current
   * generation becomes the previous one once it is `memoryMs` old, as at {@link begin}, so the
   * answers of a silent sender are gone after two calls `memoryMs` apart.
   */
  expire(now: number): void {
    if (now - this.currentSince >= this.memoryMs) this.rotate(now);
  }

  private rotate(now: number): void {
    this.previous = this.current;
    this.current = new Map();
    this.currentSince = now;
  }

  /** Records the answer given to `requestId`, while it is still remembered. */
  settle(requestId: number, answer: NonNullable<GivenAnswer>): void {
    if (this.current.has(requestId)) this.current.set(requestId, answer);
    else if (this.previous.has(requestId)) this.previous.set(requestId, answer);
  }

  /** Forgets `requestId`: nothing was sent for it, a later try is served afresh. */
  forget(requestId: number): void {
    this.current.delete(requestId);
    this.previous.delete(requestId);
  }

  /** Requests remembered. */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
