import { EventEmitter } from 'node:events';
import { handleStopSignals } from '../../service/stop-signals';

/** A process stand-in: signals are emitted by the test, exits recorded. */
class FakeProcess extends EventEmitter {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

function logs(): { lines: string[]; logger: { info(m: string): void; warn(m: string): void; error(m: string): void } } {
  const lines: string[] = [];
  return { lines, logger: { info: (m) => void lines.push(`info ${m}`), warn: (m) => void lines.push(`warn ${m}`), error: (m) => void lines.push(`error ${m}`) } };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('never happened');
}

describe('handleStopSignals', () => {
  test('a repeated SIGINT within the window (a relayed Ctrl-C) is the same graceful stop, not a hard exit', async () => {
    const proc = new FakeProcess();
    const { lines, logger } = logs();
    let stops = 0;
    let finish!: () => void;
    let clock = 1_000;
    const stop = (): Promise<void> => (stops++, new Promise<void>((r) => (finish = r)));
    handleStopSignals({ stop, logger, process: proc, now: () => clock, repeatWindowMs: 2_000 });
    proc.emit('SIGINT');
    clock += 5;
    proc.emit('SIGINT');
    clock += 1_500;
    proc.emit('SIGTERM');
    expect(stops).toBe(1);
    expect(proc.exits).toEqual([]);
    expect(lines.filter((l) => l === 'info already stopping')).toHaveLength(2);
    finish();
    await until(() => proc.exits.length > 0);
    expect(proc.exits).toEqual([0]);
    expect(lines).toContain('info stopped');
  });

  test('a signal after the window exits at once with 1', () => {
    const proc = new FakeProcess();
    const { lines, logger } = logs();
    let clock = 0;
    const never = (): Promise<void> => new Promise<void>(() => undefined);
    handleStopSignals({ stop: never, logger, process: proc, now: () => clock, repeatWindowMs: 2_000, deadlineMs: 60_000 });
    proc.emit('SIGINT');
    clock = 2_001;
    proc.emit('SIGINT');
    expect(proc.exits).toEqual([1]);
    expect(lines).toContain('warn stop requested again: exiting without waiting');
  });

  test('a stop that does not finish within the deadline exits with 1', async () => {
    const proc = new FakeProcess();
    const { lines, logger } = logs();
    handleStopSignals({ stop: () => new Promise<void>(() => undefined), logger, process: proc, deadlineMs: 50 });
    proc.emit('SIGTERM');
    expect(proc.exits).toEqual([]);
    await until(() => proc.exits.length > 0);
    expect(proc.exits).toEqual([1]);
    expect(lines).toContain('error graceful stop did not finish in time: exiting');
  });

  test('a failed stop exits with 1', async () => {
    const proc = new FakeProcess();
    const { lines, logger } = logs();
    handleStopSignals({ stop: () => Promise.reject(new Error('flush failed')), logger, process: proc });
    proc.emit('SIGTERM');
    await until(() => proc.exits.length > 0);
    expect(proc.exits).toEqual([1]);
    expect(lines).toContain('error shutdown failed');
  });

  test('a stop requested by the parent watch joins a running stop whenever it comes', async () => {
    const proc = new FakeProcess();
    const { logger } = logs();
    let clock = 0;
    let stops = 0;
    let finish!: () => void;
    const request = handleStopSignals({ stop: () => (stops++, new Promise<void>((r) => (finish = r))), logger, process: proc, now: () => clock });
    proc.emit('SIGTERM');
    clock = 10_000;
    request.request('parent-exit: launcher process 1234 exited');
    expect(stops).toBe(1);
    expect(proc.exits).toEqual([]);
    finish();
    await until(() => proc.exits.length > 0);
    expect(proc.exits).toEqual([0]);
  });
});
