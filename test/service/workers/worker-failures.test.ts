/**
 * The main thread's record of failed worker threads: a failure reported before anyone registered
 * is handed over at registration, one reported after goes to the handler at once.
 */
import { WorkerFailures } from '../../../service/workers/worker-failures';

test('failures reported before the registration are handed to it, in order; later ones at once', () => {
  const failures = new WorkerFailures();
  failures.report(2, 'exited with code 1');
  failures.report(1, 'uncaughtException: TypeError: boom');
  const heard: string[] = [];
  failures.onWorkerFailed((worker, reason) => heard.push(`${worker} ${reason}`));
  expect(heard).toEqual(['2 exited with code 1', '1 uncaughtException: TypeError: boom']);
  failures.report(3, 'error: RangeError: out of memory');
  expect(heard).toEqual(['2 exited with code 1', '1 uncaughtException: TypeError: boom', '3 error: RangeError: out of memory']);
});

test('a failure handed over is not handed over again to a later registration', () => {
  const failures = new WorkerFailures();
  failures.report(1, 'exited with code 1');
  const first: number[] = [];
  const second: number[] = [];
  failures.onWorkerFailed((worker) => first.push(worker));
  failures.onWorkerFailed((worker) => second.push(worker));
  failures.report(2, 'exited with code 1');
  expect(first).toEqual([1]);
  expect(second).toEqual([2]);
});
