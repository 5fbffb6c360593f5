/**
 * Memory for the key material and replay rings of sessions, carved from dedicated 64 KiB slabs
 * instead of one ArrayBuffer per object (each costs a heap object besides its bytes).
 *
 * Slabs hold nothing but session data, all of which lives at most a few Reject-After-Times, so a
 * slab is released soon after its last session ends; Node's shared Buffer pool is not used because
 * a long-lived slice of it would keep a chunk full of short-lived packet buffers alive. Slab
 * memory is never handed out twice, so every block starts zeroed.
 *
 * {@link sessionWords} hands out blocks of 32-bit words as an index into one Uint32Array view
 * shared by every block of the slab, so a block costs no heap object of its own.
 */

const SLAB_BYTES = 64 * 1024;
/** Blocks start on 8-byte boundaries (typed-array views need their element alignment). */
const ALIGN = 8;

let slab = new ArrayBuffer(0);
let used = 0;
/** The 32-bit view of `slab`, made on first use per slab. */
let slabWords: Uint32Array | undefined;

/** Reserves `length` bytes of the current slab (a new slab when it has no room); returns their offset. */
function reserve(length: number): number {
  const size = Math.ceil(length / ALIGN) * ALIGN;
  if (used + size > slab.byteLength) {
    slab = new ArrayBuffer(Math.max(SLAB_BYTES, size));
    slabWords = undefined;
    used = 0;
  }
  const offset = used;
  used += size;
  return offset;
}

/** A zero-filled block of `length` bytes for session data. */
export function sessionBlock(length: number): Buffer {
  const offset = reserve(length);
  return Buffer.from(slab, offset, length);
}

/** A zero-filled block of 32-bit words: `words[start]` to `words[start + count - 1]`. */
export interface WordBlock {
  /** The view shared by every word block of one slab. */
  readonly words: Uint32Array;
  readonly start: number;
}

/** A zero-filled block of `count` 32-bit words for session data. */
export function sessionWords(count: number): WordBlock {
  const offset = reserve(count * Uint32Array.BYTES_PER_ELEMENT);
  slabWords ??= new Uint32Array(slab);
  return { words: slabWords, start: offset / Uint32Array.BYTES_PER_ELEMENT };
}
