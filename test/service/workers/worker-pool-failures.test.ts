/**
 * A data-plane worker thread's failure, as the worker pool sees it, with stand-in threads (no
 * Node.js 22 needed): an escaped error the worker reports, or the thread's end (or `error`) after
 * it started while the pool is not stopping, is reported once per worker; the failed worker that
 * still runs keeps sending and is stopped like the others; a start in which a worker fails is
 * refused; a stop does not wait for a worker that has exited.
 */
import type { Failure, ListenerHandle } from '../../../service/contracts';
import { WorkerPool, WorkerPoolOptions, WorkerThread } from '../../../service/workers/worker-pool';
import { capturingLogger } from '../helpers';
import { StandInThread } from './stand-in-thread';

interface Setup {
  readonly pool: WorkerPool;
  readonly threads: StandInThread[];
  readonly failures: string[];
}

function create(count: number, options: { ready?: boolean } & Partial<WorkerPoolOptions> = {}): Setup {
  const { ready, ...rest } = options;
  const threads: StandInThread[] = [];
  const failures: string[] = [];
  const pool = new WorkerPool({
    count,
    logger: capturingLogger().logger,
    workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1' },
    onWorkerFailed: (worker, reason) => failures.push(`${worker} ${reason}`),
    startThread: (data) => {
      const thread = new StandInThread(data, ready !== false);
      threads.push(thread);
      return thread as unknown as WorkerThread;
    },
    ...rest,
  });
  return { pool, threads, failures };
}

async function started(count: number): Promise<Setup> {
  const s = create(count);
  await s.pool.start();
  return s;
}

const listener: ListenerHandle = {
  name: 'l',
  protocol: 'udp',
  address: '127.0.0.1',
  port: 4000,
  send: (_datagram, done) => done?.({ code: 'NoActiveFlow', reason: 'not the main thread\'s client' }),
};

/** Lets the stand-in threads' messages (setImmediate) arrive. */
const turn = (): Promise<void> => new Promise((done) => setImmediate(done));

describe('worker pool: a failed worker thread', () => {
  test('an escaped error a worker reports is its failure, once; the worker still sends and is stopped like the others', async () => {
    const s = await started(3);
    s.threads[1].say({ kind: 'failed', origin: 'uncaughtException', error: 'TypeError: boom' });
    s.threads[1].say({ kind: 'failed', origin: 'unhandledRejection', error: 'Error: again' });
    expect(s.failures).toEqual(['2 uncaughtException: TypeError: boom']);

    // the failed worker still owns its client and sends for it until the stop drains it
    s.threads[1].say({ kind: 'flow', listener: 'l', address: '192.0.2.7', port: 40000 });
    const sent = new Promise<Failure | undefined>((done) => s.pool.send(listener, { data: Buffer.from('x'), address: '192.0.2.7', port: 40000 }, { messageId: 'm', index: 0, deadline: 0 }, done));
    const [send] = await s.threads[1].sends();
    s.threads[1].sent(send.id);
    await expect(sent).resolves.toBeUndefined();

    await s.pool.stop(100);
    expect(s.threads.map((t) => t.received.filter((m) => m.kind === 'stop'))).toEqual([
      [{ kind: 'stop', deadlineMs: 100 }], [{ kind: 'stop', deadlineMs: 100 }],
    ]);
    // its end, once stopped, is no second failure
    expect(s.failures).toEqual(['2 uncaughtException: TypeError: boom']);
  });

  test('a worker that ends while the pool runs has failed; an error and then the end are one failure', async () => {
    const s = await started(3);
    s.threads[0].exit(1);
    s.threads[1].emit('error', new RangeError('out of memory'));
    s.threads[1].exit(1);
    expect(s.failures).toEqual(['1 exited with code 1', '2 error: RangeError: out of memory']);
    await s.pool.stop(100);
    expect(s.failures).toHaveLength(2);
  });

  test('workers that end while the pool stops have not failed (one that ended before has, whatever its code)', async () => {
    const s = await started(3);
    s.threads[0].exit(0);
    await s.pool.stop(100);
    await turn();
    expect(s.threads.every((t) => t.hasExited)).toBe(true);
    expect(s.failures).toEqual(['1 exited with code 0']);
  });

  test('a worker whose error escapes while it starts fails the start, and is not reported as a failure of the running pool', async () => {
    const s = create(2, { ready: false });
    const starting = s.pool.start();
    s.threads[0].say({ kind: 'failed', origin: 'unhandledRejection', error: 'Error: no table' });
    await expect(starting).rejects.toThrow('data-plane worker 1 failed while starting: unhandledRejection: Error: no table');
    await turn();
    expect(s.failures).toEqual([]);
  });

  test('a worker that ends before it is ready fails the start, and is not reported as a failure of the running pool', async () => {
    const s = create(2, { ready: false });
    const starting = s.pool.start();
    s.threads[0].exit(1);
    await expect(starting).rejects.toThrow('data-plane worker 1 exited with code 1');
    expect(s.failures).toEqual([]);
  });
});

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
