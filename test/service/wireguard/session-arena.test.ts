import { sessionBlock } from '../../../service/wireguard/session-arena';

describe('session arena', () => {
  test('hands out zeroed, 8-byte aligned blocks that never overlap', () => {
    const blocks = Array.from({ length: 200 }, (_, i) => sessionBlock(1 + (i % 70) * 17));
    for (const [i, block] of blocks.entries()) {
      expect(block.every((byte) => byte === 0)).toBe(true);
      expect(block.byteOffset % 8).toBe(0);
      block.fill(1 + (i % 255));
    }
    // Each block still holds its own fill: no later block shares a byte with it.
    for (const [i, block] of blocks.entries()) {
      expect(block.length).toBe(1 + (i % 70) * 17);
      expect(block.every((byte) => byte === 1 + (i % 255))).toBe(true);
    }
  });

  test('serves blocks larger than a slab', () => {
    const block = sessionBlock(100 * 1024);
    expect(block.length).toBe(100 * 1024);
    expect(block.every((byte) => byte === 0)).toBe(true);
  });
});
