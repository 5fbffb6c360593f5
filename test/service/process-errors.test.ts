import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { capturingLogger } from './helpers';
import { handleWorkerFailures, processErrorLogMessage, WORKER_FAILED_LOG_MESSAGE } from '../../service/process-errors';
import { handleStopSignals, STOPPED_LOG_MESSAGE, StopProcess } from '../../service/stop-signals';
import { WorkerFailures } from '../../service/workers/worker-failures';

const ROOT = resolve(__dirname, '..', '..');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pg-process-errors-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a script that wires the stop path like main.ts, then throws from `throwFrom`; resolves with its output and exit code. */
function run(throwFrom: string): Promise<{ out: string; code: number | null }> {
  const script = join(dir, `crash-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(
    script,
    [
      `import { handleProcessErrors } from ${JSON.stringify(join(ROOT, 'service', 'process-errors'))};`,
      `import { handleStopSignals } from ${JSON.stringify(join(ROOT, 'service', 'stop-signals'))};`,
      'const log = (level: string) => (message: string, extra?: object) => console.log(JSON.stringify({ level, message, ...extra }));',
      "const logger = { info: log('info'), warn: log('warn'), error: log('error') };",
      'let drained = 0;',
      'const stop = async () => { await new Promise((r) => setTimeout(r, 100)); drained++; console.log(JSON.stringify({ message: "drained", drained })); };',
      'const request = handleStopSignals({ stop, logger, deadlineMs: 5_000 });',
      'handleProcessErrors({ logger, stop: request });',
      'setInterval(() => undefined, 1000);',
      throwFrom,
    ].join('\n'),
  );
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolveRun({ out, code });
    });
  });
}

function lines(out: string): Array<Record<string, unknown>> {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

test('an exception thrown from a timer is logged with context, the service drains once, and the process exits 1', async () => {
  const { out, code } = await run("setTimeout(() => { throw new RangeError('Maximum call stack size exceeded'); }, 50);");
  const records = lines(out);
  const crash = records.find((r) => r.kind === 'uncaughtException');
  expect(crash).toMatchObject({ level: 'error', message: processErrorLogMessage('uncaughtException'), error: 'RangeError: Maximum call stack size exceeded' });
  expect(String(crash!.stack)).toContain('RangeError');
  expect(records.filter((r) => r.message === 'drained')).toEqual([{ message: 'drained', drained: 1 }]);
  expect(records.some((r) => r.message === STOPPED_LOG_MESSAGE)).toBe(true);
  expect(code).toBe(1);
}, 40_000);

test('an unhandled rejection drains the same way; a second one joins the stop in progress', async () => {
  const { out, code } = await run("setTimeout(() => { void Promise.reject(new Error('first')); void Promise.reject('second'); }, 50);");
  const records = lines(out);
  expect(records.filter((r) => r.kind === 'unhandledRejection').map((r) => r.error)).toEqual(['Error: first', 'second']);
  expect(records.filter((r) => r.message === 'drained')).toHaveLength(1);
  expect(code).toBe(1);
}, 40_000);

describe('a data-plane worker thread\'s failure', () => {
  /** The stop path of main.ts over a stand-in process: resolves with the exit code. */
  function stopPath(): { exited: Promise<number>; drains: () => number; failures: WorkerFailures; records: ReturnType<typeof capturingLogger>['records'] } {
    const { logger, records } = capturingLogger();
    let drained = 0;
    let exit!: (code: number) => void;
    const exited = new Promise<number>((done) => (exit = done));
    const proc: StopProcess = { on: () => undefined, exit: (code) => exit(code) };
    const stop = handleStopSignals({ stop: async () => { drained++; }, logger, process: proc, deadlineMs: 5_000 });
    const failures = new WorkerFailures();
    handleWorkerFailures({ logger, stop, workers: failures });
    return { exited, drains: () => drained, failures, records };
  }

  test('is logged naming the worker and why, drains the service once, and exits 1', async () => {
    const s = stopPath();
    s.failures.report(2, 'uncaughtException: TypeError: boom');
    s.failures.report(1, 'exited with code 1');
    await expect(s.exited).resolves.toBe(1);
    expect(s.drains()).toBe(1);
    expect(s.records.filter((r) => r.level === 'ERROR').map((r) => [r.message, r.attributes])).toEqual([
      [WORKER_FAILED_LOG_MESSAGE, { worker: 2, reason: 'uncaughtException: TypeError: boom' }],
      [WORKER_FAILED_LOG_MESSAGE, { worker: 1, reason: 'exited with code 1' }],
    ]);
  });

  test('a failure reported before the stop path was wired (while the service started) is not lost', async () => {
    const { logger, records } = capturingLogger();
    const failures = new WorkerFailures();
    failures.report(1, 'exited with code 134');
    let exit!: (code: number) => void;
    const exited = new Promise<number>((done) => (exit = done));
    const proc: StopProcess = { on: () => undefined, exit: (code) => exit(code) };
    const stop = handleStopSignals({ stop: async () => undefined, logger, process: proc, deadlineMs: 5_000 });
    handleWorkerFailures({ logger, stop, workers: failures });
    await expect(exited).resolves.toBe(1);
    expect(records.find((r) => r.message === WORKER_FAILED_LOG_MESSAGE)?.attributes).toEqual({ worker: 1, reason: 'exited with code 134' });
  });
});
