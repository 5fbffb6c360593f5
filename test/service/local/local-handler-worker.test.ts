import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LocalHandlerWorker, WorkerOutcome } from '../../../service/local/local-handler-worker';

const handlerFile = join(__dirname, 'fixtures', 'outcome-handler.cjs');
const context = {
  functionName: 'outcomes',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:outcomes',
  memoryLimitInMB: '128',
  logGroupName: '/aws/lambda/outcomes',
  logStreamName: 'local',
};
const workers: LocalHandlerWorker[] = [];
afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

function newWorker(): LocalHandlerWorker {
  const worker = new LocalHandlerWorker(handlerFile, 'handler', false, context);
  workers.push(worker);
  return worker;
}

function event(text: string): string {
  return JSON.stringify({ Messages: [{ Tag: 'T', Data: Buffer.from(text).toString('base64') }] });
}

function returned(outcome: WorkerOutcome): unknown {
  if (outcome.kind !== 'returned') throw new Error(`expected a return value, got ${JSON.stringify(outcome)}`);
  return outcome.text === undefined ? undefined : JSON.parse(outcome.text);
}

describe('invocations of one event-loop turn cross threads together', () => {
  test('they cross in one message each way, and each settles with its own outcome and context', async () => {
    const worker = newWorker();
    // the worker thread starts and loads the handler
    expect(returned(await worker.invoke(event('warm'), 'r0', 5000))).toMatchObject({ what: 'warm' });
    const posted = jest.spyOn(Worker.prototype, 'postMessage');
    const emitted = jest.spyOn(Worker.prototype, 'emit');
    const outcomes = await Promise.all([
      worker.invoke(event('one'), 'r1', 5000),
      worker.invoke(event('throw'), 'r2', 5000),
      worker.invoke(event('circular'), 'r3', 5000),
      worker.invoke(event('two'), 'r4', 3000),
    ]);
    expect(posted).toHaveBeenCalledTimes(1);
    expect(emitted.mock.calls.filter(([name]) => name === 'message')).toHaveLength(1);
    expect(returned(outcomes[0])).toEqual({ what: 'one', requestId: 'r1', remainingMs: expect.any(Number) });
    expect(outcomes[1]).toEqual({ kind: 'failed', error: 'Error: asked to throw' });
    expect(outcomes[2]).toMatchObject({ kind: 'notSerializable', error: expect.stringMatching(/^TypeError: Converting circular structure/) });
    const last = returned(outcomes[3]) as { requestId: string; remainingMs: number };
    expect(last.requestId).toBe('r4');
    // each invocation has its own deadline
    expect(last.remainingMs).toBeLessThanOrEqual(3000);
    expect(last.remainingMs).toBeGreaterThan(2000);
    expect((returned(outcomes[0]) as { remainingMs: number }).remainingMs).toBeGreaterThan(4000);
  }, 20_000);

  test('one timer watches every invocation in progress, not one timer per invocation', async () => {
    const worker = newWorker();
    await worker.invoke(event('warm'), 'r0', 5000);
    const timers = jest.spyOn(global, 'setTimeout');
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => worker.invoke(event(`n${i}`), `r${i}`, 5000)));
    expect(outcomes.map((o) => (returned(o) as { what: string }).what)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    expect(timers.mock.calls.length).toBeLessThanOrEqual(1);
  }, 20_000);

  test('a timeout fails exactly the invocations still pending, and the next invocation gets a fresh thread', async () => {
    const worker = newWorker();
    await worker.invoke(event('warm'), 'r0', 5000);
    const started = Date.now();
    const [quick, hanging, slow] = await Promise.all([
      worker.invoke(event('fast'), 'r1', 5000),
      worker.invoke(event('hang'), 'r2', 300),
      worker.invoke(event('wait:3000'), 'r3', 5000),
    ]);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(returned(quick)).toMatchObject({ what: 'fast', requestId: 'r1' });
    expect(hanging).toEqual({ kind: 'failed', error: 'Error: did not finish within 0.3 s' });
    expect(slow).toEqual({ kind: 'failed', error: 'Error: another invocation of the handler timed out after 0.3 s' });
    expect(returned(await worker.invoke(event('after'), 'r4', 5000))).toMatchObject({ what: 'after', requestId: 'r4' });
  }, 20_000);

  test('invocations with different timeouts each time out at their own deadline', async () => {
    const worker = newWorker();
    await worker.invoke(event('warm'), 'r0', 5000);
    const started = Date.now();
    const settledAt: number[] = [];
    const long = worker.invoke(event('hang'), 'r1', 1500).then((o) => {
      settledAt[0] = Date.now() - started;
      return o;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const short = worker.invoke(event('hang'), 'r2', 200).then((o) => {
      settledAt[1] = Date.now() - started;
      return o;
    });
    expect(await short).toEqual({ kind: 'failed', error: 'Error: did not finish within 0.2 s' });
    // the first timeout ends the thread: the other invocation fails with it, long before its own deadline
    expect(await long).toEqual({ kind: 'failed', error: 'Error: another invocation of the handler timed out after 0.2 s' });
    expect(settledAt[1]).toBeGreaterThanOrEqual(200);
    expect(settledAt[1]).toBeLessThan(1200);
  }, 20_000);
});
