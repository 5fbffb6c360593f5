/**
 * Stopping the worker pool, with stand-in threads (no Node.js 22 needed): a stop does not wait for
 * a worker that has exited.
 */
import { WorkerPool, WorkerThread } from '../../../service/workers/worker-pool';
import { capturingLogger } from '../helpers';
import { StandInThread } from './stand-in-thread';

interface Setup {
  readonly pool: WorkerPool;
  readonly threads: StandInThread[];
}

async function started(count: number): Promise<Setup> {
  const threads: StandInThread[] = [];
  const pool = new WorkerPool({
    count,
    logger: capturingLogger().logger,
    workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1' },
    startThread: (data) => {
      const thread = new StandInThread(data);
      threads.push(thread);
      return thread as unknown as WorkerThread;
    },
  });
  await pool.start();
  return { pool, threads };
}

describe('worker pool: stopping after a worker exited', () => {
  afterEach(() => jest.useRealTimers());

  test('a worker that exited already is not waited for: the stop ends at once', async () => {
    const s = await started(2);
    s.threads[0].exit(1);
    jest.useFakeTimers();
    let stopped = false;
    void s.pool.stop(5_000).then(() => {
      stopped = true;
    });
    // no timer runs: only promise jobs
    for (let i = 0; i < 10 && !stopped; i++) await Promise.resolve();
    expect(stopped).toBe(true);
    expect(s.threads[0].received.filter((m) => m.kind === 'stop')).toEqual([]);
  });
});
