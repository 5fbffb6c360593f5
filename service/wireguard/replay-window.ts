/**
 * Sliding-window replay filter for transport counters (RFC 6479 style): a ring of 32-bit blocks
 * remembers which of the last {@link REPLAY_WINDOW_SIZE} counters below the highest one seen have
 * arrived. Counters ahead of the window slide it forward in O(blocks skipped); no per-packet
 * allocation.
 */
/* eslint-disable no-bitwise -- a bitmap */
import { sessionBlock } from './session-arena';

const BLOCK_BITS = 32;
const RING_BLOCKS = 256;
const BLOCK_MASK = RING_BLOCKS - 1;

/** How far behind the highest counter seen a counter may be and still be accepted (8160). */
export const REPLAY_WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

/** A zeroed ring of {@link RING_BLOCKS} blocks in the session arena. */
function ringInArena(): Uint32Array {
  const bytes = sessionBlock(RING_BLOCKS * Uint32Array.BYTES_PER_ELEMENT);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, RING_BLOCKS);
}

/** Replay filter of one receiving key. */
export class ReplayWindow {
  private readonly ring = ringInArena();
  private greatest = 0;
  private seenAny = false;

  /**
   * Records `counter` and returns true when it is new: not seen before, not older than the window,
   * and below `limit` (Reject-After-Messages). Call only after the packet authenticated.
   */
  accept(counter: number, limit: number): boolean {
    if (!(counter < limit) || !Number.isSafeInteger(counter)) return false;
    const block = Math.floor(counter / BLOCK_BITS);
    if (!this.seenAny || counter > this.greatest) {
      const current = Math.floor(this.greatest / BLOCK_BITS);
      let advance = this.seenAny ? block - current : block + 1;
      if (advance > RING_BLOCKS) advance = RING_BLOCKS;
      for (let i = 1; i <= advance; i++) this.ring[(current + i) & BLOCK_MASK] = 0;
      this.greatest = counter;
      this.seenAny = true;
    } else if (this.greatest - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    const index = block & BLOCK_MASK;
    const bit = 1 << (counter % BLOCK_BITS);
    if ((this.ring[index] & bit) !== 0) return false;
    this.ring[index] |= bit;
    return true;
  }

  /** Would `counter` be accepted now? (No state change; used to drop stale packets before decrypting.) */
  mayAccept(counter: number, limit: number): boolean {
    if (!(counter < limit) || !Number.isSafeInteger(counter)) return false;
    if (!this.seenAny || counter > this.greatest) return true;
    if (this.greatest - counter > REPLAY_WINDOW_SIZE) return false;
    return (this.ring[Math.floor(counter / BLOCK_BITS) & BLOCK_MASK] & (1 << (counter % BLOCK_BITS))) === 0;
  }
}
