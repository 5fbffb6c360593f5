import { sessionBlock, sessionWords } from '../../../service/wireguard/session-arena';

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

describe('session arena words', () => {
  test('word blocks are zeroed, never overlap, and share one view per slab', () => {
    const blocks = Array.from({ length: 1000 }, () => sessionWords(65));
    for (const [i, block] of blocks.entries()) {
      for (let k = 0; k < 65; k++) expect(block.words[block.start + k]).toBe(0);
      block.words.fill(i + 1, block.start, block.start + 65);
    }
    for (const [i, block] of blocks.entries()) {
      for (let k = 0; k < 65; k++) expect(block.words[block.start + k]).toBe(i + 1);
    }
    // 1000 blocks of 264 bytes fill several 64 KiB slabs; blocks of one slab share its view.
    const views = new Set(blocks.map((b) => b.words));
    expect(views.size).toBeGreaterThan(1);
    expect(views.size).toBeLessThan(10);
  });

  test('word blocks and byte blocks come from the same slabs without overlapping', () => {
    const words = sessionWords(4);
    const bytes = sessionBlock(16);
    words.words.fill(0xffffffff, words.start, words.start + 4);
    expect(bytes.every((b) => b === 0)).toBe(true);
  });
});
