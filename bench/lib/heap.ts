/** Memory readings for the memory scenario (the agent runs with --expose-gc). */

/** Heap and resident set after full garbage collections, bytes. */
export interface MemoryReading {
  readonly heapUsed: number;
  readonly rss: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** Collects garbage until the heap stops shrinking (at most 8 rounds), then reads memory. */
export async function settledMemory(): Promise<MemoryReading> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory readings need node --expose-gc');
  let last = Infinity;
  for (let i = 0; i < 8; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 1024) break;
    last = used;
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
}
