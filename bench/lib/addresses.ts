/** Loopback client addresses for scenarios that need many distinct clients (all of 127/8 is local on Linux). */

/** The i-th address of block `block` (1–254): 127.block.0.0 + i; distinct for i below 65536 × (255 − block). */
export function loopbackAddress(block: number, i: number): string {
  const n = block * 65536 + i;
  return `127.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}
