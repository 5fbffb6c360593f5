/**
 * Packet counts of handler threads that share nothing with the process reading them: each thread
 * keeps its counts in a small file of its own (one positioned write per batch, no messages), and
 * the reader sums the files. Used by the worker-scaling scenario, whose local handlers run in
 * threads of each data-plane worker (bench/fixtures/thread-counting-handler.ts).
 *
 * A reset is a new generation: the reader writes its number into the directory's generation file,
 * and each thread, reading it with every batch (one positioned read), starts counting the new
 * generation at its first batch after the change. A count file holds {@link THREAD_COUNT_FIELDS}
 * little-endian doubles: the generation, its packets and batches, and the epoch ms of its first
 * and latest batch.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Environment variable naming the directory of the count files. */
export const THREAD_COUNTS_DIR_VARIABLE = 'PGB_THREAD_COUNTS_DIR';
/** Doubles per count file: generation, packets, batches, firstAt, lastAt. */
export const THREAD_COUNT_FIELDS = 5;
const SUFFIX = '.counts';
const GENERATION_FILE = 'generation';

/** One thread's counts of one generation, as its file holds them. */
export interface ThreadCounts {
  readonly generation: number;
  readonly packets: number;
  readonly batches: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** Starts a new generation in `dir` (and creates the generation file, for generation 0). */
export function startGeneration(dir: string, generation: number): void {
  writeFileSync(join(dir, GENERATION_FILE), Buffer.from(new Float64Array([generation]).buffer));
}

/** The writing side: one thread's counts and its file. */
export class ThreadCountFile {
  private readonly counts = new Float64Array(THREAD_COUNT_FIELDS);
  private readonly bytes = new Uint8Array(this.counts.buffer);
  private readonly generation = new Float64Array(1);
  private readonly generationBytes = new Uint8Array(this.generation.buffer);
  private readonly fd: number;
  private readonly generationFd: number;

  /** Creates `<dir>/<name>.counts`; the generation file must exist (see {@link startGeneration}). */
  constructor(dir: string, name: string) {
    this.generationFd = openSync(join(dir, GENERATION_FILE), 'r');
    this.fd = openSync(join(dir, `${name}${SUFFIX}`), 'w');
    this.counts[0] = -1;
  }

  /** Counts a batch of `packets` handled at `now` (epoch ms) and writes the counts. */
  record(packets: number, now: number): void {
    const c = this.counts;
    readSync(this.generationFd, this.generationBytes, 0, this.generationBytes.length, 0);
    if (this.generation[0] !== c[0]) {
      c[0] = this.generation[0];
      c[1] = 0;
      c[2] = 0;
      c[3] = now;
    }
    c[1] += packets;
    c[2] += 1;
    c[4] = now;
    writeSync(this.fd, this.bytes, 0, this.bytes.length, 0);
  }

  close(): void {
    closeSync(this.fd);
    closeSync(this.generationFd);
  }
}

/** Every thread's counts in `dir`, whatever their generation. */
export function readThreadCounts(dir: string): ThreadCounts[] {
  const out: ThreadCounts[] = [];
  const values = new Float64Array(THREAD_COUNT_FIELDS);
  for (const file of readdirSync(dir).filter((f) => f.endsWith(SUFFIX))) {
    const data = readFileSync(join(dir, file));
    if (data.length < values.byteLength) continue;
    new Uint8Array(values.buffer).set(data.subarray(0, values.byteLength));
    out.push({ generation: values[0], packets: values[1], batches: values[2], firstAt: values[3], lastAt: values[4] });
  }
  return out;
}

/** What the threads counted in one generation, in the counting receiver's terms. */
export interface GenerationCounts {
  readonly count: number;
  /** From the first batch of the generation to the latest, over every thread, ms (0 before two batches). */
  readonly spanMs: number;
  /** Packets per thread that counted any, busiest first. */
  readonly perThread: number[];
  readonly batchesPerThread: number[];
}

/** The counts of `generation`; threads still on an older one counted nothing in it. */
export function countsOf(threads: readonly ThreadCounts[], generation: number): GenerationCounts {
  const current = threads.filter((t) => t.generation === generation && t.packets > 0).sort((a, b) => b.packets - a.packets);
  const firstAt = Math.min(...current.map((t) => t.firstAt));
  const lastAt = Math.max(...current.map((t) => t.lastAt));
  return {
    count: current.reduce((sum, t) => sum + t.packets, 0),
    spanMs: current.length > 0 ? lastAt - firstAt : 0,
    perThread: current.map((t) => t.packets),
    batchesPerThread: current.map((t) => t.batches),
  };
}
