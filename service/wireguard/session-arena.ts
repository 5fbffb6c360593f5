/**
 * Memory for the key material and replay rings of sessions, carved from dedicated 64 KiB slabs
 * instead of one ArrayBuffer per object (each costs a heap object besides its bytes).
 *
 * Slabs hold nothing but session data, all of which lives at most a few Reject-After-Times, so a
 * slab is released soon after its last session ends; Node's shared Buffer pool is not used because
 * a long-lived slice of it would keep a chunk full of short-lived packet buffers alive. Slab
 * memory is never handed out twice, so every block starts zeroed.
 */

const SLAB_BYTES = 64 * 1024;
/** Blocks start on 8-byte boundaries (typed-array views need their element alignment). */
const ALIGN = 8;

let slab = new ArrayBuffer(0);
let used = 0;

/** A zero-filled block of `length` bytes for session data. */
export function sessionBlock(length: number): Buffer {
  const size = Math.ceil(length / ALIGN) * ALIGN;
  if (used + size > slab.byteLength) {
    slab = new ArrayBuffer(Math.max(SLAB_BYTES, size));
    used = 0;
  }
  const block = Buffer.from(slab, used, length);
  used += size;
  return block;
}
