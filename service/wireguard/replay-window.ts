/**
 * Sliding-window replay filter for transport counters (RFC 6479 style): a ring of 32-bit blocks
 * remembers which of the last {@link REPLAY_WINDOW_SIZE} counters below the highest one seen have
 * arrived. Counters ahead of the window slide it forward in O(blocks skipped); no per-packet
 * allocation.
 *
 * Size: 65 blocks (2080 bits, 260 bytes in the session arena) for a window of exactly 2048
 * counters, at least the 1984 of the first WireGuard implementations (2048-bit rings less one
 * machine word; the Linux kernel and wireguard-go later widened theirs to 8128). A packet
 * overtaken by more than 2048 later packets of its session is dropped like a lost one; the
 * window only bounds how much reordering is tolerated, never what is accepted twice. The ring
 * lives in a block of a shared slab (session-arena.ts), so a window costs no typed-array object.
 */
/* eslint-disable no-bitwise -- a bitmap */
import { sessionWords } from './session-arena';

const BLOCK_BITS = 32;
const RING_BLOCKS = 65;

/** How far behind the highest counter seen a counter may be and still be accepted (2048). */
export const REPLAY_WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

/** Replay filter of one receiving key. */
export class ReplayWindow {
  /** The slab's shared words; this window's ring is `ring[base]` to `ring[base + RING_BLOCKS - 1]`. */
  private readonly ring: Uint32Array;
  private readonly base: number;
  /** Highest counter accepted; -1 before the first. */
  private greatest = -1;

  constructor() {
    const block = sessionWords(RING_BLOCKS);
    this.ring = block.words;
    this.base = block.start;
  }

  /**
   * Records `counter` and returns true when it is new: not seen before, not older than the window,
   * and below `limit` (Reject-After-Messages). Call only after the packet authenticated.
   */
  accept(counter: number, limit: number): boolean {
    if (!(counter < limit) || !Number.isSafeInteger(counter) || counter < 0) return false;
    const block = Math.floor(counter / BLOCK_BITS);
    if (counter > this.greatest) {
      const current = Math.floor(this.greatest / BLOCK_BITS);
      const advance = Math.min(block - current, RING_BLOCKS);
      for (let i = 1; i <= advance; i++) this.ring[this.base + ((current + i) % RING_BLOCKS)] = 0;
      this.greatest = counter;
    } else if (this.greatest - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    const index = this.base + (block % RING_BLOCKS);
    const bit = 1 << (counter % BLOCK_BITS);
    if ((this.ring[index] & bit) !== 0) return false;
    this.ring[index] |= bit;
    return true;
  }

  /** Would `counter` be accepted now? (No state change; used to drop stale packets before decrypting.) */
  mayAccept(counter: number, limit: number): boolean {
    if (!(counter < limit) || !Number.isSafeInteger(counter) || counter < 0) return false;
    if (counter > this.greatest) return true;
    if (this.greatest - counter > REPLAY_WINDOW_SIZE) return false;
    return (this.ring[this.base + (Math.floor(counter / BLOCK_BITS) % RING_BLOCKS)] & (1 << (counter % BLOCK_BITS))) === 0;
  }
}
