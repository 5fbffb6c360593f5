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
});
