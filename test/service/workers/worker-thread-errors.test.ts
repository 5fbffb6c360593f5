/**
 * A data-plane worker thread's last line for defects: an escaped exception or rejection is logged
 * with context and reported to the main thread once, and the thread runs on (a real worker thread;
 * `process.on('uncaughtException')` inside it is what catches them).
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { processErrorLogMessage } from '../../../service/process-errors';
import type { WorkerFailed } from '../../../service/workers/worker-messages';
import { reportWorkerThreadErrors } from '../../../service/workers/worker-thread-errors';
import { eventually } from '../helpers';

const FIXTURE = resolve(__dirname, '..', 'fixtures', 'failing-worker-thread.ts');

test('the first escape is reported with its bounded description; every one is logged', () => {
  const proc = new EventEmitter();
  const reports: WorkerFailed[] = [];
  const logged: Array<Record<string, unknown>> = [];
  reportWorkerThreadErrors({
    logger: { error: (message: string, extra: Record<string, unknown>) => logged.push({ message, ...extra }) } as never,
    report: (failure) => reports.push(failure),
    process: proc,
  });
  proc.emit('unhandledRejection', 'x'.repeat(5_000));
  proc.emit('uncaughtException', new TypeError('boom'), 'uncaughtException');
  expect(reports).toHaveLength(1);
  expect(reports[0]).toMatchObject({ kind: 'failed', origin: 'unhandledRejection' });
  expect(reports[0].error).toBe(`${'x'.repeat(2_000)}…`);
  expect(logged.map((r) => [r.message, r.error])).toEqual([
    [processErrorLogMessage('unhandledRejection'), `${'x'.repeat(2_000)}…`],
    [processErrorLogMessage('uncaughtException'), 'TypeError: boom'],
  ]);
});

test('a report the closed port refuses does not throw out of the handler', () => {
  const proc = new EventEmitter();
  reportWorkerThreadErrors({
    logger: { error: () => undefined } as never,
    report: () => {
      throw new Error('port closed');
    },
    process: proc,
  });
  expect(() => proc.emit('uncaughtException', new Error('late'))).not.toThrow();
});

describe('in a real worker thread', () => {
  let worker: Worker;
  const messages: Array<Record<string, unknown>> = [];
  const exits: number[] = [];

  beforeAll(async () => {
    // tsx through --require: on Node.js 20 a worker thread's --import tsx does not load it
    worker = new Worker(FIXTURE, { execArgv: ['--require', 'tsx/cjs'] });
    worker.on('message', (m: Record<string, unknown>) => messages.push(m));
    worker.on('exit', (code) => exits.push(code));
    await eventually(() => messages.some((m) => m.kind === 'ready'), 20_000, 'the thread to start');
  }, 30_000);

  afterAll(async () => {
    await worker?.terminate();
  });

  test('an exception thrown from a timer is caught in the thread, reported once, and the thread runs on', async () => {
    worker.postMessage('throw');
    await eventually(() => messages.some((m) => m.kind === 'failed'), 10_000, 'the report');
    worker.postMessage('reject');
    await eventually(() => messages.filter((m) => m.kind === 'log').length === 2, 10_000, 'the second log record');
    worker.postMessage('ping');
    await eventually(() => messages.some((m) => m.kind === 'pong'), 10_000, 'the thread to answer');

    expect(messages.filter((m) => m.kind === 'failed')).toEqual([{ kind: 'failed', origin: 'uncaughtException', error: 'TypeError: boom' }]);
    expect(messages.filter((m) => m.kind === 'log').map((m) => [m.message, m.error])).toEqual([
      [processErrorLogMessage('uncaughtException'), 'TypeError: boom'],
      [processErrorLogMessage('unhandledRejection'), 'Error: nobody waits'],
    ]);
    expect(exits).toEqual([]);
  });
});
