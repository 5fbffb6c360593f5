/**
 * The service's wiring of a data-plane worker thread's failure (runtime.ts and the stop path of
 * main.ts), with stand-in worker threads so that it runs on any Node.js: a failure the pool
 * reports while the service starts is handed to the stop path once it is wired, the service then
 * drains (its health check fails), stops every worker still running (the failed one too), and the
 * process exits 1.
 */
import { get } from 'node:http';
import { resolve } from 'node:path';
import { startLocalService } from '../../../service/local-service';
import { handleWorkerFailures, WORKER_FAILED_LOG_MESSAGE } from '../../../service/process-errors';
import { handleStopSignals } from '../../../service/stop-signals';
import { capturingLogger, eventually, freePort } from '../helpers';
import type { StandInThread } from './stand-in-thread';

const mockThreads: StandInThread[] = [];

// jest hoists these above the imports: the service is built with them
// the worker count the test asks for, whatever this Node.js's dgram offers
jest.mock('../../../service/workers/worker-count', () => {
  const actual = jest.requireActual('../../../service/workers/worker-count');
  return { ...actual, resolveWorkerCount: (inputs: { requested?: number }) => ({ count: inputs.requested ?? 1, requested: inputs.requested ?? 1 }) };
});
// worker threads: stand-ins the test speaks for
jest.mock('../../../service/workers/worker-pool', () => {
  const actual = jest.requireActual('../../../service/workers/worker-pool');
  const { StandInThread: Thread } = jest.requireActual('./stand-in-thread');
  class StandInPool extends actual.WorkerPool {
    constructor(options: object) {
      super({
        ...options,
        startThread: (data: unknown) => {
          const thread = new Thread(data);
          mockThreads.push(thread);
          return thread;
        },
      });
    }
  }
  return { ...actual, WorkerPool: StandInPool };
});

const HANDLER = resolve(__dirname, '..', 'fixtures', 'echo-handler.cjs');

function healthStatus(url: string): Promise<number> {
  return new Promise((done, fail) => get(`${url}/healthz`, (res) => {
    res.resume();
    done(res.statusCode ?? 0);
  }).on('error', fail));
}

test('a worker that fails before the stop path is wired stops the service once it is: unhealthy, every running worker stopped, exit 1', async () => {
  const { logger, records } = capturingLogger();
  const service = await startLocalService({
    document: {
      Listeners: [{
        Name: 'l',
        Protocol: 'udp',
        Port: await freePort(),
        BindAddress: '127.0.0.1',
        Destinations: [{ Name: 'echo', Type: 'local', Module: HANDLER }],
      }],
    },
    logger,
    metricsIntervalSeconds: 0,
    workers: 3,
  });
  try {
    expect(service.workers).toBe(3);
    expect(mockThreads).toHaveLength(2);
    expect(await healthStatus(service.healthUrl)).toBe(200);

    // worker 2 fails while main.ts has not wired its stop path yet, then its thread ends too
    mockThreads[1].say({ kind: 'failed', origin: 'uncaughtException', error: 'TypeError: boom' });
    mockThreads[1].exit(1);

    // worker 1 takes its time to stop: the service is seen draining meanwhile
    const slow = mockThreads[0];
    const post = slow.postMessage.bind(slow);
    slow.postMessage = (message) => (message.kind === 'stop' ? void slow.received.push(message) : post(message));

    let exit!: (code: number) => void;
    const exited = new Promise<number>((done) => (exit = done));
    const stop = handleStopSignals({
      stop: () => service.stop(),
      logger,
      process: { on: () => undefined, exit: (code) => exit(code) },
      deadlineMs: 20_000,
    });
    handleWorkerFailures({ logger, stop, workers: service });

    await eventually(() => slow.received.some((m) => m.kind === 'stop'), 10_000, 'the stop to reach worker 1');
    expect(await healthStatus(service.healthUrl)).toBe(503);
    slow.say({ kind: 'stopped' });
    await expect(exited).resolves.toBe(1);
    expect(records.filter((r) => r.message === WORKER_FAILED_LOG_MESSAGE).map((r) => r.attributes)).toEqual([
      { worker: 2, reason: 'uncaughtException: TypeError: boom' },
    ]);
    // the stop reached the worker that still ran; the one that had ended was not waited for
    expect(mockThreads[0].received.filter((m) => m.kind === 'stop')).toHaveLength(1);
    expect(mockThreads[1].received.filter((m) => m.kind === 'stop')).toEqual([]);
  } finally {
    await service.stop();
  }
}, 30_000);
