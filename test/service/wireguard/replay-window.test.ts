import { REPLAY_WINDOW_SIZE, ReplayWindow } from '../../../service/wireguard/replay-window';

const LIMIT = 2 ** 60;

describe('ReplayWindow', () => {
  test('the window is at least 2048 counters wide, like the reference implementations', () => {
    expect(REPLAY_WINDOW_SIZE).toBeGreaterThanOrEqual(2048);
  });

  test('in order: every counter accepted once', () => {
    const w = new ReplayWindow();
    for (let i = 0; i < 10_000; i++) expect(w.accept(i, LIMIT)).toBe(true);
    for (let i = 10_000 - REPLAY_WINDOW_SIZE; i < 10_000; i++) expect(w.accept(i, LIMIT)).toBe(false);
  });

  test('out of order within the window: accepted once each', () => {
    const w = new ReplayWindow();
    expect(w.accept(100, LIMIT)).toBe(true);
    expect(w.accept(50, LIMIT)).toBe(true);
    expect(w.accept(99, LIMIT)).toBe(true);
    expect(w.accept(0, LIMIT)).toBe(true);
    expect(w.accept(50, LIMIT)).toBe(false);
    expect(w.accept(0, LIMIT)).toBe(false);
    expect(w.accept(101, LIMIT)).toBe(true);
  });

  test('a shuffled run of counters inside the window is accepted exactly once each', () => {
    const w = new ReplayWindow();
    const counters = Array.from({ length: 2000 }, (_, i) => i);
    // Deterministic shuffle.
    let seed = 7;
    for (let i = counters.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [counters[i], counters[j]] = [counters[j], counters[i]];
    }
    for (const c of counters) expect(w.accept(c, LIMIT)).toBe(true);
    for (const c of counters) expect(w.accept(c, LIMIT)).toBe(false);
  });

  test('too old: a counter more than the window behind the highest one is rejected', () => {
    const w = new ReplayWindow();
    expect(w.accept(20_000, LIMIT)).toBe(true);
    expect(w.accept(20_000 - REPLAY_WINDOW_SIZE, LIMIT)).toBe(true);
    expect(w.accept(20_000 - REPLAY_WINDOW_SIZE - 1, LIMIT)).toBe(false);
    expect(w.accept(5, LIMIT)).toBe(false);
  });

  test('a jump far ahead clears the bits of the skipped counters', () => {
    const w = new ReplayWindow();
    for (let i = 0; i < 64; i++) w.accept(i, LIMIT);
    // 8192 = 256 blocks of 32 ahead: block indexes wrap to the same ring slots.
    expect(w.accept(8192, LIMIT)).toBe(true);
    expect(w.accept(8192 - 32, LIMIT)).toBe(true);
    expect(w.accept(8192 + 5, LIMIT)).toBe(true);
    expect(w.accept(8192 + 5, LIMIT)).toBe(false);
    expect(w.accept(1_000_000, LIMIT)).toBe(true);
    expect(w.accept(1_000_000 - 1, LIMIT)).toBe(true);
    expect(w.accept(1_000_000 - 100, LIMIT)).toBe(true);
  });

  test('counters at or above the limit (Reject-After-Messages) and beyond 2^53 are rejected', () => {
    const w = new ReplayWindow();
    expect(w.accept(10, 10)).toBe(false);
    expect(w.accept(9, 10)).toBe(true);
    expect(w.accept(Infinity, LIMIT)).toBe(false);
    expect(w.accept(2 ** 53, LIMIT)).toBe(false);
  });

  test('mayAccept predicts accept without changing state', () => {
    const w = new ReplayWindow();
    expect(w.mayAccept(3, LIMIT)).toBe(true);
    expect(w.mayAccept(3, LIMIT)).toBe(true);
    w.accept(3, LIMIT);
    expect(w.mayAccept(3, LIMIT)).toBe(false);
    expect(w.mayAccept(2, LIMIT)).toBe(true);
    w.accept(100_000, LIMIT);
    expect(w.mayAccept(2, LIMIT)).toBe(false);
  });

  test('the window is exactly 2048 counters: the oldest counter inside it is accepted, one older is not', () => {
    expect(REPLAY_WINDOW_SIZE).toBe(2048);
    const w = new ReplayWindow();
    expect(w.accept(5000, LIMIT)).toBe(true);
    expect(w.mayAccept(5000 - 2048, LIMIT)).toBe(true);
    expect(w.mayAccept(5000 - 2049, LIMIT)).toBe(false);
    expect(w.accept(5000 - 2049, LIMIT)).toBe(false);
    expect(w.accept(5000 - 2048, LIMIT)).toBe(true);
    expect(w.accept(5000 - 2048, LIMIT)).toBe(false);
  });

  test('just behind the highest counter: accepted once, then a duplicate', () => {
    const w = new ReplayWindow();
    expect(w.accept(31, LIMIT)).toBe(true);
    expect(w.accept(32, LIMIT)).toBe(true);
    expect(w.accept(30, LIMIT)).toBe(true);
    expect(w.accept(30, LIMIT)).toBe(false);
    expect(w.accept(31, LIMIT)).toBe(false);
    expect(w.accept(32, LIMIT)).toBe(false);
    expect(w.mayAccept(29, LIMIT)).toBe(true);
  });

  test('counter 0 first, then duplicates of it, are told apart from a fresh window', () => {
    const w = new ReplayWindow();
    expect(w.mayAccept(0, LIMIT)).toBe(true);
    expect(w.accept(0, LIMIT)).toBe(true);
    expect(w.mayAccept(0, LIMIT)).toBe(false);
    expect(w.accept(0, LIMIT)).toBe(false);
  });

  test('the ring wraps: a slide of exactly the ring length reuses every slot, and none keeps a stale bit', () => {
    // 65 blocks of 32 counters: counter c and c + 65 × 32 share a ring slot and bit.
    const ring = 65 * 32;
    const w = new ReplayWindow();
    for (let i = 0; i < 200; i++) expect(w.accept(i, LIMIT)).toBe(true);
    expect(w.accept(ring + 199, LIMIT)).toBe(true);
    // Same slots as 0..198, which were seen: the bits were cleared by the slide.
    for (let i = ring + 150; i < ring + 199; i++) expect(w.accept(i, LIMIT)).toBe(true);
    expect(w.accept(ring + 150, LIMIT)).toBe(false);
    // Sliding one block at a time across several wraps keeps every counter inside the window once.
    for (let c = ring + 200; c < 5 * ring; c++) expect(w.accept(c, LIMIT)).toBe(true);
    for (let c = 5 * ring - 1; c >= 5 * ring - REPLAY_WINDOW_SIZE; c -= 97) expect(w.accept(c, LIMIT)).toBe(false);
  });

  test('far ahead: a jump beyond the whole ring forgets everything older, accepts the newer once', () => {
    const w = new ReplayWindow();
    for (let i = 0; i < 3000; i++) w.accept(i, LIMIT);
    const far = 2 ** 40 + 17;
    expect(w.accept(far, LIMIT)).toBe(true);
    expect(w.accept(far, LIMIT)).toBe(false);
    expect(w.accept(2999, LIMIT)).toBe(false);
    for (let c = far - REPLAY_WINDOW_SIZE; c < far; c += 31) expect(w.accept(c, LIMIT)).toBe(true);
    expect(w.accept(far - REPLAY_WINDOW_SIZE - 1, LIMIT)).toBe(false);
  });

  test('windows created one after another share a slab without sharing bits', () => {
    const windows = Array.from({ length: 300 }, () => new ReplayWindow());
    windows.forEach((w, i) => {
      expect(w.accept(i, LIMIT)).toBe(true);
      expect(w.accept(i + 2000, LIMIT)).toBe(true);
    });
    windows.forEach((w, i) => {
      expect(w.mayAccept(i, LIMIT)).toBe(false);
      expect(w.mayAccept(i + 2000, LIMIT)).toBe(false);
      // the counters the other windows accepted are still unseen in this one
      expect(w.mayAccept(i + 1, LIMIT)).toBe(true);
      expect(w.mayAccept(i + 1999, LIMIT)).toBe(true);
    });
  });

  test('negative and fractional counters are rejected', () => {
    const w = new ReplayWindow();
    expect(w.accept(-1, LIMIT)).toBe(false);
    expect(w.accept(1.5, LIMIT)).toBe(false);
    expect(w.mayAccept(-1, LIMIT)).toBe(false);
  });
});
