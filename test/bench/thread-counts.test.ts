/**
 * The worker-scaling benchmark's packet counts: handler threads write them to files of their own,
 * the agent sums the files of the generation its latest reset started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countsOf, readThreadCounts, startGeneration, ThreadCountFile } from '../../bench/lib/thread-counts';

describe('thread count files', () => {
  let dir: string;
  const files: ThreadCountFile[] = [];
  const open = (name: string): ThreadCountFile => {
    const f = new ThreadCountFile(dir, name);
    files.push(f);
    return f;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgb-thread-counts-'));
    startGeneration(dir, 0);
  });

  afterEach(() => {
    for (const f of files.splice(0)) f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each thread\'s file holds its packets and batches; the reader sums them, busiest first, over first to latest batch', () => {
    const a = open('1-1');
    const b = open('1-2');
    a.record(100, 1_000);
    a.record(40, 1_010);
    b.record(100, 1_005);
    expect(countsOf(readThreadCounts(dir), 0)).toEqual({ count: 240, spanMs: 10, perThread: [140, 100], batchesPerThread: [2, 1] });
  });

  test('after a reset only later batches count, and the span starts at the first of them, however long the pauses within', () => {
    const a = open('1-1');
    const b = open('1-2');
    a.record(100, 1_000);
    b.record(100, 1_000);
    startGeneration(dir, 1);
    a.record(10, 5_000);
    b.record(5, 5_005);
    a.record(10, 5_500);
    b.record(5, 6_000);
    expect(countsOf(readThreadCounts(dir), 1)).toEqual({ count: 30, spanMs: 1_000, perThread: [20, 10], batchesPerThread: [2, 2] });
  });

  test('a thread with no batch since the reset is left out; one born after it counts', () => {
    const a = open('1-1');
    a.record(100, 1_000);
    startGeneration(dir, 1);
    open('1-3').record(7, 2_000);
    expect(countsOf(readThreadCounts(dir), 1)).toEqual({ count: 7, spanMs: 0, perThread: [7], batchesPerThread: [1] });
  });

  test('nothing counted: no packets and no span', () => {
    open('1-1');
    expect(countsOf(readThreadCounts(dir), 0)).toEqual({ count: 0, spanMs: 0, perThread: [], batchesPerThread: [] });
  });
});
